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
