package store

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/countersign/countersign/schema"
)

// migrationLockKey is the pg_advisory_lock key that serialises migrations, so
// replicas that start at the same moment apply each migration exactly once.
// Its value spells "cntrsign" in ASCII.
const migrationLockKey int64 = 0x636e74727369676e

// migration is one NNNN_title pair from the schema.
type migration struct {
	version int64
	name    string // "0002_requests"
	up      string
	down    string
}

var migrationFile = regexp.MustCompile(`^(([0-9]+)_[a-z0-9_]+)\.(up|down)\.sql$`)

// loadMigrations reads and checks the migration files of fsys: every file at
// its root must be NNNN_title.up.sql or .down.sql, each version must have
// exactly one title, one up and one down.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := map[int64]*migration{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not named NNNN_title.up.sql or NNNN_title.down.sql", e.Name())
		}
		version, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || version <= 0 {
			return nil, fmt.Errorf("migration file %q: version must be a positive number", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		mig := byVersion[version]
		if mig == nil {
			mig = &migration{version: version, name: m[1]}
			byVersion[version] = mig
		}
		if mig.name != m[1] {
			return nil, fmt.Errorf("migration version %d has two titles: %s and %s", version, mig.name, m[1])
		}
		if m[3] == "up" {
			mig.up = string(body)
		} else {
			mig.down = string(body)
		}
	}
	migs := make([]migration, 0, len(byVersion))
	for _, mig := range byVersion {
		if mig.up == "" || mig.down == "" {
			return nil, fmt.Errorf("migration %s needs both an .up.sql and a .down.sql file, neither empty", mig.name)
		}
		migs = append(migs, *mig)
	}
	slices.SortFunc(migs, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	return migs, nil
}

// Migrate applies the schema's pending migrations in version order, each in
// its own transaction together with its schema_migrations record, and
// returns the names of those it applied (none when the database is current).
//
// It holds a PostgreSQL advisory lock while it works, so any number of
// processes may call it at once: one applies, the others wait and then find
// nothing to do. It refuses, without changing anything, a database that
// records a migration this binary does not know (ErrSchemaNewer) and one
// where a migration is missing below the newest applied one (migrations are
// append-only, so that database did not come from this history).
func Migrate(ctx context.Context, db *sqlx.DB) (applied []string, err error) {
	return migrate(ctx, db, schema.FS)
}

func migrate(ctx context.Context, db *sqlx.DB, fsys fs.FS) (applied []string, err error) {
	migs, err := loadMigrations(fsys)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	err = withMigrationLock(ctx, db, func(conn *sqlx.Conn) error {
		done, err := appliedVersions(ctx, conn, migs)
		if err != nil {
			return err
		}
		newest := int64(0)
		for v := range done {
			newest = max(newest, v)
		}
		for _, m := range migs {
			if done[m.version] {
				continue
			}
			if m.version < newest {
				return fmt.Errorf("migration %s is not applied but a later one is; migrations are append-only, so this database has a different history", m.name)
			}
			const record = `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`
			if err := runMigration(ctx, conn, m.name, m.up, record, m.version, m.name); err != nil {
				return err
			}
			applied = append(applied, m.name)
		}
		return nil
	})
	if err != nil {
		return applied, fmt.Errorf("store: migrate: %w", err)
	}
	return applied, nil
}

// MigrateDown reverts the newest steps applied migrations, newest first, each
// in its own transaction, and returns the names of those it reverted. Asking
// for more steps than are applied reverts them all. It takes the same lock as
// Migrate and refuses a database newer than this binary (ErrSchemaNewer),
// since it would not know how to revert the unknown migrations.
func MigrateDown(ctx context.Context, db *sqlx.DB, steps int) (reverted []string, err error) {
	if steps < 1 {
		return nil, fmt.Errorf("store: migrate down: steps must be at least 1, got %d", steps)
	}
	migs, err := loadMigrations(schema.FS)
	if err != nil {
		return nil, fmt.Errorf("store: migrate down: %w", err)
	}
	err = withMigrationLock(ctx, db, func(conn *sqlx.Conn) error {
		done, err := appliedVersions(ctx, conn, migs)
		if err != nil {
			return err
		}
		for i := len(migs) - 1; i >= 0 && len(reverted) < steps; i-- {
			m := migs[i]
			if !done[m.version] {
				continue
			}
			const unrecord = `DELETE FROM schema_migrations WHERE version = $1`
			if err := runMigration(ctx, conn, m.name+" (down)", m.down, unrecord, m.version); err != nil {
				return err
			}
			reverted = append(reverted, m.name)
		}
		return nil
	})
	if err != nil {
		return reverted, fmt.Errorf("store: migrate down: %w", err)
	}
	return reverted, nil
}

// withMigrationLock runs fn on one connection holding the migration lock,
// after making sure the bookkeeping table exists. The table is created under
// the lock because concurrent CREATE TABLE IF NOT EXISTS can still collide.
func withMigrationLock(ctx context.Context, db *sqlx.DB, fn func(conn *sqlx.Conn) error) (err error) {
	conn, err := db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()

	const lock = `SELECT pg_advisory_lock($1)`
	if _, err := conn.ExecContext(ctx, lock, migrationLockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx is done: the lock belongs to the session, and
		// a pooled connection that still held it would block every later
		// migration.
		const unlock = `SELECT pg_advisory_unlock($1)`
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), unlock, migrationLockKey); uerr != nil {
			// Discard the connection: closing the session releases the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("release migration lock: %w", uerr))
		}
	}()

	const table = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`
	if _, err := conn.ExecContext(ctx, table); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return fn(conn)
}

// appliedVersions reads schema_migrations and refuses versions that migs does
// not contain.
func appliedVersions(ctx context.Context, conn *sqlx.Conn, migs []migration) (map[int64]bool, error) {
	const q = `SELECT version, name FROM schema_migrations ORDER BY version`
	var rows []struct {
		Version int64  `db:"version"`
		Name    string `db:"name"`
	}
	if err := conn.SelectContext(ctx, &rows, q); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	known := map[int64]bool{}
	latest := int64(0)
	for _, m := range migs {
		known[m.version] = true
		latest = max(latest, m.version)
	}
	done := map[int64]bool{}
	for _, r := range rows {
		if !known[r.Version] {
			return nil, fmt.Errorf("%w: the database has migration %d (%s), this binary knows up to %d; run a newer release",
				ErrSchemaNewer, r.Version, r.Name, latest)
		}
		done[r.Version] = true
	}
	return done, nil
}

// runMigration runs body and the bookkeeping statement in one transaction.
// body may hold several statements: without arguments it is sent with the
// simple query protocol, which accepts them.
func runMigration(ctx context.Context, conn *sqlx.Conn, name, body, bookkeeping string, args ...any) (err error) {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, bookkeeping, args...); err != nil {
		return fmt.Errorf("migration %s: record: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", name, err)
	}
	return nil
}
