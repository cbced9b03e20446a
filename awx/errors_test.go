package awx_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/survey"
)

func TestAPIError_Decoding(t *testing.T) {
	const launchPath = "/api/v2/job_templates/7/launch/"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantMessage string
		wantDetail  string
		wantError   string
		wantFields  map[string][]string
		transient   bool
		notFound    bool
	}{
		{
			name: "survey field errors", status: 400,
			body:        `{"variables_needed_to_start": ["'region' value missing", "'count' value 10 is too large (must be no more than 5)."]}`,
			wantMessage: "variables_needed_to_start: 'region' value missing; 'count' value 10 is too large (must be no more than 5).",
			wantFields: map[string][]string{"variables_needed_to_start": {
				"'region' value missing", "'count' value 10 is too large (must be no more than 5).",
			}},
		},
		{
			name: "several fields in name order", status: 400,
			body:        `{"inventory": ["Field is not configured to prompt on launch."], "extra_vars": ["Variables foo are not allowed on launch."]}`,
			wantMessage: "extra_vars: Variables foo are not allowed on launch.; inventory: Field is not configured to prompt on launch.",
			wantFields: map[string][]string{
				"inventory":  {"Field is not configured to prompt on launch."},
				"extra_vars": {"Variables foo are not allowed on launch."},
			},
		},
		{
			name: "single strings, nested errors and non-field errors", status: 400,
			body:        `{"hosts": "Wait until job finishes before retrying on failed hosts.", "credentials": [{"password": ["Required."]}], "__all__": ["Credential and inventory clash."]}`,
			wantMessage: "Credential and inventory clash.; credentials: password: Required.; hosts: Wait until job finishes before retrying on failed hosts.",
			wantFields: map[string][]string{
				"__all__":     {"Credential and inventory clash."},
				"credentials": {"password: Required."},
				"hosts":       {"Wait until job finishes before retrying on failed hosts."},
			},
		},
		{
			name: "error key", status: 400,
			body:        `{"error": "This workflow step has already been approved or denied."}`,
			wantMessage: "This workflow step has already been approved or denied.",
			wantError:   "This workflow step has already been approved or denied.",
		},
		{
			name: "top-level list", status: 400,
			body:        `["Job Template inventory is missing or undefined."]`,
			wantMessage: "Job Template inventory is missing or undefined.",
			wantFields:  map[string][]string{"__all__": {"Job Template inventory is missing or undefined."}},
		},
		{
			name: "unauthenticated", status: 401,
			body:        `{"detail": "Authentication credentials were not provided. To establish a login session, visit /api/login/."}`,
			wantMessage: "Authentication credentials were not provided. To establish a login session, visit /api/login/.",
			wantDetail:  "Authentication credentials were not provided. To establish a login session, visit /api/login/.",
		},
		{
			name: "forbidden", status: 403,
			body:        `{"detail": "You do not have permission to perform this action."}`,
			wantMessage: "You do not have permission to perform this action.",
			wantDetail:  "You do not have permission to perform this action.",
		},
		{
			name: "not found", status: 404, body: `{"detail": "Not found."}`,
			wantMessage: "Not found.", wantDetail: "Not found.", notFound: true,
		},
		{
			name: "method not allowed outside cancel", status: 405, body: `{"detail": "Method \"POST\" not allowed."}`,
			wantMessage: `Method "POST" not allowed.`, wantDetail: `Method "POST" not allowed.`,
		},
		{
			name: "JSON without a message", status: 400, body: `{"detail": "", "extra_vars": []}`,
			wantMessage: "Bad Request",
		},
		{
			name: "request timeout", status: 408, contentType: "text/plain", body: "",
			wantMessage: "Request Timeout", transient: true,
		},
		{
			name: "too many requests", status: 429, body: "",
			wantMessage: "Too Many Requests", transient: true,
		},
		{
			name: "server error", status: 500, body: `{"detail": "A server error has occurred."}`,
			wantMessage: "A server error has occurred.", wantDetail: "A server error has occurred.", transient: true,
		},
		{
			name: "proxy HTML page", status: 502, contentType: "text/html",
			body:        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			wantMessage: "502 Bad Gateway", transient: true,
		},
		{
			name: "proxy plain text", status: 503, contentType: "text/plain",
			body:        "upstream connect error or disconnect/reset before headers. reset reason: connection failure\n",
			wantMessage: "upstream connect error or disconnect/reset before headers. reset reason: connection failure", transient: true,
		},
		{
			name: "HTML without title", status: 504, contentType: "text/html",
			body:        "<html><body><h1>Gateway Timeout</h1>\n<p>The server didn&#39;t respond in time.</p></body></html>",
			wantMessage: "Gateway Timeout The server didn't respond in time.", transient: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWX(t)
			f.handle("POST "+launchPath, func(w http.ResponseWriter, _ *http.Request) {
				ct := tt.contentType
				if ct == "" {
					ct = "application/json"
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			_, err := f.client.Launch(context.Background(), awx.JobTemplate, 7, awx.LaunchRequest{ExtraVars: map[string]any{"region": "eu"}})
			require.Error(t, err)

			var apiErr *awx.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, "POST", apiErr.Method)
			assert.Equal(t, launchPath, apiErr.Path)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.body, string(apiErr.Body))
			assert.Equal(t, tt.wantDetail, apiErr.Detail)
			assert.Equal(t, tt.wantError, apiErr.ErrorText)
			assert.Equal(t, tt.wantFields, apiErr.Fields)
			assert.Equal(t, tt.wantMessage, apiErr.Message())
			assert.Equal(t, fmt.Sprintf("AWX POST %s returned %d: %s", launchPath, tt.status, tt.wantMessage), err.Error())
			assert.Equal(t, tt.transient, awx.IsTransient(err), "IsTransient")
			assert.Equal(t, tt.notFound, errors.Is(err, awx.ErrNotFound), "ErrNotFound")
			assert.False(t, errors.Is(err, awx.ErrNotCancelable), "only a cancel's 405 is ErrNotCancelable")
		})
	}
}

func TestAPIError_Deterministic(t *testing.T) {
	// Map iteration order is random; the message must not be.
	e := &awx.APIError{Method: "POST", Path: "/p/", StatusCode: 400, Fields: map[string][]string{
		"b": {"2"}, "a": {"1"}, "d": {"4"}, "c": {"3"}, "__all__": {"0"},
	}}
	for range 20 {
		assert.Equal(t, "0; a: 1; b: 2; c: 3; d: 4", e.Message())
	}
}

func TestAPIError_LongBody(t *testing.T) {
	f := newFakeAWX(t)
	long := strings.Repeat("upstream is restarting, please wait\n", 3000) // ~108 KB
	f.handle("GET /api/v2/jobs/1/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(long))
	})
	_, err := f.client.Job(context.Background(), awx.KindJob, 1)
	var apiErr *awx.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Len(t, apiErr.Body, 64<<10, "error bodies are kept up to 64 KiB")
	assert.True(t, apiErr.Truncated)
	msg := apiErr.Message()
	assert.LessOrEqual(t, utf8.RuneCountInString(msg), 300)
	assert.True(t, strings.HasPrefix(msg, "upstream is restarting, please wait upstream"), msg)
	assert.True(t, strings.HasSuffix(msg, "…"), msg)
	assert.NotContains(t, err.Error(), "\n")
	assert.True(t, awx.IsTransient(err))
}

func TestAPIError_MaskedMessage(t *testing.T) {
	const secret = "Zq9!hunter22-long-secret"
	m := survey.NewMasker(secret)
	refusal := func(msg string) *awx.APIError {
		return &awx.APIError{Method: "POST", Path: "/p/", StatusCode: 400, Fields: map[string][]string{"__all__": {msg}}}
	}
	pad := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name string
		err  *awx.APIError
		want string
	}{
		{"short: masked, not cut", refusal("'pw' value " + secret + " is too small."), "'pw' value $encrypted$ is too small."},
		{"the placeholder straddles the cut: it goes whole", refusal(pad(290) + " " + secret + " tail"), pad(290) + " …"},
		{"the placeholder fits before the cut", refusal(pad(280) + " " + secret + " tail"), pad(280) + " $encrypted$ tail"},
		{"the cut leaves a secret's first part: it goes", refusal(pad(292) + " Zq9!hu and more"), pad(292) + " …"},
		{"whitespace runs collapse after masking", refusal("'pw' value  " + secret + "\n\n is  too small"),
			"'pw' value $encrypted$ is too small"},
		{"a body cut inside the secret", &awx.APIError{Method: "GET", Path: "/p/", StatusCode: 502, Truncated: true,
			Body: []byte("<p>echo: " + secret[:10])}, "echo: $encrypted$"},
		{"a body cut elsewhere", &awx.APIError{Method: "GET", Path: "/p/", StatusCode: 502,
			Body: []byte("<p>echo: " + secret[:10])}, "echo: " + secret[:10]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.err.MaskedMessage(m)
			assert.Equal(t, tc.want, got)
			assert.LessOrEqual(t, utf8.RuneCountInString(got), 300)
			assert.Equal(t, "AWX "+tc.err.Method+" /p/ returned "+fmt.Sprint(tc.err.StatusCode)+": "+got, tc.err.MaskedError(m))
			assert.Equal(t, tc.err.Message(), tc.err.MaskedMessage(nil))
		})
	}
}

// BenchmarkAPIError_MaskedMessage is the cost of a launch failure's message
// from a proxy's 64 KiB page, cut, with three passwords to mask.
func BenchmarkAPIError_MaskedMessage(b *testing.B) {
	m := survey.NewMasker("correct  horse battery staple", "hunter22", "x")
	body := []byte("<html><body>" + strings.Repeat("<p>value hunter22 is too small &amp; more</p>\n", 1600))[:64<<10]
	e := &awx.APIError{Method: "POST", Path: "/p/", StatusCode: 502, Body: body, Truncated: true}
	b.ReportAllocs()
	for b.Loop() {
		e.MaskedMessage(m)
	}
}

func TestIsTransient_NonAPIErrors(t *testing.T) {
	assert.False(t, awx.IsTransient(nil))
	assert.False(t, awx.IsTransient(errors.New("boom")))
	assert.False(t, awx.IsTransient(context.Canceled))
	assert.False(t, awx.IsTransient(context.DeadlineExceeded))
	wrapped := fmt.Errorf("launching: %w", &awx.APIError{StatusCode: 503})
	assert.True(t, awx.IsTransient(wrapped), "classification sees through wrapping")
	assert.False(t, awx.IsTransient(fmt.Errorf("launching: %w", &awx.APIError{StatusCode: 400})))
}

// hijackingServer answers every request by taking over the connection and
// calling misbehave on it.
func hijackingServer(t *testing.T, misbehave func(net.Conn, *bufio.ReadWriter)) *awx.Client {
	t.Helper()
	f := newFakeAWX(t)
	h := func(w http.ResponseWriter, _ *http.Request) {
		conn, rw, err := w.(http.Hijacker).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		misbehave(conn, rw)
	}
	f.handle("GET /api/v2/me/", h)
	f.handle("POST /api/v2/job_templates/7/launch/", h)
	return f.client
}

func TestIsTransient_Network(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())

		c, err := awx.New("http://"+addr, testToken)
		require.NoError(t, err)
		_, err = c.Me(context.Background())
		require.Error(t, err)
		assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "%v", err)
		assert.True(t, awx.IsTransient(err))
		assert.Contains(t, err.Error(), "AWX GET /api/v2/me/")
		assert.NotContains(t, err.Error(), testToken)
	})

	t.Run("connection reset", func(t *testing.T) {
		c := hijackingServer(t, func(conn net.Conn, _ *bufio.ReadWriter) {
			_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
			_ = conn.Close()
		})
		_, err := c.Me(context.Background())
		require.Error(t, err)
		assert.True(t, awx.IsTransient(err), "%v", err)
	})

	t.Run("connection closed before the answer", func(t *testing.T) {
		c := hijackingServer(t, func(conn net.Conn, _ *bufio.ReadWriter) { _ = conn.Close() })
		_, err := c.Launch(context.Background(), awx.JobTemplate, 7, awx.LaunchRequest{})
		require.Error(t, err)
		assert.True(t, awx.IsTransient(err), "%v", err)
		var apiErr *awx.APIError
		assert.False(t, errors.As(err, &apiErr))
	})

	t.Run("connection closed mid-body", func(t *testing.T) {
		c := hijackingServer(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"count\": 1, \"res")
			_ = rw.Flush()
			_ = conn.Close()
		})
		_, err := c.Me(context.Background())
		require.Error(t, err)
		assert.True(t, awx.IsTransient(err), "%v", err)
	})

	t.Run("untrusted TLS certificate", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, string(fixture(t, "me.json")))
		}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
		srv.StartTLS()
		t.Cleanup(srv.Close)

		c, err := awx.New(srv.URL, testToken)
		require.NoError(t, err)
		_, err = c.Me(context.Background())
		require.Error(t, err)
		var certErr *tls.CertificateVerificationError
		assert.ErrorAs(t, err, &certErr)
		assert.False(t, awx.IsTransient(err), "no retry fixes an untrusted certificate: %v", err)

		trusted, err := awx.New(srv.URL, testToken, awx.WithHTTPClient(srv.Client()))
		require.NoError(t, err)
		u, err := trusted.Me(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "user001", u.Username)
	})

	t.Run("HTTP client timeout", func(t *testing.T) {
		f := newFakeAWX(t, awx.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
		f.handle("GET /api/v2/me/", blockUntilClientGone)
		_, err := f.client.Me(context.Background())
		require.Error(t, err)
		assert.True(t, awx.IsTransient(err), "%v", err)
	})

	t.Run("caller canceled", func(t *testing.T) {
		f := newFakeAWX(t)
		ctx, cancel := context.WithCancel(context.Background())
		f.handle("GET /api/v2/me/", func(w http.ResponseWriter, r *http.Request) {
			cancel()
			blockUntilClientGone(w, r)
		})
		_, err := f.client.Me(ctx)
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, awx.IsTransient(err), "%v", err)
	})

	t.Run("caller deadline", func(t *testing.T) {
		f := newFakeAWX(t)
		f.handle("GET /api/v2/me/", blockUntilClientGone)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := f.client.Me(ctx)
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, awx.IsTransient(err), "%v", err)
	})

	t.Run("context already canceled", func(t *testing.T) {
		f := newFakeAWX(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := f.client.Me(ctx)
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, awx.IsTransient(err))
		assert.Empty(t, f.received())
	})
}

func TestIsTransient_UndecodableSuccess(t *testing.T) {
	tests := map[string]string{
		"HTML login page": "<html><title>Login</title></html>",
		"wrong shape":     `{"id": "seven"}`,
		"empty body":      "",
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeAWX(t)
			f.handle("GET /api/v2/jobs/7/", serveBytes(http.StatusOK, []byte(body)))
			_, err := f.client.Job(context.Background(), awx.KindJob, 7)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "AWX GET /api/v2/jobs/7/: decoding response")
			assert.False(t, awx.IsTransient(err))
			var apiErr *awx.APIError
			assert.False(t, errors.As(err, &apiErr))
		})
	}
}

// blockUntilClientGone stalls a request until the client gives up.
func blockUntilClientGone(_ http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}
