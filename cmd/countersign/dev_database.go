package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/store"
)

// devMarker is the comment (COMMENT ON DATABASE) by which `countersign dev`
// recognises a database it prepared. It cannot be mistaken for another
// database's mark: nothing but dev writes a database comment (no migration,
// no other command), the whole sentence must match, a comment belongs to one
// database (CREATE DATABASE ... TEMPLATE and pg_dump without --create do
// not copy it), and only the database's owner can set it.
const devMarker = "countersign dev: demo data, users with well-known dev tokens (dev-admin is a superuser); for development only"

// errForeignDatabase is the refusal of a database dev did not prepare.
var errForeignDatabase = errors.New("DATABASE_URL names a database that countersign dev did not prepare: dev seeds a superuser `admin` " +
	"whose token (dev-admin) everyone knows. Unset DATABASE_URL to use a local cluster in --data-dir, or pass --allow-database-url " +
	"(DEV_ALLOW_DATABASE_URL=true) if this database may hold demo data")

// prepareDevDatabase checks that the database at databaseURL is dev's
// before it migrates it and seeds the demo data: one dev created (ours), one
// with devMarker, or any when allow is set. It marks the database when it
// has no comment yet, so the next run recognises it. It returns the demo
// catalog and the largest AWX job id requests own.
func prepareDevDatabase(ctx context.Context, databaseURL string, ours, allow bool, logger *slog.Logger) (demo.Catalog, int64, error) {
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return demo.Catalog{}, 0, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer st.Close()
	comment, err := st.DatabaseComment(ctx)
	if err != nil {
		return demo.Catalog{}, 0, err
	}
	switch {
	case comment == devMarker:
	case !ours && !allow:
		return demo.Catalog{}, 0, errForeignDatabase
	case comment != "":
		// Someone else's comment: kept, so --allow-database-url stays needed.
		logger.Warn("the database has a comment of its own, kept: countersign dev will need --allow-database-url again next time")
	default:
		if err := st.SetDatabaseComment(ctx, devMarker); err != nil {
			if ours {
				return demo.Catalog{}, 0, err
			}
			logger.Warn("cannot mark the database as countersign dev's (only its owner may); --allow-database-url will be needed again next time", "error", err)
		}
	}
	if _, err := store.Migrate(ctx, st.DB()); err != nil {
		return demo.Catalog{}, 0, err
	}
	_, catalog, err := demo.Seed(ctx, st)
	if err != nil {
		return demo.Catalog{}, 0, err
	}
	// The simulator forgets its jobs when it stops; its new ones must not
	// take the ids of jobs that requests already own.
	lastJob, err := st.MaxJobID(ctx)
	if err != nil {
		return demo.Catalog{}, 0, err
	}
	return catalog, lastJob, nil
}
