package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/store"
)

func TestStore_Open(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("connects and pings", func(t *testing.T) {
		s, err := store.Open(ctx, pgtest.URL(t))
		require.NoError(t, err)
		defer s.Close()
		assert.NoError(t, s.DB().PingContext(ctx))
		assert.Positive(t, s.DB().Stats().MaxOpenConnections, "the pool is bounded")
	})

	t.Run("keeps the connections a burst opened", func(t *testing.T) {
		// Closing a connection a burst opened, to open another on the next
		// burst, costs PostgreSQL a new backend (a fork, authentication,
		// catalog caches, every prepared statement again) per burst.
		s, err := store.Open(ctx, pgtest.URL(t))
		require.NoError(t, err)
		defer s.Close()
		size := s.DB().Stats().MaxOpenConnections
		backends := map[int]bool{}
		for burst := 0; burst < 3; burst++ {
			conns := make([]*sql.Conn, size)
			for i := range conns {
				conns[i], err = s.DB().Conn(ctx)
				require.NoError(t, err)
				var pid int
				require.NoError(t, conns[i].QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
				backends[pid] = true
			}
			for _, c := range conns {
				require.NoError(t, c.Close())
			}
		}
		assert.Equal(t, size, len(backends), "three bursts of %d connections each were served by the same %d backends", size, size)
	})

	t.Run("an unreachable server fails at once", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		_, err = store.Open(ctx, "postgres://nobody@"+addr+"/none?sslmode=disable&connect_timeout=5")
		assert.Error(t, err)
	})
}

func TestStore_WithTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	count := func(t *testing.T) int {
		var n int
		require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM organizations`))
		return n
	}

	t.Run("commits when fn succeeds", func(t *testing.T) {
		before := count(t)
		err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO organizations (name) VALUES ($1)`, "committed")
			return err
		})
		require.NoError(t, err)
		assert.Equal(t, before+1, count(t))
	})

	t.Run("rolls back when fn fails", func(t *testing.T) {
		before := count(t)
		boom := errors.New("boom")
		err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO organizations (name) VALUES ($1)`, "rolled-back")
			require.NoError(t, err)
			return boom
		})
		require.ErrorIs(t, err, boom)
		assert.Equal(t, before, count(t))
	})

	t.Run("rolls back and re-panics when fn panics", func(t *testing.T) {
		before := count(t)
		assert.PanicsWithValue(t, "kaboom", func() {
			_ = s.WithTx(ctx, func(tx *sqlx.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO organizations (name) VALUES ($1)`, "panicked")
				require.NoError(t, err)
				panic("kaboom")
			})
		})
		assert.Equal(t, before, count(t))
	})

	t.Run("maps driver errors to sentinels", func(t *testing.T) {
		err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO organizations (name) VALUES ($1), ($1)`, "twice")
			return err
		})
		assert.ErrorIs(t, err, store.ErrConflict)
		err = s.WithTx(ctx, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO teams (organization_id, name) VALUES (999999, 'x')`)
			return err
		})
		assert.ErrorIs(t, err, store.ErrInvalidReference)
		err = s.WithTx(ctx, func(tx *sqlx.Tx) error {
			var id int64
			return tx.GetContext(ctx, &id, `SELECT id FROM organizations WHERE name = 'absent'`)
		})
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_UnavailableDatabase(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	db, err := sqlx.Open("postgres", "postgres://x@"+addr+"/x?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	defer db.Close()
	_, err = store.New(db).GetUser(context.Background(), 1)
	assert.ErrorIs(t, err, store.ErrUnavailable)
	assert.NotErrorIs(t, err, store.ErrNotFound)
}

func TestStore_CreateDatabase(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	name := fmt.Sprintf("cs_created_%d", time.Now().UnixNano())
	t.Cleanup(func() { _, _ = st.DB().ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name) })
	created, err := st.CreateDatabase(ctx, name)
	require.NoError(t, err)
	assert.True(t, created)
	created, err = st.CreateDatabase(ctx, name)
	require.NoError(t, err)
	assert.False(t, created, "an existing database is kept")
	var n int
	require.NoError(t, st.DB().GetContext(ctx, &n, `SELECT count(*) FROM pg_database WHERE datname = $1`, name))
	assert.Equal(t, 1, n)
}

func TestStore_DatabaseComment(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	got, err := st.DatabaseComment(ctx)
	require.NoError(t, err)
	assert.Empty(t, got, "a fresh database, cloned from the template, has no comment")
	const comment = "it's a \\ marker; DROP TABLE users; --"
	require.NoError(t, st.SetDatabaseComment(ctx, comment))
	got, err = st.DatabaseComment(ctx)
	require.NoError(t, err)
	assert.Equal(t, comment, got)
	other := pgtest.NewStore(t)
	got, err = other.DatabaseComment(ctx)
	require.NoError(t, err)
	assert.Empty(t, got, "the comment belongs to one database")
}
