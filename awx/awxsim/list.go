package awxsim

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	defaultPageSize = 25
	maxPageSize     = 200 // AWX's MAX_PAGE_SIZE; larger requests are capped
)

// reservedParams are query parameters AWX never treats as field filters.
var reservedParams = map[string]bool{
	"page": true, "page_size": true, "format": true, "order": true, "order_by": true, "search": true,
	"type": true, "host_filter": true, "count_disabled": true, "no_truncate": true, "limit": true,
}

// preventSearch are AWX's prevent_search fields: filtering on them is a 403,
// which is why a client cannot find a job by its extra_vars.
var preventSearch = map[string]bool{
	"extra_vars": true, "job_args": true, "job_env": true, "start_args": true, "survey_passwords": true, "survey_spec": true,
}

var lookups = map[string]bool{
	"exact": true, "iexact": true, "contains": true, "icontains": true, "startswith": true, "istartswith": true,
	"endswith": true, "iendswith": true, "regex": true, "iregex": true, "gt": true, "gte": true, "lt": true,
	"lte": true, "isnull": true, "in": true,
}

type fieldType int

const (
	intField fieldType = iota
	stringField
	timeField
	boolField
)

// field is a filterable attribute of T. get returns no value for null and
// several for a many-to-many relation (which matches if any value does).
type field[T any] struct {
	typ   fieldType
	multi bool
	get   func(T) []any
}

// listSpec describes how the list view of one model filters and sorts.
type listSpec[T any] struct {
	model  string // Django model name, used in error messages
	fields map[string]field[T]
	search func(T) []string // fields ?search= looks at
}

// filter applies the query's field filters, ?search= and the not__/or__/
// chain__ prefixes. Repeated filters must all match; or__ filters form one
// group of which one must match.
func (ls listSpec[T]) filter(items []T, q url.Values) ([]T, *apiError) {
	var and, or []func(T) bool
	for key, values := range q {
		if reservedParams[key] {
			continue
		}
		name, negate, isOr := key, false, false
	prefixes:
		for {
			switch {
			case strings.HasPrefix(name, "not__"):
				name, negate = strings.TrimPrefix(name, "not__"), !negate
			case strings.HasPrefix(name, "or__"):
				name, isOr = strings.TrimPrefix(name, "or__"), true
			case strings.HasPrefix(name, "chain__"):
				name = strings.TrimPrefix(name, "chain__")
			default:
				break prefixes
			}
		}
		parts := strings.Split(name, "__")
		if preventSearch[parts[0]] {
			return nil, detailError(http.StatusForbidden, fmt.Sprintf("Filtering on %s is not allowed.", parts[0]))
		}
		lookup := "exact"
		if len(parts) > 1 && lookups[parts[len(parts)-1]] {
			lookup, parts = parts[len(parts)-1], parts[:len(parts)-1]
		}
		fname := strings.Join(parts, "__")
		f, ok := ls.fields[fname]
		if !ok {
			return nil, detailError(http.StatusBadRequest, fmt.Sprintf("%s has no field named '%s'", ls.model, fname))
		}
		for _, raw := range values {
			pred, err := f.predicate(fname, lookup, raw)
			if err != nil {
				return nil, err
			}
			if negate {
				inner := pred
				pred = func(v T) bool { return !inner(v) }
			}
			if isOr {
				or = append(or, pred)
			} else {
				and = append(and, pred)
			}
		}
	}
	if terms := q.Get("search"); terms != "" && ls.search != nil {
		for _, term := range strings.Split(terms, ",") {
			term = strings.ToLower(strings.TrimSpace(term))
			and = append(and, func(v T) bool {
				for _, s := range ls.search(v) {
					if strings.Contains(strings.ToLower(s), term) {
						return true
					}
				}
				return false
			})
		}
	}
	out := items[:0:0]
	for _, it := range items {
		if matchAll(it, and) && (len(or) == 0 || matchAny(it, or)) {
			out = append(out, it)
		}
	}
	return out, nil
}

func matchAll[T any](v T, preds []func(T) bool) bool {
	for _, p := range preds {
		if !p(v) {
			return false
		}
	}
	return true
}

func matchAny[T any](v T, preds []func(T) bool) bool {
	for _, p := range preds {
		if p(v) {
			return true
		}
	}
	return false
}

// predicate compiles one filter. Values are parsed up front so that a bad
// value is a 400 even when no object would be compared.
func (f field[T]) predicate(name, lookup, raw string) (func(T) bool, *apiError) {
	if lookup == "isnull" {
		want, err := parseBool(raw)
		if err != nil {
			return nil, err
		}
		return func(v T) bool { return (len(f.get(v)) == 0) == want }, nil
	}
	if lookup == "exact" && (raw == "None" || raw == "null") {
		return func(v T) bool { return len(f.get(v)) == 0 }, nil
	}
	var match func(any) bool
	switch lookup {
	case "exact", "gt", "gte", "lt", "lte":
		want, err := f.parse(name, raw)
		if err != nil {
			return nil, err
		}
		match = func(have any) bool {
			c := compare(have, want)
			switch lookup {
			case "gt":
				return c > 0
			case "gte":
				return c >= 0
			case "lt":
				return c < 0
			case "lte":
				return c <= 0
			}
			return c == 0
		}
	case "in":
		var wants []any
		for _, item := range strings.Split(raw, ",") {
			want, err := f.parse(name, item)
			if err != nil {
				return nil, err
			}
			wants = append(wants, want)
		}
		match = func(have any) bool {
			for _, want := range wants {
				if compare(have, want) == 0 {
					return true
				}
			}
			return false
		}
	case "regex", "iregex":
		expr := raw
		if lookup == "iregex" {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, detailError(http.StatusBadRequest, fmt.Sprintf("invalid regular expression: %v", err))
		}
		match = func(have any) bool { return re.MatchString(valueString(have)) }
	default: // the string lookups
		fold := strings.HasPrefix(lookup, "i")
		want := raw
		if fold {
			want = strings.ToLower(raw)
		}
		op := strings.TrimPrefix(lookup, "i")
		match = func(have any) bool {
			s := valueString(have)
			if fold {
				s = strings.ToLower(s)
			}
			switch op {
			case "exact":
				return s == want
			case "contains":
				return strings.Contains(s, want)
			case "startswith":
				return strings.HasPrefix(s, want)
			}
			return strings.HasSuffix(s, want)
		}
	}
	return func(v T) bool {
		for _, have := range f.get(v) {
			if match(have) {
				return true
			}
		}
		return false
	}, nil
}

// parse converts a query value to the field's type, with Django's messages.
func (f field[T]) parse(name, raw string) (any, *apiError) {
	switch f.typ {
	case intField:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return nil, detailError(http.StatusBadRequest, fmt.Sprintf("Field '%s' expected a number but got '%s'.", name, raw))
		}
		return n, nil
	case timeField:
		t, ok := parseTime(raw)
		if !ok {
			return nil, detailError(http.StatusBadRequest, fmt.Sprintf("“%s” value has an invalid format. It must be in YYYY-MM-DD HH:MM[:ss[.uuuuuu]][TZ] format.", raw))
		}
		return t, nil
	case boolField:
		b, err := parseBool(raw)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return raw, nil
}

func parseBool(raw string) (bool, *apiError) {
	switch strings.ToLower(raw) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, detailError(http.StatusBadRequest, fmt.Sprintf("“%s” value must be either True or False.", raw))
}

// parseTime accepts what Django accepts for a datetime filter. A "+" of a
// time zone that was not URL-encoded arrives as a space and is restored.
func parseTime(raw string) (time.Time, bool) {
	raw = strings.TrimSpace(raw)
	if i := strings.LastIndexByte(raw, ' '); i > 10 {
		raw = raw[:i] + "+" + raw[i+1:]
	}
	raw = strings.Replace(raw, " ", "T", 1)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, raw); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func valueString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return timestamp(x)
	}
	return fmt.Sprint(v)
}

// compare orders two values of one field type.
func compare(a, b any) int {
	switch x := a.(type) {
	case int64:
		y, _ := b.(int64)
		return cmpOrdered(x, y)
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case float64:
		y, _ := b.(float64)
		return cmpOrdered(x, y)
	}
	return strings.Compare(valueString(a), valueString(b))
}

func cmpOrdered[V int64 | float64](x, y V) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// order sorts by ?order_by= (or its alias ?order), a comma list of fields
// each optionally prefixed with "-". Without it the list stays in id
// order. Nulls sort as PostgreSQL sorts them: last ascending, first
// descending.
func (ls listSpec[T]) order(items []T, q url.Values) *apiError {
	spec := q.Get("order_by")
	if spec == "" {
		spec = q.Get("order")
	}
	if spec == "" {
		return nil
	}
	type key struct {
		f    field[T]
		desc bool
	}
	var keys []key
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		desc := strings.HasPrefix(part, "-")
		name := strings.TrimPrefix(strings.TrimPrefix(part, "-"), "+")
		f, ok := ls.fields[name]
		if !ok || f.multi {
			return detailError(http.StatusBadRequest, fmt.Sprintf("Cannot resolve keyword '%s' into field.", name))
		}
		keys = append(keys, key{f, desc})
	}
	sort.SliceStable(items, func(i, j int) bool {
		for _, k := range keys {
			a, b := k.f.get(items[i]), k.f.get(items[j])
			var c int
			switch {
			case len(a) == 0 && len(b) == 0:
				c = 0
			case len(a) == 0:
				c = 1
			case len(b) == 0:
				c = -1
			default:
				c = compare(a[0], b[0])
			}
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	return nil
}

// writePage writes DRF's page envelope. next and previous are path and
// query only, with the parameters sorted as DRF's replace_query_param does.
func writePage(w http.ResponseWriter, r *http.Request, results []any) {
	q := r.URL.Query()
	size := defaultPageSize
	if n, err := strconv.Atoi(q.Get("page_size")); err == nil && n > 0 {
		size = min(n, maxPageSize)
	}
	page := 1
	if raw := q.Get("page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			writeDetail(w, http.StatusNotFound, "Invalid page.")
			return
		}
		page = n
	}
	pages := max(1, int(math.Ceil(float64(len(results))/float64(size))))
	if page > pages {
		writeDetail(w, http.StatusNotFound, "Invalid page.")
		return
	}
	link := func(p int) any {
		lq := r.URL.Query()
		if p == 1 {
			lq.Del("page")
		} else {
			lq.Set("page", strconv.Itoa(p))
		}
		if len(lq) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + lq.Encode()
	}
	var next, prev any
	if page < pages {
		next = link(page + 1)
	}
	if page > 1 {
		prev = link(page - 1)
	}
	lo := min((page-1)*size, len(results))
	hi := min(lo+size, len(results))
	pageItems := results[lo:hi]
	if pageItems == nil {
		pageItems = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(results), "next": next, "previous": prev, "results": pageItems})
}

// one wraps a single non-null value for field getters.
func one(v any) []any { return []any{v} }

// idOrNone is a nullable foreign key as a field value.
func idOrNone(id int64) []any {
	if id == 0 {
		return nil
	}
	return []any{id}
}

func timeOrNone(t *time.Time) []any {
	if t == nil {
		return nil
	}
	return []any{*t}
}
