package api_test

// Setup shared by tests that need more than newEnv gives: another API
// replica over the same stack, a Temporal or database that cannot be
// reached, a user added behind the API's back.

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
)

// serveAPI serves another API replica and returns its URL. What d leaves
// out is e's: its store, AWX and payload keys; its logs are discarded so
// that e.logs keeps telling only of e's own API and worker.
func (e *env) serveAPI(d api.Deps) string {
	e.t.Helper()
	d.PayloadKeys = testkit.PayloadRing()
	if d.Store == nil {
		d.Store = e.stack.Store
	}
	if d.AWX == nil {
		d.AWX = e.stack.AWX
	}
	d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	hs := httptest.NewServer(api.New(d).Handler())
	e.t.Cleanup(hs.Close)
	return hs.URL
}

// apiOn serves an API for e's stack with another Temporal client, task
// queue or timeout, as a second API replica would.
func (e *env) apiOn(c client.Client, queue string, timeout time.Duration) string {
	return e.serveAPI(api.Deps{Temporal: c, TaskQueue: queue, TemporalTimeout: timeout})
}

// closedAddr is a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// unreachableTemporal is a client of a Temporal server that is down.
func unreachableTemporal(t *testing.T) client.Client {
	t.Helper()
	c, err := client.NewLazyClient(client.Options{HostPort: closedAddr(t)})
	require.NoError(t, err)
	return c
}

// addUser creates u in the store, as AWX's sync or an operator would,
// with a token for e's calls under u's username.
func (e *env) addUser(u store.NewUser) store.User {
	e.t.Helper()
	ctx := context.Background()
	user, err := e.stack.Store.CreateUser(ctx, u)
	require.NoError(e.t, err)
	token, _, err := e.stack.Store.CreateToken(ctx, user.ID, "test")
	require.NoError(e.t, err)
	e.tokens[u.Username] = token
	return user
}
