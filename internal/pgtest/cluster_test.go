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
	assert.Empty(t, socketDir, "no Unix socket: other local users cannot reach the server")
	require.NoError(t, s.Close())

	require.NoError(t, c.stop())
	stopped = true
	_, err = os.Stat(c.Dir)
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

	sweepStaleClusters(tmp, "")

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
