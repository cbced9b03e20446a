package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/notify"
)

func sample() notify.Notification {
	return notify.Notification{
		ID: "service-request-42/3/pending/0", Kind: notify.KindPending, RequestID: 42, Status: "pending_approval",
		CatalogItem: "Restart service", Requester: "alice", Stage: "SRE",
		Recipients: []notify.Recipient{{Username: "bob", Email: "bob@example.com"}, {Username: "carol"}},
		Subject:    "Request 42 waits for your approval", Message: "alice requests Restart service",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestWebhook_Delivers(t *testing.T) {
	var mu sync.Mutex
	var got notify.Notification
	var headers http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		headers = r.Header.Clone()
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &got)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	wh, err := notify.NewWebhook(srv.URL+"/hook", "", nil)
	require.NoError(t, err)
	require.NoError(t, wh.Notify(context.Background(), sample()))

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, sample(), got)
	assert.Equal(t, "application/json", headers.Get("Content-Type"))
	assert.Equal(t, "pending", headers.Get("X-Countersign-Event"))
	assert.Equal(t, "service-request-42/3/pending/0", headers.Get("X-Countersign-Delivery"))
}

func TestWebhook_ClassifiesFailures(t *testing.T) {
	tests := []struct {
		status    int
		permanent bool
	}{
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusTooManyRequests, false},
		{http.StatusRequestTimeout, false},
		{http.StatusBadRequest, true},
		{http.StatusNotFound, true},
		{http.StatusUnauthorized, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "nope", tt.status)
			}))
			defer srv.Close()
			wh, err := notify.NewWebhook(srv.URL, "", nil)
			require.NoError(t, err)
			err = wh.Notify(context.Background(), sample())
			require.Error(t, err)
			assert.Contains(t, err.Error(), "nope")
			assert.Equal(t, tt.permanent, errors.Is(err, notify.ErrPermanent))
		})
	}
	t.Run("connection refused is transient", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		wh, err := notify.NewWebhook("http://"+addr, "", nil)
		require.NoError(t, err)
		err = wh.Notify(context.Background(), sample())
		require.Error(t, err)
		assert.False(t, errors.Is(err, notify.ErrPermanent))
	})
}

func TestNewWebhook_RejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "not a url", "ftp://example.com/x", "/relative", "http://"} {
		_, err := notify.NewWebhook(u, "", nil)
		assert.Error(t, err, u)
	}
}

func TestLog_Notify(t *testing.T) {
	var buf bytes.Buffer
	l := notify.Log{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	require.NoError(t, l.Notify(context.Background(), sample()))
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	assert.Equal(t, "notification", rec["msg"])
	assert.Equal(t, "pending", rec["kind"])
	assert.Equal(t, float64(42), rec["request_id"])
	assert.Equal(t, []any{"bob", "carol"}, rec["recipients"])
}

// secretURL is a webhook URL with a secret in every part that can hold one.
const secretURL = "https://user:pw-secret@hook-host-secret.example/services/path-secret?token=query-secret"

var urlSecrets = []string{"pw-secret", "hook-host-secret", "path-secret", "query-secret"}

// assertNoURL checks err's text and every error it wraps, since an activity
// error's causes go to the workflow's history too.
func assertNoURL(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range urlSecrets {
			assert.NotContains(t, e.Error(), s, "%T", e)
			assert.NotContains(t, fmt.Sprintf("%+v", e), s, "%T", e)
		}
	}
}

func TestWebhook_ErrorsNeverShowTheURL(t *testing.T) {
	failing := func(err error) *http.Client {
		return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, err
		}}}
	}
	for name, client := range map[string]*http.Client{
		"no such host":       failing(&net.DNSError{Err: "no such host", Name: "hook-host-secret.example", IsNotFound: true}),
		"connection refused": failing(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}),
		"timeout": {Timeout: time.Nanosecond, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}},
	} {
		t.Run(name, func(t *testing.T) {
			wh, err := notify.NewWebhook(secretURL, "", client)
			require.NoError(t, err)
			err = wh.Notify(context.Background(), sample())
			assertNoURL(t, err)
			assert.False(t, errors.Is(err, notify.ErrPermanent), "retried")
			assert.Contains(t, err.Error(), "notification webhook")
		})
	}
	t.Run("the receiver echoes the URL", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Cannot POST "+r.URL.RequestURI()+" for "+r.Host, http.StatusNotFound)
		}))
		defer srv.Close()
		// The receiver's address, with the secret parts the test checks.
		u := strings.Replace(strings.Replace(secretURL, "https://", "http://", 1), "hook-host-secret.example", "hook-host-secret.localhost", 1)
		client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		}}}
		wh, err := notify.NewWebhook(u, "", client)
		require.NoError(t, err)
		err = wh.Notify(context.Background(), sample())
		assertNoURL(t, err)
		assert.True(t, errors.Is(err, notify.ErrPermanent))
		assert.Contains(t, err.Error(), "answered 404: Cannot POST")
	})
	t.Run("a bad URL", func(t *testing.T) {
		_, err := notify.NewWebhook("ftp://user:pw-secret@hook-host-secret.example/path-secret?token=query-secret", "", nil)
		assertNoURL(t, err)
	})
}

func TestWebhook_SignsDeliveries(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef-test"
	var mu sync.Mutex
	var header string
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		header = r.Header.Get(notify.SignatureHeader)
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	wh, err := notify.NewWebhook(srv.URL, secret, nil)
	require.NoError(t, err)
	before := time.Now()
	require.NoError(t, wh.Notify(context.Background(), sample()))
	mu.Lock()
	defer mu.Unlock()

	// The scheme, computed by hand as a receiver in any language would.
	ts, sig, ok := strings.Cut(header, ",v1=")
	require.True(t, ok, header)
	ts, ok = strings.CutPrefix(ts, "t=")
	require.True(t, ok, header)
	sec, err := strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err)
	assert.InDelta(t, before.Unix(), sec, 2)
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts + "." + string(body)))
	assert.Equal(t, hex.EncodeToString(h.Sum(nil)), sig)

	now := time.Now()
	assert.NoError(t, notify.Verify([]byte(secret), header, body, now, 0))
	for name, tc := range map[string]struct {
		secret, header, body string
		now                  time.Time
		want                 error
	}{
		"another body":         {secret, header, string(body) + " ", now, notify.ErrBadSignature},
		"another secret":       {secret + "x", header, string(body), now, notify.ErrBadSignature},
		"no secret":            {"", header, string(body), now, notify.ErrBadSignature},
		"no header":            {secret, "", string(body), now, notify.ErrBadSignature},
		"another time":         {secret, strings.Replace(header, "t="+ts, fmt.Sprintf("t=%d", sec+1), 1), string(body), now, notify.ErrBadSignature},
		"no v1":                {secret, "t=" + ts, string(body), now, notify.ErrBadSignature},
		"garbage":              {secret, "t=x,v1=zz,=,", string(body), now, notify.ErrBadSignature},
		"an oversized header":  {secret, header + strings.Repeat(",v1=00", 200), string(body), now, notify.ErrBadSignature},
		"replayed later":       {secret, header, string(body), now.Add(6 * time.Minute), notify.ErrSignatureExpired},
		"from the future":      {secret, header, string(body), now.Add(-6 * time.Minute), notify.ErrSignatureExpired},
		"rotation: one of two": {secret, header + ",v1=" + strings.Repeat("00", 32), string(body), now, nil},
	} {
		assert.Equal(t, tc.want, notify.Verify([]byte(tc.secret), tc.header, []byte(tc.body), tc.now, 0), name)
	}
	assert.Equal(t, header, notify.Sign([]byte(secret), time.Unix(sec, 0), body))
}

func TestWebhook_UnsignedWithoutSecret(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	wh, err := notify.NewWebhook(srv.URL, "", nil)
	require.NoError(t, err)
	require.NoError(t, wh.Notify(context.Background(), sample()))
	assert.Empty(t, got.Get(notify.SignatureHeader))
}

func TestCut(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"longer text", 6, "longer…"},
		{"héllo wörld", 5, "héllo…"}, // runes, not bytes
	} {
		assert.Equal(t, c.want, notify.Cut(c.in, c.n), c.in)
	}
}
