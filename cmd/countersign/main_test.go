package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func clearEnv(t *testing.T) {
	for _, k := range []string{"DATABASE_URL", "AWX_URL", "AWX_TOKEN", "TEMPORAL_ADDRESS", "TASK_QUEUE", "LOG_LEVEL",
		"NOTIFY_WEBHOOK_URL", "NOTIFY_WEBHOOK_SECRET", "METRICS_ADDR"} {
		t.Setenv(k, "")
	}
}

func TestRun_Usage(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, 2, run(nil, &stderr))
	assert.Contains(t, stderr.String(), "usage: countersign <command>")

	stderr.Reset()
	assert.Equal(t, 2, run([]string{"frobnicate"}, &stderr))
	assert.Contains(t, stderr.String(), `unknown command "frobnicate"`)

	stderr.Reset()
	assert.Equal(t, 0, run([]string{"help"}, &stderr))
}

func TestRun_BadConfigurationIsOneLine(t *testing.T) {
	clearEnv(t)
	var stderr bytes.Buffer
	assert.Equal(t, 1, run([]string{"worker"}, &stderr))
	out := strings.TrimSuffix(stderr.String(), "\n")
	assert.NotContains(t, out, "\n")
	assert.Contains(t, out, "countersign worker: DATABASE_URL is required")
	assert.Contains(t, out, "AWX_URL is required")

	stderr.Reset()
	assert.Equal(t, 1, run([]string{"worker", "--log-level", "chatty"}, &stderr))
	assert.Contains(t, stderr.String(), "LOG_LEVEL")

	// A webhook elsewhere must be signed; the line names neither its URL nor
	// a secret.
	stderr.Reset()
	t.Setenv("NOTIFY_WEBHOOK_URL", "https://hooks.example/services/path-secret")
	assert.Equal(t, 1, run([]string{"worker", "--database-url", "postgres://u:p@db/x", "--awx-url", "https://awx.example", "--awx-token", "t"}, &stderr))
	assert.Contains(t, stderr.String(), "NOTIFY_WEBHOOK_SECRET is required")
	assert.NotContains(t, stderr.String(), "path-secret")
	stderr.Reset()
	t.Setenv("NOTIFY_WEBHOOK_SECRET", "short-signing-secret")
	assert.Equal(t, 1, run([]string{"worker", "--database-url", "postgres://u:p@db/x", "--awx-url", "https://awx.example", "--awx-token", "t"}, &stderr))
	assert.Contains(t, stderr.String(), "at least 32 characters")
	assert.NotContains(t, stderr.String(), "short-signing-secret")
}

func TestRun_Migrate(t *testing.T) {
	clearEnv(t)
	url := pgtest.URL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	count := func() int {
		var n int
		require.NoError(t, st.DB().GetContext(ctx, &n, `SELECT count(*) FROM schema_migrations`))
		return n
	}
	all := count()
	require.Positive(t, all)

	var stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"migrate", "down", "1", "--database-url", url, "--log-level", "error"}, &stderr), stderr.String())
	assert.Equal(t, all-1, count())
	require.Equal(t, 0, run([]string{"migrate", "--database-url", url, "--log-level", "error"}, &stderr), stderr.String())
	assert.Equal(t, all, count())
	assert.Equal(t, 1, run([]string{"migrate", "down", "0", "--database-url", url}, &stderr))
	assert.Contains(t, stderr.String(), "positive number of steps")
}

func TestRun_AWXSimPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var stderr bytes.Buffer
	assert.Equal(t, 1, run([]string{"awx-sim", "--addr", ln.Addr().String()}, &stderr))
	assert.Contains(t, stderr.String(), "is the port already in use?")
}

func TestRun_TokenCreate(t *testing.T) {
	clearEnv(t)
	url := pgtest.URL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	_, err = st.CreateUser(ctx, store.NewUser{Username: "root", IsSuperuser: true})
	require.NoError(t, err)

	var out bytes.Buffer
	require.NoError(t, runToken(ctx, []string{"create", "--user", "root", "--database-url", url}, &out))
	token := strings.TrimSpace(out.String())
	require.True(t, strings.HasPrefix(token, "cs_"), token)
	u, _, _, err := st.AuthenticateToken(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, "root", u.Username)

	assert.ErrorContains(t, runToken(ctx, []string{"create", "--user", "nobody", "--database-url", url}, &out), `no user named "nobody"`)
	assert.ErrorContains(t, runToken(ctx, []string{"create", "--database-url", url}, &out), "--user is required")

	// The first account of a new installation.
	out.Reset()
	require.NoError(t, runToken(ctx, []string{"create", "--user", "first", "--create-superuser", "--database-url", url}, &out))
	u, _, _, err = st.AuthenticateToken(ctx, strings.TrimSpace(out.String()))
	require.NoError(t, err)
	assert.Equal(t, "first", u.Username)
	assert.True(t, u.IsSuperuser)
	_, err = st.CreateUser(ctx, store.NewUser{Username: "plain"})
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, runToken(ctx, []string{"create", "--user", "plain", "--create-superuser", "--database-url", url}, &out))
	u, _, _, err = st.AuthenticateToken(ctx, strings.TrimSpace(out.String()))
	require.NoError(t, err)
	assert.False(t, u.IsSuperuser, "an existing user is never promoted")
	assert.ErrorContains(t, runToken(ctx, []string{"list"}, &out), "usage")
}

func TestToken_HelpHidesTheEnvironment(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://u:hunter2@db.example/x")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	code := run([]string{"token", "create", "-h"}, io.Discard)
	os.Stderr = stderr
	require.NoError(t, w.Close())
	help, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Contains(t, string(help), "-database-url")
	assert.NotContains(t, string(help), "hunter2")
	assert.NotContains(t, string(help), "db.example")
}
