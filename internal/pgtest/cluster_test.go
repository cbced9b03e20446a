package pgtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
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

func TestPgtest_FindBinDir(t *testing.T) {
	t.Run("missing binaries say what to install", func(t *testing.T) {
		_, _, err := findBinDir(t.TempDir(), filepath.Join(t.TempDir(), "*", "bin"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "initdb")
		assert.Contains(t, err.Error(), "install the PostgreSQL server")
		assert.Contains(t, err.Error(), "TEST_DATABASE_URL")
	})

	t.Run("picks the highest version, numerically", func(t *testing.T) {
		lib := t.TempDir()
		fakeBinDir(t, lib, "9.6")
		want := fakeBinDir(t, lib, "15.2")
		fakeBinDir(t, lib, "14.11")
		dir, version, err := findBinDir("", filepath.Join(lib, "*", "bin"))
		require.NoError(t, err)
		assert.Equal(t, want, dir)
		assert.Equal(t, "15.2", version)
	})

	t.Run("considers the PATH too", func(t *testing.T) {
		lib, onPath := t.TempDir(), t.TempDir()
		fakeBinDir(t, lib, "13.1")
		want := fakeBinDir(t, onPath, "16.0")
		dir, version, err := findBinDir(want, filepath.Join(lib, "*", "bin"))
		require.NoError(t, err)
		assert.Equal(t, want, dir)
		assert.Equal(t, "16.0", version)
	})

	t.Run("skips directories lacking a binary", func(t *testing.T) {
		lib := t.TempDir()
		want := fakeBinDir(t, lib, "12.0")
		broken := fakeBinDir(t, lib, "17.0")
		require.NoError(t, os.Remove(filepath.Join(broken, "initdb")))
		dir, _, err := findBinDir("", filepath.Join(lib, "*", "bin"))
		require.NoError(t, err)
		assert.Equal(t, want, dir)
	})
}

func TestPgtest_Cluster(t *testing.T) {
	t.Parallel()
	c, err := startCluster()
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			_ = c.stop()
		}
	}()

	ctx := context.Background()
	s, err := store.Open(ctx, c.url)
	require.NoError(t, err)
	var fsync, sync string
	require.NoError(t, s.DB().Get(&fsync, `SHOW fsync`))
	require.NoError(t, s.DB().Get(&sync, `SHOW synchronous_commit`))
	assert.Equal(t, "off", fsync)
	assert.Equal(t, "off", sync)
	var socketDir string
	require.NoError(t, s.DB().Get(&socketDir, `SHOW unix_socket_directories`))
	assert.Equal(t, c.dir, socketDir, "the socket lives in the cluster's own directory")
	require.NoError(t, s.Close())

	require.NoError(t, c.stop())
	stopped = true
	_, err = os.Stat(c.dir)
	assert.True(t, os.IsNotExist(err), "the cluster directory is removed")
	_, err = store.Open(ctx, c.url)
	assert.Error(t, err, "the server is gone")
}

func TestPgtest_SweepStaleClusters(t *testing.T) {
	tmp := t.TempDir()
	dead := exec.Command("true")
	require.NoError(t, dead.Run())

	staleDir := filepath.Join(tmp, clusterDirPrefix+"stale")
	liveDir := filepath.Join(tmp, clusterDirPrefix+"live")
	foreignDir := filepath.Join(tmp, clusterDirPrefix+"foreign")
	for dir, owner := range map[string]string{
		staleDir: strconv.Itoa(dead.Process.Pid),
		liveDir:  strconv.Itoa(os.Getpid()),
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o644))
	}
	require.NoError(t, os.MkdirAll(foreignDir, 0o755))

	sweepStaleClusters(tmp, &cluster{})

	assert.NoDirExists(t, staleDir, "a cluster whose test binary died is removed")
	assert.DirExists(t, liveDir, "a running test binary's cluster is kept")
	assert.DirExists(t, foreignDir, "a directory without an owner is left alone")
}

func TestPgtest_WithDatabase(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:p@db:5432/postgres?sslmode=disable", "postgres://u:p@db:5432/x?sslmode=disable"},
		{"postgresql://db/", "postgresql://db/x"},
		{"postgres://db/a?dbname=a&sslmode=require", "postgres://db/x?dbname=x&sslmode=require"},
		{"host=db dbname=postgres sslmode=disable", "host=db dbname=postgres sslmode=disable dbname=x"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.dsn, "x")
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, tt.dsn)
	}
}

func TestPgtest_UniqueName(t *testing.T) {
	a, b := uniqueName("cs_test"), uniqueName("cs_test")
	assert.NotEqual(t, a, b)
	assert.Contains(t, a, "_"+strconv.Itoa(os.Getpid())+"_")
	assert.Regexp(t, `^[a-z0-9_]+$`, a)
}
