package awxsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

const token = "sim-token"

// fakeClock is a settable clock for Config.Clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a simulator behind a real HTTP server, with a fake clock.
type env struct {
	t      *testing.T
	sim    *awxsim.Server
	url    string
	clock  *fakeClock
	client *http.Client
}

func newEnv(t *testing.T, opts ...func(*awxsim.Config)) *env {
	t.Helper()
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)}
	cfg := awxsim.Config{
		Tokens:      []string{token},
		Username:    "countersign",
		Clock:       clock.Now,
		JobDuration: 10 * time.Second,
		CancelDelay: 500 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	sim := awxsim.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	// A fresh connection per request keeps connection-level faults from
	// affecting the next request and stops the transport from retrying.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	return &env{t: t, sim: sim, url: srv.URL, clock: clock, client: client}
}

// request builds a request with the bearer token. body is sent verbatim
// when it is a string, as JSON otherwise, and not at all when nil.
func (e *env) request(method, path string, body any) *http.Request {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

type response struct {
	status int
	header http.Header
	raw    []byte
}

// json decodes the body into a map, failing the test if it is not an object.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.raw, &m), "body: %s", r.raw)
	return m
}

func (e *env) send(req *http.Request) response {
	e.t.Helper()
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{status: resp.StatusCode, header: resp.Header, raw: raw}
}

func (e *env) do(method, path string, body any) response {
	e.t.Helper()
	return e.send(e.request(method, path, body))
}

// get fetches path and requires a 200 with a JSON object.
func (e *env) get(path string) map[string]any {
	e.t.Helper()
	r := e.do("GET", path, nil)
	require.Equal(e.t, http.StatusOK, r.status, "GET %s: %s", path, r.raw)
	return r.json(e.t)
}

// launch launches a template and requires a 201.
func (e *env) launch(kind awxsim.Kind, id int64, body any) map[string]any {
	e.t.Helper()
	r := e.do("POST", launchPath(kind, id), body)
	require.Equal(e.t, http.StatusCreated, r.status, "launch: %s", r.raw)
	return r.json(e.t)
}

func launchPath(kind awxsim.Kind, id int64) string {
	if kind == awxsim.KindWorkflowJob {
		return fmt.Sprintf("/api/v2/workflow_job_templates/%d/launch/", id)
	}
	return fmt.Sprintf("/api/v2/job_templates/%d/launch/", id)
}

func jobPath(kind awxsim.Kind, id int64) string {
	if kind == awxsim.KindWorkflowJob {
		return fmt.Sprintf("/api/v2/workflow_jobs/%d/", id)
	}
	return fmt.Sprintf("/api/v2/jobs/%d/", id)
}

// id reads a JSON number field as an int64.
func id(t *testing.T, m map[string]any, key string) int64 {
	t.Helper()
	v, ok := m[key].(float64)
	require.True(t, ok, "%s is %#v", key, m[key])
	return int64(v)
}

// extraVars decodes a job's extra_vars string.
func extraVars(t *testing.T, job map[string]any) map[string]any {
	t.Helper()
	s, ok := job["extra_vars"].(string)
	require.True(t, ok, "extra_vars is %#v, want a string", job["extra_vars"])
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}

// detail is a {"detail": msg} body.
func detail(msg string) map[string]any { return map[string]any{"detail": msg} }

// results returns a page's results.
func results(t *testing.T, page map[string]any) []map[string]any {
	t.Helper()
	raw, ok := page["results"].([]any)
	require.True(t, ok, "results is %#v", page["results"])
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

func ids(t *testing.T, page map[string]any) []int64 {
	t.Helper()
	var out []int64
	for _, r := range results(t, page) {
		out = append(out, id(t, r, "id"))
	}
	return out
}

// loadSurvey reads the survey of every AWX question type from testdata.
func loadSurvey(t *testing.T) *awxsim.Survey {
	t.Helper()
	raw, err := os.ReadFile("testdata/survey_spec_all_types.json")
	require.NoError(t, err)
	var s awxsim.Survey
	require.NoError(t, json.Unmarshal(raw, &s))
	return &s
}

func intPtr(n int) *int { return &n }
