package store

import (
	"context"
	"strings"
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
	q, p, err := pendingForPageSQL(opts)
	if err != nil {
		return "", err
	}
	return s.explain(ctx, q, username, p.limit, p.offset)
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
