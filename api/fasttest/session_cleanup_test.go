package fasttest_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/storefake"
	"github.com/countersign/countersign/store"
)

// cleanupEnv is an API server on a fake store holding one live session and
// three ended ones (idle, expired, revoked), at a fixed time.
type cleanupEnv struct {
	t      *testing.T
	store  *storefake.Store
	srv    *api.Server
	logs   *syncBuffer
	live   int64
	ended  []int64
	cancel context.CancelFunc
	done   chan struct{}
}

func newCleanupEnv(t *testing.T, d api.Deps) *cleanupEnv {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	e := &cleanupEnv{t: t, store: storefake.New(), logs: &syncBuffer{}}
	alice, err := e.store.CreateUser(ctx, store.NewUser{Username: "alice"})
	require.NoError(t, err)
	create := func(at time.Time, lifetime time.Duration) int64 {
		_, x, err := e.store.CreateSession(ctx, alice.ID, "test", at, lifetime)
		require.NoError(t, err)
		return x.ID
	}
	e.live = create(now.Add(-time.Minute), 24*time.Hour)
	idle := create(now.Add(-9*time.Hour), 24*time.Hour)
	expired := create(now.Add(-2*time.Hour), time.Hour)
	revoked := create(now, 24*time.Hour)
	require.NoError(t, e.store.RevokeSession(ctx, revoked))
	e.ended = []int64{idle, expired, revoked}

	d.Store, d.PayloadKeys = e.store, payloadRing(t)
	d.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d.Now = func() time.Time { return now }
	d.SessionIdleTimeout = 8 * time.Hour
	e.srv = api.New(d)
	t.Cleanup(e.srv.Close)
	return e
}

// start runs the clean-up until stop.
func (e *cleanupEnv) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		e.srv.RunSessionCleanup(ctx)
	}()
	e.t.Cleanup(e.stop)
}

// stop cancels the clean-up and waits for it to return.
func (e *cleanupEnv) stop() {
	e.cancel()
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		e.t.Fatal("the session clean-up did not stop when canceled")
	}
}

func (e *cleanupEnv) metrics() string {
	rec := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(e.t, err)
	return string(body)
}

// gone reports whether every ended session is deleted.
func (e *cleanupEnv) gone() bool {
	for _, id := range e.ended {
		if _, err := e.store.GetSession(context.Background(), id); err == nil {
			return false
		}
	}
	return true
}

// requireLive requires the live session to be there still.
func (e *cleanupEnv) requireLive() {
	_, err := e.store.GetSession(context.Background(), e.live)
	require.NoError(e.t, err, "the live session stays")
}

// The first sweep runs as the clean-up starts, deletes every ended session
// batch by batch (two batches of two for three rows here), keeps the live
// one, counts and logs what it deleted, and the clean-up stops when
// canceled.
func TestSessionCleanup_DeletesEndedSessionsInBatches(t *testing.T) {
	e := newCleanupEnv(t, api.Deps{SessionCleanupBatch: 2, SessionCleanupInterval: time.Hour})
	assert.Contains(t, e.metrics(), "countersign_sessions_deleted_total 0")
	e.start()
	require.Eventually(t, func() bool { return strings.Contains(e.metrics(), "countersign_sessions_deleted_total 3") },
		10*time.Second, 5*time.Millisecond, "the first sweep deletes all three ended sessions")
	e.stop()
	assert.True(t, e.gone())
	e.requireLive()
	assert.Contains(t, e.logs.String(), `"msg":"deleted ended portal sessions","deleted":3`)
}

// A sweep that fails is logged, and a later one deletes what it could not.
func TestSessionCleanup_RetriesAfterAFailure(t *testing.T) {
	e := newCleanupEnv(t, api.Deps{SessionCleanupInterval: time.Millisecond})
	e.store.FailOnce("DeleteEndedSessions", store.ErrUnavailable)
	e.start()
	require.Eventually(t, e.gone, 10*time.Second, 5*time.Millisecond, "a later sweep deletes the ended sessions")
	e.stop()
	e.requireLive()
	assert.Contains(t, e.logs.String(), "deleting ended portal sessions failed")
	assert.Contains(t, e.metrics(), "countersign_sessions_deleted_total 3")
}

// mailLinkUses is a stand-in for the store's record of used mail links.
type mailLinkUses struct {
	mu      sync.Mutex
	expires map[string]time.Time
}

func (m *mailLinkUses) ClaimMailLink(context.Context, store.MailLinkUse) error { return nil }
func (m *mailLinkUses) ReleaseMailLink(context.Context, string) error          { return nil }
func (m *mailLinkUses) MailLinkUsed(context.Context, string) (bool, error)     { return false, nil }
func (m *mailLinkUses) DeleteExpiredMailLinks(_ context.Context, now time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for id, exp := range m.expires {
		if exp.Before(now) {
			delete(m.expires, id)
			n++
		}
	}
	return n, nil
}

func (m *mailLinkUses) left() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for id := range m.expires {
		out = append(out, id)
	}
	return out
}

// The sweep deletes the uses of mail links that expired, on the API's
// clock, and keeps the others.
func TestSessionCleanup_DeletesExpiredMailLinks(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	uses := &mailLinkUses{expires: map[string]time.Time{"expired": now.Add(-time.Second), "live": now.Add(time.Hour)}}
	e := newCleanupEnv(t, api.Deps{SessionCleanupInterval: time.Hour, MailLinks: uses})
	e.start()
	require.Eventually(t, func() bool { return len(uses.left()) == 1 }, 10*time.Second, 5*time.Millisecond)
	e.stop()
	assert.Equal(t, []string{"live"}, uses.left())
	assert.Contains(t, e.logs.String(), `"msg":"deleted the uses of expired mail links","deleted":1`)
}
