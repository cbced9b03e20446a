package main

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/store"
)

// `countersign dev` seeds a superuser whose token everyone knows: it
// prepares only a database it created, marked, or one it is told to take.
func TestDev_PrepareDatabase(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	seeded := func(t *testing.T, st *store.Store) bool {
		var n int
		require.NoError(t, st.DB().GetContext(ctx, &n, `SELECT count(*) FROM users WHERE username = 'admin'`))
		return n > 0
	}
	comment := func(t *testing.T, st *store.Store) string {
		c, err := st.DatabaseComment(ctx)
		require.NoError(t, err)
		return c
	}

	t.Run("a foreign database is refused, untouched", func(t *testing.T) {
		dbURL := pgtest.URL(t)
		st := open(t, dbURL)
		_, _, err := prepareDevDatabase(ctx, dbURL, false, false, quiet)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--allow-database-url")
		assert.Contains(t, err.Error(), "DEV_ALLOW_DATABASE_URL")
		assert.NotContains(t, err.Error(), "\n")
		if u, _ := url.Parse(dbURL); u != nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				assert.NotContains(t, err.Error(), pw)
			}
		}
		assert.False(t, seeded(t, st), "no demo users")
		assert.Empty(t, comment(t, st))
	})

	t.Run("allowed once, then recognised by its marker", func(t *testing.T) {
		dbURL := pgtest.URL(t)
		st := open(t, dbURL)
		_, _, err := prepareDevDatabase(ctx, dbURL, false, true, quiet)
		require.NoError(t, err)
		assert.True(t, seeded(t, st))
		assert.Equal(t, devMarker, comment(t, st))
		_, _, err = prepareDevDatabase(ctx, dbURL, false, false, quiet)
		assert.NoError(t, err, "the marker says dev prepared it")
	})

	t.Run("another comment is kept, and is no marker", func(t *testing.T) {
		dbURL := pgtest.URL(t)
		st := open(t, dbURL)
		require.NoError(t, st.SetDatabaseComment(ctx, "billing, owned by the platform team"))
		_, _, err := prepareDevDatabase(ctx, dbURL, false, true, quiet)
		require.NoError(t, err)
		assert.Equal(t, "billing, owned by the platform team", comment(t, st))
		_, _, err = prepareDevDatabase(ctx, dbURL, false, false, quiet)
		assert.ErrorContains(t, err, "--allow-database-url")
	})

	t.Run("a marker-like comment is not the marker", func(t *testing.T) {
		dbURL := pgtest.URL(t)
		st := open(t, dbURL)
		require.NoError(t, st.SetDatabaseComment(ctx, devMarker+" (copied)"))
		_, _, err := prepareDevDatabase(ctx, dbURL, false, false, quiet)
		assert.ErrorContains(t, err, "--allow-database-url")
		assert.False(t, seeded(t, st))
	})

	t.Run("its own cluster's database is marked", func(t *testing.T) {
		dbURL := pgtest.URL(t)
		st := open(t, dbURL)
		_, _, err := prepareDevDatabase(ctx, dbURL, true, false, quiet)
		require.NoError(t, err)
		assert.True(t, seeded(t, st))
		assert.Equal(t, devMarker, comment(t, st))
	})
}

// The refusal as the command shows it: one line, nothing started.
func TestDev_RefusesAForeignDatabase(t *testing.T) {
	bin := buildBinary(t)
	dbURL := pgtest.URL(t)
	ports := devPorts(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "dev", "--data-dir", t.TempDir(), "--api-port", ports[0],
		"--temporal-port", ports[1], "--ui-port", ports[2], "--awx-port", ports[3], "--idp-port", ports[5], "--mail-port", ports[6])
	cmd.Dir = repoRoot(t)
	cmd.Env = append(clean(cmd.Environ()), "DATABASE_URL="+dbURL)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "%s", out)
	line := strings.TrimSuffix(string(out), "\n")
	assert.NotContains(t, line, "\n", "one line")
	assert.Contains(t, line, "countersign dev: DATABASE_URL names a database that countersign dev did not prepare")
	assert.False(t, seededUsers(t, dbURL), "no demo users")
}

// clean drops the settings of dev from env.
func clean(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "DEV_") {
			out = append(out, kv)
		}
	}
	return out
}

func seededUsers(t *testing.T, dbURL string) bool {
	var n int
	require.NoError(t, open(t, dbURL).DB().GetContext(context.Background(), &n, `SELECT count(*) FROM users`))
	return n > 0
}

func open(t *testing.T, dbURL string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}
