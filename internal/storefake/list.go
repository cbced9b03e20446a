package storefake

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/countersign/countersign/store"
)

// sortField is one field a list may be ordered by. null, when set, says
// a row has no value there; such rows sort last in both directions.
type sortField[T any] struct {
	name string
	cmp  func(a, b T) int
	null func(T) bool
}

// sortFields is a list's whitelist; its first field is the unique id.
type sortFields[T any] []sortField[T]

type term[T any] struct {
	f    sortField[T]
	desc bool
}

// page validates opts as the store does (same messages) and returns the
// page of rows and how many rows there are.
func page[T any](op string, rows []T, fields sortFields[T], opts store.ListOptions) ([]T, int, error) {
	size := opts.PageSize
	switch {
	case size == 0:
		size = store.DefaultPageSize
	case size < 0 || size > store.MaxPageSize:
		return nil, 0, listError(op, "page size %d: choose 1 to %d", opts.PageSize, store.MaxPageSize)
	}
	n := opts.Page
	switch {
	case n == 0:
		n = 1
	case n < 0 || n-1 > math.MaxInt32/size:
		return nil, 0, listError(op, "page %d does not exist", opts.Page)
	}
	var (
		terms    []term[T]
		seenID   bool
		lastDesc bool
	)
	for _, entry := range opts.OrderBy {
		for name := range strings.SplitSeq(entry, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			desc := strings.HasPrefix(name, "-")
			i := slices.IndexFunc(fields, func(f sortField[T]) bool { return f.name == strings.TrimPrefix(name, "-") })
			if i < 0 {
				return nil, 0, listError(op, "cannot order by %q: choose from %s", name, fields.names())
			}
			seenID = seenID || i == 0
			lastDesc = desc
			terms = append(terms, term[T]{fields[i], desc})
		}
	}
	if !seenID {
		terms = append(terms, term[T]{fields[0], lastDesc})
	}
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(a, b T) int {
		for _, t := range terms {
			if t.f.null != nil {
				an, bn := t.f.null(a), t.f.null(b)
				switch {
				case an && bn:
					continue
				case an:
					return 1
				case bn:
					return -1
				}
			}
			c := t.f.cmp(a, b)
			if t.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	offset := (n - 1) * size
	if offset >= len(sorted) {
		return []T{}, len(sorted), nil
	}
	return sorted[offset:min(offset+size, len(sorted))], len(sorted), nil
}

func (fs sortFields[T]) names() string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

func listError(op, format string, args ...any) error {
	return fmt.Errorf("store: %s: %w", op, &store.ListError{Message: fmt.Sprintf(format, args...)})
}

// Comparators for the fields of lists.
func byValue[T any, N cmp.Ordered](get func(T) N) func(a, b T) int {
	return func(a, b T) int { return cmp.Compare(get(a), get(b)) }
}

func byTime[T any](get func(T) time.Time) func(a, b T) int {
	return func(a, b T) int { return get(a).Compare(get(b)) }
}

func byTimePtr[T any](get func(T) *time.Time) (func(a, b T) int, func(T) bool) {
	return func(a, b T) int { return get(a).Compare(*get(b)) },
		func(r T) bool { return get(r) == nil }
}

// inIDs is a filter on a set of ids: nil keeps all, empty keeps none.
func inIDs(ids []int64, id int64) bool {
	return ids == nil || slices.Contains(ids, id)
}

// containsFold is ILIKE '%s%' with the wildcards of s taken literally.
func containsFold(text, s string) bool {
	return strings.Contains(strings.ToLower(text), strings.ToLower(s))
}
