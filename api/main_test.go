package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/internal/openapi"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
)

var temporalAddr string

func TestMain(m *testing.M) { os.Exit(testkit.Main(m, "api tests", &temporalAddr)) }

// env is one test's running Countersign: PostgreSQL with the demo
// organization, the AWX simulator, a worker and the API over HTTP, plus a
// second organization and a token for each persona.
type env struct {
	t     *testing.T
	stack *testkit.Stack
	url   string
	// client and queue are the Temporal client and task queue of the API
	// and its worker.
	client client.Client
	queue  string
	tokens map[string]string
	// logs holds every line the API and the worker logged.
	logs *syncBuffer
	// bodies holds every response body the test received.
	bodies  *syncBuffer
	initech store.Organization
	// srv is the API under test; contract checks its answers.
	srv      *api.Server
	contract *openapi.Validator
}

// Personas of the authorization matrix and their users.
const (
	superuser  = "admin"
	orgAdmin   = "erin"
	requester  = "alice"
	approver   = "bob"
	approver2  = "carol"
	otherTeam  = "dave"
	otherAdmin = "oscar"
)

// newEnv starts a test's Countersign; options change the API's Deps
// before it is built (a clock, session limits).
func newEnv(t *testing.T, options ...func(*api.Deps)) *env {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := testkit.NewStack(t, awxsim.Config{JobDuration: 1500 * time.Millisecond, PendingFor: 200 * time.Millisecond})
	s.Activities.Logger = logger
	ctx := context.Background()
	initech, err := s.Store.CreateOrganization(ctx, "initech", "another organization")
	require.NoError(t, err)
	oscar, err := s.Store.CreateUser(ctx, store.NewUser{Username: otherAdmin, Email: "oscar@initech.example"})
	require.NoError(t, err)
	require.NoError(t, s.Store.AddOrgAdmin(ctx, initech.ID, oscar.ID))

	queue := testkit.TaskQueue(t)
	// The Temporal SDK's own lines (workflow and activity loggers) go to
	// logs as well.
	c, err := client.Dial(client.Options{HostPort: temporalAddr, Logger: sdklog.NewStructuredLogger(logger), DataConverter: codec.DataConverter(testkit.PayloadRing())})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	testkit.StartWorker(t, c, queue, s.Activities)
	deps := api.Deps{PayloadKeys: testkit.PayloadRing(), Store: s.Store, Temporal: c, AWX: s.AWX, Logger: logger, TaskQueue: queue,
		TemporalTimeout: 10 * time.Second, CodecTeam: "acme/security", CodecOrigins: []string{codecOrigin}}
	for _, o := range options {
		o(&deps)
	}
	srv := api.New(deps)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	e := &env{t: t, stack: s, url: hs.URL, client: c, queue: queue, tokens: map[string]string{}, logs: logs, bodies: &syncBuffer{}, initech: initech,
		srv: srv, contract: contractOf(t, srv)}
	for _, u := range []string{superuser, orgAdmin, requester, approver, approver2, otherTeam, otherAdmin} {
		user, err := s.Store.GetUserByUsername(ctx, u)
		require.NoError(t, err)
		plain, _, err := s.Store.CreateToken(ctx, user.ID, "test")
		require.NoError(t, err)
		e.tokens[u] = plain
	}
	return e
}

// call sends a request as user ("" for no token) and decodes the JSON
// answer.
func (e *env) call(user, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	status, raw := e.raw(user, method, path, body)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(e.t, json.Unmarshal(raw, &out), "%s %s answered %d: %s", method, path, status, raw)
	}
	return status, out
}

func (e *env) raw(user, method, path string, body any) (int, []byte) {
	e.t.Helper()
	req := e.request(method, path, body)
	if user != "" {
		token, ok := e.tokens[user]
		if !ok {
			token = user // a literal token, e.g. a bad one
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req)
}

// request builds a call to the API; a body is sent verbatim when it is a
// string or []byte, as JSON otherwise, and not at all when nil.
func (e *env) request(method, path string, body any) *http.Request {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// send sends req and returns the status and the body, which it keeps in
// e.bodies. Every answer is held to the API's OpenAPI document
// (checkContract), so that every test is a contract test too.
func (e *env) send(req *http.Request) (int, []byte) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	_, _ = e.bodies.Write(append(raw, '\n'))
	e.checkContract(req, resp, raw)
	return resp.StatusCode, raw
}

// must calls and requires the status.
func (e *env) must(want int, user, method, path string, body any) map[string]any {
	e.t.Helper()
	status, out := e.call(user, method, path, body)
	require.Equal(e.t, want, status, "%s %s as %s: %v", method, path, user, out)
	return out
}

// eventually polls cond every 100ms for up to within.
func (e *env) eventually(within time.Duration, what string, cond func() bool) {
	e.t.Helper()
	testkit.Eventually(e.t, within, what, cond)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// teamID is the id of a demo team.
func (e *env) teamID(name string) int64 { return e.stack.Identity.Teams[name].ID }

func (e *env) orgID() int64 { return e.stack.Identity.Org.ID }

// ids of a list answer's results.
func ids(list map[string]any) []int64 {
	var out []int64
	for _, r := range list["results"].([]any) {
		out = append(out, int64(r.(map[string]any)["id"].(float64)))
	}
	return out
}

func idOf(obj map[string]any) int64 { return int64(obj["id"].(float64)) }
