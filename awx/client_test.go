package awx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		baseURL  string
		token    string
		wantBase string
		wantErr  string
	}{
		{name: "https", baseURL: "https://awx.example.com", token: "t", wantBase: "https://awx.example.com"},
		{name: "trailing slash", baseURL: "https://awx.example.com/", token: "t", wantBase: "https://awx.example.com"},
		{name: "http with port and prefix", baseURL: "http://localhost:8052/awx//", token: "t", wantBase: "http://localhost:8052/awx"},
		{name: "relative", baseURL: "/api/v2/", token: "t", wantErr: "absolute"},
		{name: "no scheme", baseURL: "awx.example.com", token: "t", wantErr: "absolute"},
		{name: "ftp", baseURL: "ftp://awx.example.com", token: "t", wantErr: "absolute"},
		{name: "empty", baseURL: "", token: "t", wantErr: "absolute"},
		{name: "no host", baseURL: "https:///api", token: "t", wantErr: "no host"},
		{name: "unparsable", baseURL: "https://awx example.com\x7f", token: "t", wantErr: "invalid base URL"},
		{name: "credentials", baseURL: "https://admin:hunter2@awx.example.com", token: "t", wantErr: "credentials"},
		{name: "query", baseURL: "https://awx.example.com/?x=1", token: "t", wantErr: "query"},
		{name: "fragment", baseURL: "https://awx.example.com/#/jobs", token: "t", wantErr: "fragment"},
		{name: "empty token", baseURL: "https://awx.example.com", token: "", wantErr: "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := awx.New(tt.baseURL, tt.token)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "hunter2")
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantBase, c.BaseURL())
		})
	}
}

func TestClient_RequestHeaders(t *testing.T) {
	for name, tc := range map[string]struct {
		opts   []awx.Option
		wantUA string
	}{
		"default user agent":  {wantUA: awx.DefaultUserAgent},
		"custom user agent":   {opts: []awx.Option{awx.WithUserAgent("countersign-worker/1.2")}, wantUA: "countersign-worker/1.2"},
		"empty keeps default": {opts: []awx.Option{awx.WithUserAgent("")}, wantUA: awx.DefaultUserAgent},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeAWX(t, tc.opts...)
			f.handle("GET /api/v2/me/", serveBytes(http.StatusOK, fixture(t, "me.json")))
			f.handle("POST /api/v2/job_templates/7/launch/", serveBytes(http.StatusCreated, []byte(`{"job": 1, "ignored_fields": {}}`)))

			_, err := f.client.Me(context.Background())
			require.NoError(t, err)
			_, err = f.client.Launch(context.Background(), awx.JobTemplate, 7, awx.LaunchRequest{})
			require.NoError(t, err)

			reqs := f.received()
			require.Len(t, reqs, 2)
			for _, r := range reqs {
				assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
				assert.Equal(t, "application/json", r.Header.Get("Accept"))
				assert.Equal(t, tc.wantUA, r.Header.Get("User-Agent"))
			}
			assert.Empty(t, reqs[0].Header.Get("Content-Type"), "GET has no body")
			assert.Equal(t, "application/json", reqs[1].Header.Get("Content-Type"))
		})
	}
}

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestClient_WithHTTPClient(t *testing.T) {
	rt := &countingTransport{}
	f := newFakeAWX(t, awx.WithHTTPClient(&http.Client{Transport: rt}))
	f.handle("GET /api/v2/me/", serveBytes(http.StatusOK, fixture(t, "me.json")))
	_, err := f.client.Me(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int32(1), rt.n.Load())

	t.Run("nil keeps the default client", func(t *testing.T) {
		f := newFakeAWX(t, awx.WithHTTPClient(nil))
		f.handle("GET /api/v2/me/", serveBytes(http.StatusOK, fixture(t, "me.json")))
		_, err := f.client.Me(context.Background())
		require.NoError(t, err)
	})
}

func TestClient_BaseURLPathPrefix(t *testing.T) {
	// AWX served under a sub-path behind a reverse proxy.
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.RequestURI())
		switch {
		case r.URL.Path == "/awx/api/v2/me/":
			writeJSON(w, http.StatusOK, string(fixture(t, "me.json")))
		case r.URL.Query().Get("page") == "2":
			writeJSON(w, http.StatusOK, `{"count": 2, "next": null, "results": [{"id": 2}]}`)
		default:
			writeJSON(w, http.StatusOK, `{"count": 2, "next": "/awx/api/v2/workflow_jobs/?page=2", "results": [{"id": 1}]}`)
		}
	}))
	t.Cleanup(srv.Close)

	c, err := awx.New(srv.URL+"/awx/", testToken)
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/awx", c.BaseURL())

	_, err = c.Me(context.Background())
	require.NoError(t, err)
	jobs, err := c.ListJobs(context.Background(), awx.KindWorkflowJob, awx.JobFilter{})
	require.NoError(t, err)
	assert.Len(t, jobs, 2)
	assert.Equal(t, []string{
		"/awx/api/v2/me/",
		"/awx/api/v2/workflow_jobs/?order_by=id&page_size=200",
		"/awx/api/v2/workflow_jobs/?page=2",
	}, paths)
	assert.Equal(t, srv.URL+"/awx/#/jobs/workflow/2", awx.JobURL(c.BaseURL(), awx.KindWorkflowJob, 2))
}

func TestClient_ResponseTooLarge(t *testing.T) {
	f := newFakeAWX(t)
	f.handle("GET /api/v2/jobs/1/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, `{"id": 1, "job_explanation": "`+strings.Repeat("x", 10<<20)+`"}`)
	})
	_, err := f.client.Job(context.Background(), awx.KindJob, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exceeds")
	assert.False(t, awx.IsTransient(err))
}

func TestClient_TokenNeverInErrors(t *testing.T) {
	f := newFakeAWX(t)
	f.handle("GET /api/v2/me/", serveBytes(http.StatusUnauthorized,
		[]byte(`{"detail": "Authentication credentials were not provided. To establish a login session, visit /api/login/."}`)))
	f.handle("GET /api/v2/jobs/1/", serveBytes(http.StatusOK, []byte("not json")))

	_, err := f.client.Me(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)
	assert.NotContains(t, string(err.(*awx.APIError).Body), testToken)

	_, err = f.client.Job(context.Background(), awx.KindJob, 1)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)
}
