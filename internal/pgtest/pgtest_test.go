package pgtest_test

import (
	"context"
	"io/fs"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/schema"
	"github.com/countersign/countersign/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func upMigrations(t *testing.T) int {
	ups, err := fs.Glob(schema.FS, "*.up.sql")
	require.NoError(t, err)
	require.NotEmpty(t, ups)
	return len(ups)
}

func TestPgtest_NewDatabase(t *testing.T) {
	t.Parallel()

	t.Run("is fully migrated", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewDatabase(t)
		var applied int
		require.NoError(t, db.Get(&applied, `SELECT count(*) FROM schema_migrations`))
		assert.Equal(t, upMigrations(t), applied)
		var tables []string
		require.NoError(t, db.Select(&tables, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = 'public' ORDER BY table_name`))
		assert.Contains(t, tables, "users")
		assert.Contains(t, tables, "service_requests")
	})

	t.Run("is isolated from other tests", func(t *testing.T) {
		t.Parallel()
		a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
		var nameA, nameB string
		require.NoError(t, a.Get(&nameA, `SELECT current_database()`))
		require.NoError(t, b.Get(&nameB, `SELECT current_database()`))
		assert.NotEqual(t, nameA, nameB)

		_, err := a.Exec(`INSERT INTO organizations (name) VALUES ($1)`, "only-in-a")
		require.NoError(t, err)
		var inB int
		require.NoError(t, b.Get(&inB, `SELECT count(*) FROM organizations`))
		assert.Zero(t, inB)
	})

	t.Run("is dropped when the test ends", func(t *testing.T) {
		t.Parallel()
		var name string
		t.Run("user", func(t *testing.T) {
			db := pgtest.NewDatabase(t)
			require.NoError(t, db.Get(&name, `SELECT current_database()`))
		})
		require.NotEmpty(t, name)
		other := pgtest.NewDatabase(t)
		var exists bool
		require.NoError(t, other.Get(&exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name))
		assert.False(t, exists, "database %s should have been dropped", name)
	})
}

func TestPgtest_NewEmptyDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmptyDatabase(t)
	var tables int
	require.NoError(t, db.Get(&tables, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`))
	assert.Zero(t, tables)
}

func TestPgtest_URL(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	s, err := store.Open(context.Background(), u)
	require.NoError(t, err)
	defer s.Close()
	var applied int
	require.NoError(t, s.DB().Get(&applied, `SELECT count(*) FROM schema_migrations`))
	assert.Equal(t, upMigrations(t), applied)
}

func TestPgtest_NewStore(t *testing.T) {
	t.Parallel()
	s := pgtest.NewStore(t)
	org, err := s.CreateOrganization(context.Background(), "acme", "")
	require.NoError(t, err)
	got, err := s.GetOrganizationByName(context.Background(), "acme")
	require.NoError(t, err)
	assert.Equal(t, org.ID, got.ID)
}
