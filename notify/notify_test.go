package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
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

	wh, err := notify.NewWebhook(srv.URL+"/hook", nil)
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
			wh, err := notify.NewWebhook(srv.URL, nil)
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
		wh, err := notify.NewWebhook("http://"+addr, nil)
		require.NoError(t, err)
		err = wh.Notify(context.Background(), sample())
		require.Error(t, err)
		assert.False(t, errors.Is(err, notify.ErrPermanent))
	})
}

func TestNewWebhook_RejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "not a url", "ftp://example.com/x", "/relative", "http://"} {
		_, err := notify.NewWebhook(u, nil)
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
