package store_test

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/schema"
	"github.com/countersign/countersign/store"
)

// migrationNames lists the schema's migrations in order, from the files.
func migrationNames(t *testing.T) []string {
	t.Helper()
	ups, err := fs.Glob(schema.FS, "*.up.sql")
	require.NoError(t, err)
	require.NotEmpty(t, ups)
	names := make([]string, len(ups))
	for i, up := range ups {
		names[i] = strings.TrimSuffix(up, ".up.sql")
	}
	slices.Sort(names)
	return names
}

// catalogue describes the public schema: columns, constraints and indexes.
func catalogue(t *testing.T, db *sqlx.DB) []string {
	t.Helper()
	const q = `
		SELECT format('column %s.%s %s null=%s default=%s generated=%s', table_name, column_name,
			data_type, is_nullable, coalesce(column_default, ''), coalesce(generation_expression, ''))
		FROM information_schema.columns WHERE table_schema = 'public'
		UNION ALL
		SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace
		UNION ALL
		SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
		ORDER BY 1`
	var lines []string
	require.NoError(t, db.Select(&lines, q))
	return lines
}

func TestStore_Migrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	all := migrationNames(t)

	t.Run("up, down, up leaves the same schema", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewEmptyDatabase(t)
		applied, err := store.Migrate(ctx, db)
		require.NoError(t, err)
		assert.Equal(t, all, applied)
		want := catalogue(t, db)
		assert.Contains(t, want, "index CREATE UNIQUE INDEX service_request_inbox_pkey ON public.service_request_inbox USING btree (username, request_id)")

		reverted, err := store.MigrateDown(ctx, db, len(all))
		require.NoError(t, err)
		wantReverted := slices.Clone(all)
		slices.Reverse(wantReverted)
		assert.Equal(t, wantReverted, reverted)
		for _, line := range catalogue(t, db) {
			assert.Contains(t, line, "schema_migrations", "only the bookkeeping table is left")
		}

		applied, err = store.Migrate(ctx, db)
		require.NoError(t, err)
		assert.Equal(t, all, applied)
		assert.Equal(t, want, catalogue(t, db))
	})

	t.Run("a current database needs nothing", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewDatabase(t)
		applied, err := store.Migrate(ctx, db)
		require.NoError(t, err)
		assert.Empty(t, applied)
	})

	t.Run("down by steps, then up again", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewDatabase(t)
		reverted, err := store.MigrateDown(ctx, db, 1)
		require.NoError(t, err)
		assert.Equal(t, all[len(all)-1:], reverted)
		var versions []string
		require.NoError(t, db.Select(&versions, `SELECT name FROM schema_migrations ORDER BY version`))
		assert.Equal(t, all[:len(all)-1], versions)

		applied, err := store.Migrate(ctx, db)
		require.NoError(t, err)
		assert.Equal(t, all[len(all)-1:], applied)

		_, err = store.MigrateDown(ctx, db, 0)
		assert.Error(t, err)
		reverted, err = store.MigrateDown(ctx, db, len(all)+5)
		require.NoError(t, err)
		assert.Len(t, reverted, len(all))
	})

	t.Run("concurrent callers apply each migration once", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewEmptyDatabase(t)
		const callers = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			applied []string
			errs    []error
		)
		for range callers {
			wg.Go(func() {
				got, err := store.Migrate(ctx, db)
				mu.Lock()
				defer mu.Unlock()
				applied = append(applied, got...)
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		require.Empty(t, errs)
		slices.Sort(applied)
		assert.Equal(t, all, applied, "every migration applied by exactly one caller")
		var rows int
		require.NoError(t, db.Get(&rows, `SELECT count(*) FROM schema_migrations`))
		assert.Equal(t, len(all), rows)
		var locks int
		require.NoError(t, db.Get(&locks, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`))
		assert.Zero(t, locks, "the migration lock is released")
	})

	t.Run("refuses a database newer than the binary", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewDatabase(t)
		_, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_from_the_future')`)
		require.NoError(t, err)
		before := catalogue(t, db)

		_, err = store.Migrate(ctx, db)
		require.ErrorIs(t, err, store.ErrSchemaNewer)
		assert.Contains(t, err.Error(), "database schema is newer than this binary")
		assert.Contains(t, err.Error(), "9999")

		_, err = store.MigrateDown(ctx, db, 1)
		require.ErrorIs(t, err, store.ErrSchemaNewer)
		assert.Equal(t, before, catalogue(t, db), "nothing changed")
	})

	t.Run("refuses a history with a gap", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewDatabase(t)
		_, err := store.MigrateDown(ctx, db, len(all))
		require.NoError(t, err)
		_, err = db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (2, $1)`, all[1])
		require.NoError(t, err)
		_, err = store.Migrate(ctx, db)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "append-only")
		var tables int
		require.NoError(t, db.Get(&tables, `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = 'public' AND table_name <> 'schema_migrations'`))
		assert.Zero(t, tables)
	})

	t.Run("a failing migration leaves no trace", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewEmptyDatabase(t)
		// A table the first migration wants to create makes it fail midway.
		_, err := db.Exec(`CREATE TABLE teams (id int)`)
		require.NoError(t, err)
		applied, err := store.Migrate(ctx, db)
		require.Error(t, err)
		assert.Empty(t, applied)
		assert.Contains(t, err.Error(), all[0])
		var tables []string
		require.NoError(t, db.Select(&tables, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = 'public' ORDER BY 1`))
		assert.Equal(t, []string{"schema_migrations", "teams"}, tables, "organizations and users were rolled back")
		var rows int
		require.NoError(t, db.Get(&rows, `SELECT count(*) FROM schema_migrations`))
		assert.Zero(t, rows)
	})
}
