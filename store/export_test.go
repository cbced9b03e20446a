package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The approval inbox's and the reconciler's SQL, for the tests that
// EXPLAIN them.
const (
	PendingForQuery      = pendingForQuery
	PendingForCountQuery = pendingForCountQuery
	UnsettledQuery       = unsettledQuery
)

// ExplainListRequests returns PostgreSQL's plans for exactly the page and
// count queries ListRequests sends for f and opts.
func (s *Store) ExplainListRequests(ctx context.Context, f RequestFilter, opts ListOptions) (page, count string, err error) {
	q, qArgs, qCount, countArgs, err := listRequestsSQL(s.db, f, opts)
	if err != nil {
		return "", "", err
	}
	if page, err = s.explain(ctx, q, qArgs...); err != nil {
		return "", "", err
	}
	count, err = s.explain(ctx, qCount, countArgs...)
	return page, count, err
}

// ExplainListPendingForPage returns the plan of ListPendingForPage's page
// query for username and opts.
func (s *Store) ExplainListPendingForPage(ctx context.Context, username string, opts ListOptions) (string, error) {
	q, err := pendingForPageSQL(username, opts)
	if err != nil {
		return "", err
	}
	return s.explain(ctx, q.text, q.args...)
}

// ExplainGenericListPendingForPage returns the generic plan of
// ListPendingForPage's page query: the plan a prepared statement settles
// on, made without the parameters' values.
func (s *Store) ExplainGenericListPendingForPage(ctx context.Context, username string, opts ListOptions) (string, error) {
	q, err := pendingForPageSQL(username, opts)
	if err != nil {
		return "", err
	}
	// EXECUTE takes no parameters of its own: the arguments go in its text.
	args := make([]string, len(q.args))
	for i, a := range q.args {
		if str, ok := a.(string); ok {
			args[i] = pq.QuoteLiteral(str)
		} else {
			args[i] = fmt.Sprint(a)
		}
	}
	var plan []string
	err = withTx(ctx, s.db, readOnly, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `PREPARE generic_inbox_page AS `+q.text); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &plan, `EXPLAIN EXECUTE generic_inbox_page(`+strings.Join(args, ", ")+`)`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DEALLOCATE generic_inbox_page`)
		return err
	})
	return strings.Join(plan, "\n"), err
}

func (s *Store) explain(ctx context.Context, q string, args ...any) (string, error) {
	var plan []string
	if err := s.db.SelectContext(ctx, &plan, "EXPLAIN "+q, args...); err != nil {
		return "", err
	}
	return strings.Join(plan, "\n"), nil
}

// PreparedStatements counts the statements the store prepared for its pool.
func (s *Store) PreparedStatements() int {
	n := 0
	s.prepared.Range(func(any, any) bool { n++; return true })
	return n
}

// RequestColumnsQuery selects requestColumns; no row.
const RequestColumnsQuery = `SELECT ` + requestColumns + ` FROM service_requests LIMIT 0`

// RequestScanColumns names, in order, the columns scanRequests scans a
// request's row into: the db tag of the field each scan target points to.
func RequestScanColumns() []string {
	var r requestRow
	v := reflect.ValueOf(&r).Elem()
	var names []string
	for _, target := range r.scanTargets() {
		name := "?"
		for i := range v.NumField() {
			if v.Field(i).Addr().Interface() == target {
				name = v.Type().Field(i).Tag.Get("db")
			}
		}
		names = append(names, name)
	}
	return names
}
