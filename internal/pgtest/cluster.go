package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clusterDirPrefix names the temporary directories of throwaway clusters, so
// that clusters left behind by killed test binaries can be found and removed.
const clusterDirPrefix = "countersign-pgtest-"

// ownerFile, inside a cluster directory, holds the pid of the test binary
// that started the cluster.
const ownerFile = "owner.pid"

// installHint says how to get the binaries when they are missing.
const installHint = "install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; " +
	"Fedora: dnf install postgresql-server; macOS: brew install postgresql), " +
	"or set TEST_DATABASE_URL to a PostgreSQL server where the tests may create databases"

// defaultBinGlob is where Debian-style packages install server binaries.
const defaultBinGlob = "/usr/lib/postgresql/*/bin"

// cluster is a throwaway PostgreSQL server in a temporary directory.
type cluster struct {
	binDir  string
	version string
	dir     string // temporary directory: data, socket, log
	port    int
	url     string
	took    time.Duration
	// runAs is the system user the server runs as when the tests run as
	// root, which PostgreSQL refuses; nil otherwise.
	runAs *user.User
}

func (c *cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *cluster) logFile() string { return filepath.Join(c.dir, "postgres.log") }

// startCluster creates and starts a throwaway cluster listening on a free
// port of 127.0.0.1, with durability turned off for speed.
func startCluster() (*cluster, error) {
	began := time.Now()
	binDir, version, err := findBinDir(os.Getenv("PATH"), defaultBinGlob)
	if err != nil {
		return nil, err
	}
	c := &cluster{binDir: binDir, version: version}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("the tests run as root, which PostgreSQL refuses, and there is no 'postgres' system user to run it as (%v): "+
				"create one (useradd --system postgres), run the tests as another user, or set TEST_DATABASE_URL", err)
		}
		c.runAs = u
	}
	sweepStaleClusters(os.TempDir(), c)

	c.dir, err = os.MkdirTemp("", clusterDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	if strings.ContainsAny(c.dir, "'\\") {
		_ = os.RemoveAll(c.dir)
		return nil, fmt.Errorf("temporary directory %q contains a quote or backslash; set TMPDIR to a plain path", c.dir)
	}
	if err := os.WriteFile(filepath.Join(c.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, fmt.Errorf("write cluster owner: %w", err)
	}
	if err := c.chown(c.dir); err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, err
	}
	if err := c.initAndStart(); err != nil {
		c.stop()
		return nil, err
	}
	c.took = time.Since(began)
	return c, nil
}

func (c *cluster) initAndStart() error {
	if out, err := c.run("initdb", "-D", c.dataDir(), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// Settings go in the configuration file rather than on pg_ctl's -o,
	// which pg_ctl hands to a shell. Durability is off: the cluster is
	// thrown away, and fsync dominates the cost of CREATE DATABASE.
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
`, c.dir)
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("configure cluster: %w", err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("configure cluster: %w", err)
	}

	// The free port may be taken by someone else before the server binds
	// it; another port then usually works.
	var startErr error
	for range 3 {
		c.port, err = freePort()
		if err != nil {
			return err
		}
		out, err := c.run("pg_ctl", "-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", "60",
			"-o", "-p "+strconv.Itoa(c.port), "start")
		if err == nil {
			c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
			return nil
		}
		startErr = fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, c.logTail())
	}
	return startErr
}

// stop stops the server, if it runs, and removes its directory.
func (c *cluster) stop() error {
	var err error
	if _, statErr := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); statErr == nil {
		if out, stopErr := c.run("pg_ctl", "-D", c.dataDir(), "-m", "immediate", "-w", "stop"); stopErr != nil {
			err = fmt.Errorf("pg_ctl stop: %w\n%s", stopErr, out)
		}
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

// run runs a PostgreSQL binary, as the postgres user when we are root.
func (c *cluster) run(name string, args ...string) ([]byte, error) {
	bin := filepath.Join(c.binDir, name)
	var cmd *exec.Cmd
	if c.runAs != nil {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs.Username, "--", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	// The server must be able to read its working directory, which the
	// test's own may not allow to another user.
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return bytes.TrimSpace(out.Bytes()), err
}

func (c *cluster) chown(path string) error {
	if c.runAs == nil {
		return nil
	}
	uid, err := strconv.Atoi(c.runAs.Uid)
	if err != nil {
		return fmt.Errorf("uid of %s: %w", c.runAs.Username, err)
	}
	gid, err := strconv.Atoi(c.runAs.Gid)
	if err != nil {
		return fmt.Errorf("gid of %s: %w", c.runAs.Username, err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("give %s to %s: %w", path, c.runAs.Username, err)
	}
	return nil
}

func (c *cluster) logTail() string {
	b, err := os.ReadFile(c.logFile())
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "server log:\n" + string(b)
}

// sweepStaleClusters stops and removes clusters whose test binary is gone
// (killed by a timeout, say), so they do not pile up.
func sweepStaleClusters(tmp string, template *cluster) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, clusterDirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being created, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || processAlive(pid) {
			continue
		}
		stale := *template
		stale.dir = dir
		_ = stale.stop()
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var versionPattern = regexp.MustCompile(`\(PostgreSQL\) ([0-9]+(?:\.[0-9]+)*)`)

// findBinDir returns the directory holding initdb, pg_ctl and postgres:
// among the one on PATH and those matching glob, the highest version.
func findBinDir(path, glob string) (dir, version string, err error) {
	var candidates []string
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "pg_ctl")
		if !isExecutable(p) {
			continue
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		candidates = append(candidates, filepath.Dir(p))
		break
	}
	globbed, _ := filepath.Glob(glob)
	candidates = append(candidates, globbed...)

	for _, d := range candidates {
		if !isExecutable(filepath.Join(d, "initdb")) || !isExecutable(filepath.Join(d, "pg_ctl")) ||
			!isExecutable(filepath.Join(d, "postgres")) {
			continue
		}
		out, err := exec.Command(filepath.Join(d, "pg_ctl"), "--version").Output()
		if err != nil {
			continue
		}
		m := versionPattern.FindSubmatch(out)
		if m == nil {
			continue
		}
		if dir == "" || compareVersions(string(m[1]), version) > 0 {
			dir, version = d, string(m[1])
		}
	}
	if dir == "" {
		return "", "", fmt.Errorf("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under %s: %s", glob, installHint)
	}
	return dir, version, nil
}

func parseVersion(s string) []int {
	var v []int
	for f := range strings.SplitSeq(s, ".") {
		n, _ := strconv.Atoi(f)
		v = append(v, n)
	}
	return v
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// compareVersions orders dotted versions numerically ("9.6" < "15.2").
func compareVersions(a, b string) int {
	return slices.Compare(parseVersion(a), parseVersion(b))
}
