package pgtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/countersign/countersign/internal/pgcluster"
)

// clusterDirPrefix names the temporary directories of throwaway clusters, so
// that clusters left behind by killed test binaries can be found and removed.
const clusterDirPrefix = "countersign-pgtest-"

// ownerFile, inside a cluster directory, holds the pid of the test binary
// that started the cluster.
const ownerFile = "owner.pid"

// cluster is a throwaway PostgreSQL server in a temporary directory.
type cluster struct {
	*pgcluster.Cluster
	url  string
	took time.Duration
}

// startCluster creates and starts a throwaway cluster listening on a free
// port of 127.0.0.1, with durability turned off for speed.
func startCluster() (*cluster, error) {
	began := time.Now()
	dir, err := os.MkdirTemp("", clusterDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	pc, err := pgcluster.New(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, withHint(err)
	}
	c := &cluster{Cluster: pc}
	sweepStaleClusters(os.TempDir(), dir)
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("write cluster owner: %w", err)
	}
	if err := c.Init(true); err != nil {
		_ = c.stop()
		return nil, err
	}
	if err := c.Start(0); err != nil {
		_ = c.stop()
		return nil, err
	}
	c.url = c.URL("postgres")
	c.took = time.Since(began)
	return c, nil
}

// withHint adds the test-only alternative to a missing server.
func withHint(err error) error {
	if errors.Is(err, pgcluster.ErrNoBinaries) || strings.Contains(err.Error(), "root") {
		return fmt.Errorf("%w; or set %s to a PostgreSQL server where the tests may create databases", err, EnvURL)
	}
	return err
}

// stop stops the server, if it runs, and removes its directory.
func (c *cluster) stop() error {
	return errors.Join(c.Stop("immediate"), os.RemoveAll(c.Dir))
}

// sweepStaleClusters stops and removes clusters whose test binary is gone
// (killed by a timeout, say), so they do not pile up; own is ours.
func sweepStaleClusters(tmp, own string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, clusterDirPrefix+"*"))
	for _, dir := range dirs {
		if dir == own {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being created, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || processAlive(pid) {
			continue
		}
		if stale, err := pgcluster.New(dir); err == nil {
			_ = (&cluster{Cluster: stale}).stop()
		} else {
			_ = os.RemoveAll(dir)
		}
	}
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
