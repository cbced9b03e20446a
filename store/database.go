package store

import (
	"context"
	"fmt"

	"github.com/lib/pq"
)

// CreateDatabase creates database name on the server of st (connected to
// any other database there) unless it exists, and reports whether it did.
func (s *Store) CreateDatabase(ctx context.Context, name string) (bool, error) {
	const exists = `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`
	var found bool
	if err := s.db.GetContext(ctx, &found, exists, name); err != nil {
		return false, mapError(err)
	}
	if found {
		return false, nil
	}
	// CREATE DATABASE takes no parameters; the name is quoted as an
	// identifier instead.
	if _, err := s.db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return false, fmt.Errorf("create database %s: %w", name, mapError(err))
	}
	return true, nil
}

// DatabaseComment returns the comment on the database st is connected to
// (COMMENT ON DATABASE), "" when it has none. Comments are not copied by
// CREATE DATABASE ... TEMPLATE nor restored by pg_dump without --create.
func (s *Store) DatabaseComment(ctx context.Context) (string, error) {
	const q = `SELECT COALESCE(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = current_database()`
	var comment string
	if err := s.db.GetContext(ctx, &comment, q); err != nil {
		return "", mapError(err)
	}
	return comment, nil
}

// SetDatabaseComment sets the comment on the database st is connected to.
// Only its owner (or a superuser) may: others get an error.
func (s *Store) SetDatabaseComment(ctx context.Context, comment string) error {
	var name string
	if err := s.db.GetContext(ctx, &name, `SELECT current_database()`); err != nil {
		return mapError(err)
	}
	// COMMENT takes no parameters: the name is quoted as an identifier and
	// the text as a literal.
	if _, err := s.db.ExecContext(ctx, "COMMENT ON DATABASE "+pq.QuoteIdentifier(name)+" IS "+pq.QuoteLiteral(comment)); err != nil {
		return fmt.Errorf("comment on database %s: %w", name, mapError(err))
	}
	return nil
}
