// Package pgtest gives tests real PostgreSQL databases: each test gets a
// fresh, fully migrated database of its own, cloned from a template and
// dropped when the test ends, so tests can run in parallel and never see each
// other's rows.
//
// The server is the one TEST_DATABASE_URL points at (PostgreSQL 13 or newer;
// its user must be allowed to create databases) or, when it is unset, a throwaway cluster started from
// the installed PostgreSQL server binaries for the duration of the test
// binary. A package opts in from its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// When no server can be had, tests that ask for a database fail (they never
// skip) with a message saying what to install.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countersign/countersign/store"
)

// EnvURL names the variable holding the URL of an existing server to use
// instead of a throwaway cluster.
const EnvURL = "TEST_DATABASE_URL"

// adminTimeout bounds each CREATE/DROP DATABASE and the template's migration.
const adminTimeout = 2 * time.Minute

// harness is the state of one test binary's use of PostgreSQL.
type harness struct {
	baseURL  string   // a database to connect to for CREATE/DROP DATABASE
	setupErr error    // why there is no server, if there is none
	cluster  *cluster // the throwaway cluster, when one was started

	adminOnce sync.Once
	admin     *sqlx.DB
	adminErr  error

	templateOnce sync.Once
	template     string
	templateErr  error

	// createMu serialises clones: PostgreSQL refuses to copy a database
	// that another session is connected to, and clones are quick.
	createMu sync.Mutex
}

// active is set by Main before any test runs.
var active atomic.Pointer[harness]

// Main runs the tests of a package that uses pgtest and returns the exit
// code for os.Exit. Without TEST_DATABASE_URL it starts a throwaway cluster
// first (reporting so in one line on stderr) and stops and deletes it after
// the tests; either way it drops the template database it created.
func Main(m *testing.M) int {
	h := &harness{}
	if u := os.Getenv(EnvURL); u != "" {
		h.baseURL = u
	} else {
		c, err := startCluster()
		if err != nil {
			h.setupErr = fmt.Errorf("cannot start a throwaway PostgreSQL: %w", err)
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", h.setupErr)
		} else {
			h.cluster, h.baseURL = c, c.url
			fmt.Fprintf(os.Stderr, "pgtest: started PostgreSQL %s on 127.0.0.1:%d in %s (%s)\n",
				c.Version, c.Port, c.took.Round(time.Millisecond), c.Dir)
		}
	}
	active.Store(h)
	code := m.Run()
	if err := h.close(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// NewDatabase returns a connection pool to a new database holding the whole
// schema (store.Migrate) and nothing else. The pool is closed and the
// database dropped when the test ends.
func NewDatabase(t testing.TB) *sqlx.DB {
	t.Helper()
	return connect(t, newDatabase(t, true))
}

// NewEmptyDatabase is NewDatabase without the schema: not even
// schema_migrations exists. It is for testing migrations themselves.
func NewEmptyDatabase(t testing.TB) *sqlx.DB {
	t.Helper()
	return connect(t, newDatabase(t, false))
}

// NewStore returns a Store on a database from NewDatabase.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	return store.New(NewDatabase(t))
}

// URL creates a database like NewDatabase and returns its connection URL,
// for code that opens its own connections (another process, say). The
// database is dropped when the test ends, cutting any connection still open.
func URL(t testing.TB) string {
	t.Helper()
	h := current(t)
	u, err := withDatabase(h.baseURL, newDatabase(t, true))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

func current(t testing.TB) *harness {
	t.Helper()
	h := active.Load()
	if h == nil {
		t.Fatal("pgtest: the package's TestMain must run the tests through pgtest.Main: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }")
	}
	if h.setupErr != nil {
		t.Fatalf("pgtest: no PostgreSQL for this test: %v", h.setupErr)
	}
	return h
}

// newDatabase creates a uniquely named database, migrated or empty, and
// arranges for it to be dropped when the test ends.
func newDatabase(t testing.TB, migrated bool) string {
	t.Helper()
	h := current(t)
	admin, err := h.adminDB()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	source := "template0"
	if migrated {
		if source, err = h.templateDB(); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	name := uniqueName("cs_test")
	if err := h.create(admin, name, source); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(admin, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return name
}

// connect opens a pool on database name, closed when the test ends (before
// the database is dropped: cleanups run last-registered first).
func connect(t testing.TB, name string) *sqlx.DB {
	t.Helper()
	u, err := withDatabase(current(t).baseURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: connect to test database %s: %v", name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.DB()
}

func (h *harness) adminDB() (*sqlx.DB, error) {
	h.adminOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		s, err := store.Open(ctx, h.baseURL)
		if err != nil {
			h.adminErr = fmt.Errorf("connect to the test server (%s): %w", redact(h.baseURL), err)
			return
		}
		h.admin = s.DB()
	})
	return h.admin, h.adminErr
}

// templateDB creates and migrates, once per test binary, the database every
// migrated test database is cloned from.
func (h *harness) templateDB() (string, error) {
	h.templateOnce.Do(func() {
		admin, err := h.adminDB()
		if err != nil {
			h.templateErr = err
			return
		}
		name := uniqueName("cs_template")
		if err := h.create(admin, name, "template0"); err != nil {
			h.templateErr = err
			return
		}
		h.template = name
		u, err := withDatabase(h.baseURL, name)
		if err != nil {
			h.templateErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		s, err := store.Open(ctx, u)
		if err != nil {
			h.templateErr = fmt.Errorf("connect to template database: %w", err)
			return
		}
		// Closed before any clone: a template must have no sessions.
		defer s.Close()
		if _, err := store.Migrate(ctx, s.DB()); err != nil {
			h.templateErr = fmt.Errorf("migrate template database: %w", err)
		}
	})
	return h.template, h.templateErr
}

func (h *harness) create(admin *sqlx.DB, name, source string) error {
	h.createMu.Lock()
	defer h.createMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	// Identifiers cannot be parameters; both names are ours, built from
	// [a-z0-9_] only, and quoted besides.
	q := "CREATE DATABASE " + quoteIdent(name) + " TEMPLATE " + quoteIdent(source)
	if _, err := admin.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create database %s from %s: %w", name, source, err)
	}
	return nil
}

func drop(admin *sqlx.DB, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	q := "DROP DATABASE IF EXISTS " + quoteIdent(name) + " WITH (FORCE)"
	if _, err := admin.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

func (h *harness) close() error {
	var errs []error
	if h.template != "" && h.admin != nil {
		errs = append(errs, drop(h.admin, h.template))
	}
	if h.admin != nil {
		errs = append(errs, h.admin.Close())
	}
	if h.cluster != nil {
		errs = append(errs, h.cluster.stop())
	}
	return errors.Join(errs...)
}

// uniqueName is unique among the test binaries sharing a server: it carries
// this process's pid and random bits.
func uniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s_%d_%s", prefix, os.Getpid(), hex.EncodeToString(b[:]))
}

func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// withDatabase returns dsn pointing at database name instead. dsn is a
// postgres:// URL or a key=value connection string.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path, u.RawPath = "/"+name, ""
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", name)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// In key=value strings the last setting of a key wins.
	return strings.TrimSpace(dsn) + " dbname=" + name, nil
}

// redact hides the password of a URL for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "the configured server"
	}
	return u.Redacted()
}
