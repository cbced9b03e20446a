// Package store is Countersign's PostgreSQL data access: identity and
// configuration, and the projection of each service request's workflow state
// that makes lists and the approval inbox fast. All SQL and everything
// specific to the lib/pq driver live here; callers see plain Go types and the
// sentinel errors of errors.go.
//
// The schema comes from package schema and is applied by Migrate.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // registers the "postgres" driver
)

// driverName is the database/sql driver every connection uses.
const driverName = "postgres"

// Pool limits applied by Open. A service replica rarely needs more than a
// handful of connections at once; keeping the pool small leaves room on the
// server for many replicas. The pool keeps every connection it opened until
// it has been idle for connMaxIdleTime: with fewer idle than open, each
// burst past the idle limit closed connections only for the next burst to
// open them again, a new PostgreSQL backend each (a fork, authentication,
// and every prepared statement prepared again). Callers may retune them
// through DB().
const (
	maxOpenConns    = 20
	maxIdleConns    = maxOpenConns
	connMaxLifetime = 30 * time.Minute
	connMaxIdleTime = 5 * time.Minute
)

// Store is the data-access layer. It is safe for concurrent use.
type Store struct {
	db *sqlx.DB
	// prepared are the statements of every authenticated call and of the
	// inbox's pages (see prepare), by their text.
	prepared sync.Map
}

// prepare returns q as a prepared statement, made once for the pool (the
// driver prepares it on each connection it runs on). For a bounded set of
// texts run on most calls (a token's lookup, a user's roles, the inbox's
// pages, a stage's roster, the recording of a request's state):
// PostgreSQL then plans them once per connection instead of on every call,
// which cost more than running them (0.2 ms against 0.1 for a user's
// roles; 0.8 ms against 0.4 for the recording's rows), and a call takes
// one round trip instead of two. Their
// plans are index lookups whatever the parameters, so a generic plan is as
// good as a custom one; PostgreSQL settles on one only where it expects it
// to cost no more (see pendingForPageSQL).
func (s *Store) prepare(ctx context.Context, q string) (*sqlx.Stmt, error) {
	if st, ok := s.prepared.Load(q); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := s.db.PreparexContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if earlier, raced := s.prepared.LoadOrStore(q, st); raced {
		_ = st.Close()
		return earlier.(*sqlx.Stmt), nil
	}
	return st, nil
}

// prepareAll prepares qs (see prepare) for a transaction about to begin,
// in their order. The first preparation of a statement takes a connection
// from the pool of its own, so it must come before the transaction holds
// one: inside it, a pool whose every connection is held by such a
// transaction would wait on itself. In the transaction, tx.StmtxContext
// runs them on its connection.
func (s *Store) prepareAll(ctx context.Context, qs ...string) ([]*sqlx.Stmt, error) {
	sts := make([]*sqlx.Stmt, len(qs))
	for i, q := range qs {
		st, err := s.prepare(ctx, q)
		if err != nil {
			return nil, err
		}
		sts[i] = st
	}
	return sts, nil
}

// getPrepared runs q, prepared (see prepare), and scans its one row into
// dest.
func (s *Store) getPrepared(ctx context.Context, dest any, q string, args ...any) error {
	st, err := s.prepare(ctx, q)
	if err != nil {
		return err
	}
	return st.GetContext(ctx, dest, args...)
}

// Open connects to the PostgreSQL database at databaseURL (a postgres:// URL
// or a key=value connection string), applies the pool limits above and pings
// the server, so a bad URL or an unreachable server fails here rather than on
// the first query. It does not migrate; see Migrate.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	db, err := sqlx.Open(driverName, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: open database: %w", err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxLifetime(connMaxLifetime)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	return &Store{db: db}, nil
}

// New wraps an existing connection pool; the caller keeps ownership of its
// settings. Close closes it.
func New(db *sqlx.DB) *Store {
	return &Store{db: db}
}

// DB returns the underlying pool, for migrations and health checks.
func (s *Store) DB() *sqlx.DB {
	return s.db
}

// Close closes the connection pool.
func (s *Store) Close() error {
	return s.db.Close()
}

// WithTx runs fn in a transaction, committing when fn returns nil and rolling
// back when it returns an error or panics. Driver errors returned by fn or by
// the commit are mapped to the sentinel errors like every other store error,
// so callers can test them with errors.Is.
func (s *Store) WithTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return withTx(ctx, s.db, nil, fn)
}

// readOnly is the isolation used by reads that span several statements: one
// snapshot, so a request's row, stages and responses always come from the
// same recorded state.
var readOnly = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

func withTx(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return mapError(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapError(err))
	}
	return nil
}

// namedGet runs a query with :name parameters bound from arg (a struct with
// db tags or a map) and scans its single row into dest.
func namedGet(ctx context.Context, e sqlx.ExtContext, dest any, q string, arg any) error {
	query, args, err := e.BindNamed(q, arg)
	if err != nil {
		return err
	}
	return sqlx.GetContext(ctx, e, dest, query, args...)
}

// rowsAffected returns how many rows a statement changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
