package pgcluster_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgcluster"
)

// fakeBinDir makes a directory with initdb, postgres and a pg_ctl that
// reports the given version.
func fakeBinDir(t *testing.T, parent, version string) string {
	t.Helper()
	dir := filepath.Join(parent, version, "bin")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, name := range []string{"initdb", "postgres"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\nexit 0\n"), 0o755))
	}
	script := "#!/bin/sh\necho 'pg_ctl (PostgreSQL) " + version + "'\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pg_ctl"), []byte(script), 0o755))
	return dir
}

func TestPgcluster_FindBinDir(t *testing.T) {
	t.Run("missing binaries say what to install", func(t *testing.T) {
		_, _, err := pgcluster.FindBinDir(t.TempDir(), filepath.Join(t.TempDir(), "*", "bin"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "initdb")
		assert.Contains(t, err.Error(), "install the PostgreSQL server")
		assert.ErrorIs(t, err, pgcluster.ErrNoBinaries)
	})

	t.Run("picks the highest version, numerically", func(t *testing.T) {
		lib := t.TempDir()
		fakeBinDir(t, lib, "9.6")
		want := fakeBinDir(t, lib, "15.2")
		fakeBinDir(t, lib, "14.11")
		dir, version, err := pgcluster.FindBinDir("", filepath.Join(lib, "*", "bin"))
		require.NoError(t, err)
		assert.Equal(t, want, dir)
		assert.Equal(t, "15.2", version)
	})

	t.Run("considers the PATH too", func(t *testing.T) {
		lib, onPath := t.TempDir(), t.TempDir()
		fakeBinDir(t, lib, "13.1")
		want := fakeBinDir(t, onPath, "16.0")
		dir, version, err := pgcluster.FindBinDir(want, filepath.Join(lib, "*", "bin"))
		require.NoError(t, err)
		assert.Equal(t, want, dir)
		assert.Equal(t, "16.0", version)
	})

	t.Run("skips directories lacking a binary", func(t *testing.T) {
		lib := t.TempDir()
		want := fakeBinDir(t, lib, "12.0")
		broken := fakeBinDir(t, lib, "17.0")
		require.NoError(t, os.Remove(filepath.Join(broken, "initdb")))
		dir, _, err := pgcluster.FindBinDir("", filepath.Join(lib, "*", "bin"))
		require.NoError(t, err)
		assert.Equal(t, want, dir)
	})
}

// A persistent cluster keeps its data across a stop and a start on another
// port, and is not initialized twice.
func TestPgcluster_PersistentCluster(t *testing.T) {
	dir, err := os.MkdirTemp("", "countersign-pgcluster-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	c, err := pgcluster.New(filepath.Join(dir, "postgres"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Stop("immediate") })
	initialized, err := c.Initialized()
	require.NoError(t, err)
	require.False(t, initialized)
	if os.Geteuid() == 0 {
		// The server runs as postgres, who cannot enter a 0700 directory.
		err := c.Init(false)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cannot write to "+c.Dir)
	}
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, c.Init(false))
	initialized, err = c.Initialized()
	require.NoError(t, err)
	require.True(t, initialized)
	require.False(t, c.Running())

	require.NoError(t, c.Start(0))
	require.True(t, c.Running())
	db, err := sql.Open("postgres", c.URL("postgres"))
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`)
	require.NoError(t, err)
	var fsync string
	require.NoError(t, db.QueryRow(`SHOW fsync`).Scan(&fsync))
	assert.Equal(t, "on", fsync, "a persistent cluster is durable")
	require.NoError(t, db.Close())
	// Only the holder of the password gets in, and there is no socket
	// for other local users either.
	noPassword, err := sql.Open("postgres", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port))
	require.NoError(t, err)
	assert.ErrorContains(t, noPassword.Ping(), "password")
	require.NoError(t, noPassword.Close())
	info, err := os.Stat(filepath.Join(c.Dir, "superuser.password"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	first := c.Port
	require.NoError(t, c.Stop("fast"))
	require.False(t, c.Running())

	port, err := pgcluster.FreePort()
	require.NoError(t, err)
	require.NoError(t, c.Start(port))
	assert.Equal(t, port, c.Port)
	assert.NotEqual(t, 0, first)
	db, err = sql.Open("postgres", c.URL("postgres"))
	require.NoError(t, err)
	defer db.Close()
	var v string
	require.NoError(t, db.QueryRow(`SELECT v FROM kept`).Scan(&v))
	assert.Equal(t, "still here", v)
}
