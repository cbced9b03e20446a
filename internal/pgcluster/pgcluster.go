// Package pgcluster runs a PostgreSQL server of its own from the installed
// server binaries (initdb, pg_ctl, postgres): the throwaway clusters of the
// tests and the persistent one of `countersign dev`.
//
// PostgreSQL refuses to run as root; when the current user is root the
// binaries run as the "postgres" system user, who must be able to reach the
// cluster directory.
package pgcluster

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// InstallHint says how to get the server binaries.
const InstallHint = "install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; " +
	"Fedora: dnf install postgresql-server; macOS: brew install postgresql)"

// DefaultBinGlob is where Debian-style packages install server binaries.
const DefaultBinGlob = "/usr/lib/postgresql/*/bin"

// Cluster is a PostgreSQL cluster in a directory of its own: the data
// directory "data", the server's Unix socket and its log.
type Cluster struct {
	BinDir  string
	Version string
	Dir     string
	// Port is the TCP port of 127.0.0.1 the server listens on, once
	// started.
	Port int
	// runAs is the system user the binaries run as when we are root.
	runAs *user.User
}

// New prepares a cluster in dir (which need not exist yet) with the
// installed binaries of the highest version.
func New(dir string) (*Cluster, error) {
	binDir, version, err := FindBinDir(os.Getenv("PATH"), DefaultBinGlob)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(abs, "'\\") {
		return nil, fmt.Errorf("cluster directory %q contains a quote or backslash; use a plain path", abs)
	}
	c := &Cluster{BinDir: binDir, Version: version, Dir: abs}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, which PostgreSQL refuses, and there is no 'postgres' system user to run it as (%v): "+
				"create one (useradd --system postgres) or run as another user", err)
		}
		c.runAs = u
	}
	return c, nil
}

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return filepath.Join(c.Dir, "data") }

// LogFile is the server's log.
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, "postgres.log") }

// Initialized reports whether initdb has run; an error says the cluster
// directory cannot be read (another user's, say).
func (c *Cluster) Initialized() (bool, error) {
	_, err := os.Stat(filepath.Join(c.DataDir(), "PG_VERSION"))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("cannot read the PostgreSQL cluster in %s (%v): it belongs to another user; "+
		"run as that user, remove it, or choose another directory", c.Dir, err)
}

// passwordFile holds the superuser's password, readable by its owner only.
func (c *Cluster) passwordFile() string { return filepath.Join(c.Dir, "superuser.password") }

// Init creates the directory and runs initdb: superuser "postgres" with a
// random password (kept in the cluster directory, mode 0600) over TCP on
// 127.0.0.1 and no Unix socket, so no other local user gets in. A
// throwaway cluster trades durability for speed: fsync dominates the cost
// of CREATE DATABASE.
func (c *Cluster) Init(throwaway bool) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	if err := c.Chown(c.Dir); err != nil {
		return err
	}
	if c.runAs != nil {
		// The postgres user must be able to reach the directory.
		if out, err := c.command("test", "-w", c.Dir).CombinedOutput(); err != nil {
			return fmt.Errorf("PostgreSQL runs as the %s user, who cannot write to %s (%v %s): "+
				"make its parent directories searchable (chmod o+x) or set DATABASE_URL", c.runAs.Username, c.Dir, err, out)
		}
	}
	var secret [24]byte
	_, _ = rand.Read(secret[:]) // crypto/rand never fails
	if err := os.WriteFile(c.passwordFile(), []byte(hex.EncodeToString(secret[:])+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the superuser password: %w", err)
	}
	if err := c.Chown(c.passwordFile()); err != nil {
		return err
	}
	args := []string{"-D", c.DataDir(), "--auth-host=scram-sha-256", "--auth-local=peer", "--pwfile=" + c.passwordFile(),
		"-U", "postgres", "-E", "UTF8", "--no-locale"}
	if throwaway {
		args = append(args, "--no-sync")
	}
	if out, err := c.run("initdb", args...); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// Settings go in the configuration file rather than on pg_ctl's -o,
	// which pg_ctl hands to a shell.
	conf := "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 300\n"
	if throwaway {
		conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
	}
	f, err := os.OpenFile(filepath.Join(c.DataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
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
	return nil
}

// Start starts the server on port of 127.0.0.1 and waits until it accepts
// connections. Port 0 picks a free port, trying again if another process
// takes it first.
func (c *Cluster) Start(port int) error {
	tries := 1
	if port == 0 {
		tries = 3
	}
	var startErr error
	for range tries {
		p := port
		if p == 0 {
			var err error
			if p, err = FreePort(); err != nil {
				return err
			}
		}
		out, err := c.run("pg_ctl", "-D", c.DataDir(), "-l", c.LogFile(), "-w", "-t", "60", "-o", "-p "+strconv.Itoa(p)+" -k ''", "start")
		if err == nil {
			c.Port = p
			return nil
		}
		startErr = fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, c.LogTail())
	}
	return startErr
}

// Running reports whether a server runs on the data directory (one left
// by a process that was killed, say).
func (c *Cluster) Running() bool {
	if _, err := os.Stat(filepath.Join(c.DataDir(), "postmaster.pid")); err != nil {
		return false
	}
	_, err := c.run("pg_ctl", "-D", c.DataDir(), "status")
	return err == nil
}

// Stop stops the server if it runs: "fast" (rolls back sessions, clean
// shutdown) or "immediate" (for throwaway clusters).
func (c *Cluster) Stop(mode string) error {
	if _, err := os.Stat(filepath.Join(c.DataDir(), "postmaster.pid")); err != nil {
		return nil
	}
	if out, err := c.run("pg_ctl", "-D", c.DataDir(), "-m", mode, "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// URL is the connection URL of database db, with the superuser's password.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)),
		Path: "/" + db, RawQuery: "sslmode=disable"}
	if b, err := os.ReadFile(c.passwordFile()); err == nil {
		u.User = url.UserPassword("postgres", strings.TrimSpace(string(b)))
	}
	return u.String()
}

// LogTail is the end of the server's log, for error messages.
func (c *Cluster) LogTail() string {
	b, err := os.ReadFile(c.LogFile())
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "server log:\n" + string(b)
}

// Chown gives path to the user the server runs as, if it is not us.
func (c *Cluster) Chown(path string) error {
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

// run runs a PostgreSQL binary.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	var out bytes.Buffer
	cmd := c.command(filepath.Join(c.BinDir, name), args...)
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return bytes.TrimSpace(out.Bytes()), err
}

// command runs as the server's user, in a directory anyone can read.
func (c *Cluster) command(bin string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if c.runAs != nil {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs.Username, "--", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Dir = "/"
	// A group of its own keeps a terminal's Ctrl-C away from the server,
	// which its owner stops in order, after the clients that use it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// FreePort is a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var versionPattern = regexp.MustCompile(`\(PostgreSQL\) ([0-9]+(?:\.[0-9]+)*)`)

// FindBinDir returns the directory holding initdb, pg_ctl and postgres:
// among the one on path and those matching glob, the highest version.
func FindBinDir(path, glob string) (dir, version string, err error) {
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
		return "", "", fmt.Errorf("%w on PATH or under %s: %s", ErrNoBinaries, glob, InstallHint)
	}
	return dir, version, nil
}

// ErrNoBinaries: the PostgreSQL server is not installed.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// compareVersions orders dotted versions numerically ("9.6" < "15.2").
func compareVersions(a, b string) int {
	return slices.Compare(parseVersion(a), parseVersion(b))
}

func parseVersion(s string) []int {
	var v []int
	for f := range strings.SplitSeq(s, ".") {
		n, _ := strconv.Atoi(f)
		v = append(v, n)
	}
	return v
}
