package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// requestStatuses are the statuses the schema allows, in lifecycle order.
var requestStatuses = []string{
	"pending_approval", "approved", "running", "successful",
	"failed", "rejected", "expired", "canceled", "changes_requested",
}

// RequestFilter narrows ListRequests; the zero value lists every request.
type RequestFilter struct {
	RequesterID *int64
	// Status keeps requests in any of these statuses; empty means any. An
	// unknown status is ErrInvalid.
	Status        []string
	CatalogItemID *int64
	// RequesterUsername matches exactly.
	RequesterUsername string
	// OrganizationIDs restricts the list to requests of these
	// organizations: nil means no restriction, an empty slice means none.
	OrganizationIDs []int64
	// Visibility restricts the list to what one user may see (SPEC 5);
	// nil means everything, as for a superuser.
	Visibility *RequestVisibility
	// Undecided, when set, leaves out the requests this user submitted or
	// already approved or rejected: what is left is what they could still
	// decide (a superuser's inbox).
	Undecided *UserRef
}

// UserRef names a user by id and username.
type UserRef struct {
	ID       int64
	Username string
}

// RequestVisibility is who is looking at requests. They see the requests
// they submitted (UserID), every request of the organizations they
// administer (AdminOrgIDs), the requests they were asked about (Username
// among the participants: approvers of an opened stage, people notified)
// and the requests they approved or rejected.
type RequestVisibility struct {
	UserID      int64
	Username    string
	AdminOrgIDs []int64
}

var requestSort = sortFields{
	{name: "id", column: "id"}, {name: "created", column: "created"},
	{name: "modified", column: "modified"}, {name: "status", column: "status"},
	{name: "finished", column: "finished", nullsLast: true},
}

// requestsWhere is ListRequests' FROM and WHERE. Every filter is written
// so that an unset one folds away when PostgreSQL plans the query with its
// parameters, leaving only conditions the indexes serve. The visibility
// arms are a plain OR of indexed conditions so that they combine as a
// BitmapOr: the requester and organization indexes and the GIN index of
// participants (who may decide now, who decided and who was ever asked are
// all participants).
const requestsWhere = ` FROM service_requests
	WHERE (CAST(:requester_id AS bigint) IS NULL OR requester_id = :requester_id)
		AND (CAST(:statuses AS text[]) IS NULL OR status = ANY(:statuses))
		AND (CAST(:catalog_item_id AS bigint) IS NULL OR catalog_item_id = :catalog_item_id)
		AND (:requester_username = '' OR requester_username = :requester_username)
		AND (CAST(:org_ids AS bigint[]) IS NULL OR organization_id = ANY(:org_ids))
		AND (NOT CAST(:restricted AS boolean)
			OR requester_id = :viewer_id
			OR organization_id = ANY(:viewer_admin_orgs)
			OR participants @> ARRAY[CAST(:viewer AS text)])
		AND (CAST(:undecided_id AS bigint) IS NULL OR (requester_id <> :undecided_id
			AND NOT EXISTS (SELECT 1 FROM service_request_responses u
				WHERE u.request_id = service_requests.id AND u.username = :undecided
					AND u.kind IN ('approve', 'reject'))))`

// listRequestsSQL returns ListRequests' page and count queries, bound.
func listRequestsSQL(e sqlx.ExtContext, f RequestFilter, opts ListOptions) (q string, qArgs []any, qCount string, countArgs []any, err error) {
	p, err := opts.resolve(requestSort)
	if err != nil {
		return "", nil, "", nil, err
	}
	for _, st := range f.Status {
		if !slices.Contains(requestStatuses, st) {
			return "", nil, "", nil, fmt.Errorf("%w: unknown status %q: choose from %s",
				ErrInvalid, st, strings.Join(requestStatuses, ", "))
		}
	}
	arg := p.args(map[string]any{
		"requester_id":       f.RequesterID,
		"statuses":           nil,
		"catalog_item_id":    f.CatalogItemID,
		"requester_username": f.RequesterUsername,
		"org_ids":            pq.Int64Array(f.OrganizationIDs),
		"restricted":         f.Visibility != nil,
		"viewer_id":          nil,
		"viewer_admin_orgs":  nil,
		"viewer":             nil,
		"undecided_id":       nil,
		"undecided":          "",
	})
	if u := f.Undecided; u != nil {
		arg["undecided_id"], arg["undecided"] = u.ID, u.Username
	}
	if len(f.Status) > 0 {
		arg["statuses"] = pq.StringArray(f.Status)
	}
	if v := f.Visibility; v != nil {
		arg["viewer_id"] = v.UserID
		arg["viewer_admin_orgs"] = pq.Int64Array(nonNil(v.AdminOrgIDs))
		arg["viewer"] = v.Username
	}
	const (
		qPage  = `SELECT ` + requestColumns + requestsWhere + ` ORDER BY `
		qTotal = `SELECT count(*)` + requestsWhere
	)
	if q, qArgs, err = e.BindNamed(qPage+p.orderBy+pageClause, arg); err != nil {
		return "", nil, "", nil, err
	}
	if qCount, countArgs, err = e.BindNamed(qTotal, arg); err != nil {
		return "", nil, "", nil, err
	}
	return q, qArgs, qCount, countArgs, nil
}

// ListRequests returns a page of requests matching f and how many match in
// all, without stages or responses. Sortable: id, created, modified,
// status, finished. ErrInvalid for bad ListOptions or an unknown status.
func (s *Store) ListRequests(ctx context.Context, f RequestFilter, opts ListOptions) ([]Request, int, error) {
	q, qArgs, qCount, countArgs, err := listRequestsSQL(s.db, f, opts)
	if err != nil {
		return nil, 0, wrap("list requests", err)
	}
	var (
		page  []Request
		total int
	)
	err = withTx(ctx, s.db, readOnly, func(tx *sqlx.Tx) error {
		rows, err := tx.QueryContext(ctx, q, qArgs...)
		if err != nil {
			return err
		}
		if page, err = scanRequests(rows, cmp.Or(opts.PageSize, DefaultPageSize)); err != nil {
			return err
		}
		return tx.GetContext(ctx, &total, qCount, countArgs...)
	})
	if err != nil {
		return nil, 0, wrap("list requests", err)
	}
	return page, total, nil
}

// pendingForPageSQL is ListPendingForPage's page query: the inbox query of
// ListPendingFor with the order chosen from the whitelist.
//
// Orders by one field (and id) run prepared statements, at most twice as
// many texts as sortable fields; longer orders, which a caller can vary
// without end, are planned on each call so that they cannot fill the
// store's statements. The first page in the default size, which is what
// an inbox shows, bears its bounds in its text: PostgreSQL then settles on
// a generic plan and stops planning it, whereas with a LIMIT or OFFSET
// parameter it expects a generic plan to read a tenth of the inbox and
// plans every call anew (0.3 ms, more than running it). Pages in the order
// of ids (the default) read their ids from the inbox's index alone
// (pendingByIDSelect).
func pendingForPageSQL(username string, opts ListOptions) (pendingQuery, error) {
	p, err := opts.resolve(requestSort)
	if err != nil {
		return pendingQuery{}, err
	}
	q := pendingQuery{limit: p.limit, offset: p.offset, prepared: strings.Count(p.orderBy, ",") <= 1}
	bounds := ` LIMIT $2 OFFSET $3`
	q.args = []any{username, p.limit, p.offset}
	if p.limit == DefaultPageSize && p.offset == 0 {
		bounds = ` LIMIT ` + strconv.Itoa(DefaultPageSize)
		q.args = q.args[:1]
	}
	if dir, byID := strings.CutPrefix(p.orderBy, "id"); byID && (dir == "" || dir == " DESC") {
		q.text = pendingByIDSelect + dir + bounds + pendingByIDJoin + dir
	} else {
		q.text = `SELECT ` + pendingForTotal + requestColumns + pendingForFrom + `
			ORDER BY ` + p.orderBy + bounds
	}
	return q, nil
}

// ListPendingForPage is ListPendingFor paged and ordered like every other
// list: username's approval inbox and its size. Sortable as ListRequests;
// ErrInvalid for bad ListOptions.
func (s *Store) ListPendingForPage(ctx context.Context, username string, opts ListOptions) ([]Request, int, error) {
	q, err := pendingForPageSQL(username, opts)
	if err != nil {
		return nil, 0, wrap("list pending approvals", err)
	}
	return s.pendingPage(ctx, q, username)
}
