package awx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
)

const testToken = "tok-7f3a9c-secret"

// fakeAWX serves handlers keyed by "METHOD /path/", checks the bearer token
// on every request and records what it received.
type fakeAWX struct {
	t      *testing.T
	srv    *httptest.Server
	client *awx.Client

	mu       sync.Mutex
	routes   map[string]http.HandlerFunc
	requests []*http.Request
}

func newFakeAWX(t *testing.T, opts ...awx.Option) *fakeAWX {
	t.Helper()
	f := &fakeAWX{t: t, routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	c, err := awx.New(f.srv.URL, testToken, opts...)
	require.NoError(t, err)
	f.client = c
	return f
}

func (f *fakeAWX) handle(methodPath string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[methodPath] = h
}

func (f *fakeAWX) serve(w http.ResponseWriter, r *http.Request) {
	assert.Equal(f.t, "Bearer "+testToken, r.Header.Get("Authorization"), "%s %s", r.Method, r.URL)
	f.mu.Lock()
	f.requests = append(f.requests, r.Clone(r.Context()))
	h := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	if h == nil {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		writeJSON(w, http.StatusNotFound, `{"detail": "Not found."}`)
		return
	}
	h(w, r)
}

func (f *fakeAWX) received() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

// fixture reads a real AWX response from testdata.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err, "fixture %s must exist in awx/testdata", name)
	return b
}

// fixtureMap decodes a fixture so a test can derive a variant of it.
func fixtureMap(t *testing.T, name string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(fixture(t, name), &m))
	return m
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func serveBytes(status int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
