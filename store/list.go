package store

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Paging limits shared by every list (SPEC 5: page_size ≤ 200).
const (
	DefaultPageSize = 25
	MaxPageSize     = 200
)

// ListOptions selects one page of a list and its order, like AWX's page,
// page_size and order_by parameters. The zero value is the first page of
// DefaultPageSize items by id.
type ListOptions struct {
	// Page is 1-based; 0 means 1. A page beyond the end is empty, and the
	// total still counts every match.
	Page int
	// PageSize is 1..MaxPageSize; 0 means DefaultPageSize.
	PageSize int
	// OrderBy lists sortable field names, most significant first; "-name"
	// sorts descending. An entry may also hold several comma-separated
	// names, as AWX's order_by does. Each list documents its fields; an
	// unknown one is ErrInvalid. Ties are always broken by id (in the
	// direction of the last field), so pages never overlap.
	OrderBy []string
}

// ListError is ErrInvalid for list options a caller sent; its Message is
// meant for that caller.
type ListError struct{ Message string }

func (e *ListError) Error() string { return "invalid value: " + e.Message }

// Is makes a ListError an ErrInvalid.
func (e *ListError) Is(target error) bool { return target == ErrInvalid }

// sortField maps a field name callers may order by to the SQL expression
// it sorts. Only these expressions ever reach ORDER BY.
type sortField struct {
	name   string
	column string
	// nullsLast keeps rows without a value at the end in both directions
	// (PostgreSQL puts NULLs first when descending).
	nullsLast bool
}

// sortFields is a list's whitelist; its first field must be the unique id,
// which breaks ties.
type sortFields []sortField

// pageSpec is a validated ListOptions: an ORDER BY clause built only from
// the whitelist, and the bounds of the page.
type pageSpec struct {
	orderBy string
	limit   int
	offset  int
}

// resolve validates o against a list's sortable fields.
func (o ListOptions) resolve(fields sortFields) (pageSpec, error) {
	size := o.PageSize
	switch {
	case size == 0:
		size = DefaultPageSize
	case size < 0 || size > MaxPageSize:
		return pageSpec{}, &ListError{fmt.Sprintf("page size %d: choose 1 to %d", o.PageSize, MaxPageSize)}
	}
	page := o.Page
	switch {
	case page == 0:
		page = 1
	case page < 0 || page-1 > math.MaxInt32/size:
		return pageSpec{}, &ListError{fmt.Sprintf("page %d does not exist", o.Page)}
	}

	var (
		terms    []string
		seenID   bool
		lastDesc bool
	)
	for _, entry := range o.OrderBy {
		for name := range strings.SplitSeq(entry, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			desc := strings.HasPrefix(name, "-")
			f, ok := fields.find(strings.TrimPrefix(name, "-"))
			if !ok {
				return pageSpec{}, &ListError{fmt.Sprintf("cannot order by %q: choose from %s", name, fields.names())}
			}
			seenID = seenID || f.name == fields[0].name
			lastDesc = desc
			terms = append(terms, f.term(desc))
		}
	}
	if !seenID {
		// In the direction of the last field, so that an index on
		// (field, id) serves "-field" with a plain backward scan.
		terms = append(terms, fields[0].term(lastDesc))
	}
	return pageSpec{orderBy: strings.Join(terms, ", "), limit: size, offset: (page - 1) * size}, nil
}

func (fs sortFields) find(name string) (sortField, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return sortField{}, false
}

func (fs sortFields) names() string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

func (f sortField) term(desc bool) string {
	t := f.column
	if desc {
		t += " DESC"
	}
	if f.nullsLast {
		t += " NULLS LAST"
	}
	return t
}

// args adds the page bounds to a query's named arguments.
func (p pageSpec) args(arg map[string]any) map[string]any {
	arg["limit"] = p.limit
	arg["offset"] = p.offset
	return arg
}

// selectPage runs a list's page query and its count query in one snapshot,
// so the page and the total agree. Both take named arguments from arg; the
// page query also :limit and :offset.
func selectPage(ctx context.Context, db *sqlx.DB, rows any, q string, count any, qCount string, arg map[string]any) error {
	return withTx(ctx, db, readOnly, func(tx *sqlx.Tx) error {
		if err := namedSelect(ctx, tx, rows, q, arg); err != nil {
			return err
		}
		return namedGet(ctx, tx, count, qCount, arg)
	})
}

// namedSelect is namedGet for many rows.
func namedSelect(ctx context.Context, e sqlx.ExtContext, dest any, q string, arg any) error {
	query, args, err := e.BindNamed(q, arg)
	if err != nil {
		return err
	}
	return sqlx.SelectContext(ctx, e, dest, query, args...)
}

// containsPattern is an ILIKE pattern matching s anywhere, with LIKE's
// wildcards in s taken literally.
func containsPattern(s string) string {
	return "%" + likeEscaper.Replace(s) + "%"
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
