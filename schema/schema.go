// Package schema holds Countersign's PostgreSQL schema as numbered
// migrations, NNNN_title.up.sql and NNNN_title.down.sql, embedded in the
// binary and applied by store.Migrate.
//
// Migrations are append-only once they have landed: change the schema by
// adding a new pair, never by editing an old one, because databases that
// already applied the old text will never see the edit. Every up has a down
// that undoes exactly it. Each file runs inside one transaction, so it must
// not contain BEGIN/COMMIT or statements that refuse transactions (such as
// CREATE INDEX CONCURRENTLY).
package schema

import "embed"

// FS holds every migration file at its root.
//
//go:embed *.sql
var FS embed.FS
