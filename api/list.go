package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

const (
	defaultPageSize = 25
	maxPageSize     = 200
)

// reserved query parameters of every list.
var reserved = map[string]bool{"page": true, "page_size": true, "order_by": true, "order": true}

// listQuery reads AWX-style pagination and ordering, and refuses query
// parameters that are not among filters (AWX answers 400 for unknown
// fields rather than ignoring them).
func listQuery(c *gin.Context, filters ...string) (store.ListOptions, error) {
	q := c.Request.URL.Query()
	known := map[string]bool{}
	for _, f := range filters {
		known[f] = true
	}
	for key := range q {
		if !reserved[key] && !known[key] {
			if len(filters) == 0 {
				return store.ListOptions{}, badRequest("Unknown filter " + strconv.Quote(key) + "; this list takes no filters.")
			}
			return store.ListOptions{}, badRequest("Unknown filter " + strconv.Quote(key) + "; filters here: " + strings.Join(filters, ", ") + ".")
		}
	}
	opts := store.ListOptions{Page: 1, PageSize: defaultPageSize}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return opts, badRequest("Invalid page: " + strconv.Quote(v) + ".")
		}
		opts.Page = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return opts, badRequest("Invalid page_size: " + strconv.Quote(v) + ".")
		}
		opts.PageSize = min(n, maxPageSize)
	}
	order := q.Get("order_by")
	if order == "" {
		order = q.Get("order")
	}
	if order != "" {
		opts.OrderBy = strings.Split(order, ",")
	}
	return opts, nil
}

// errPastLastPage is AWX's answer for a page past the end of a list.
var errPastLastPage = refuse(missing, "Invalid page.")

// page answers a page of a list (see writePage), the error included.
func page[T any](c *gin.Context, opts store.ListOptions, total int, results []T) {
	if err := writePage(c, opts, total, results); err != nil {
		_ = c.Error(err)
	}
}

// writePage answers the page opts asks for of a list of total objects,
// results; a page past the end is errPastLastPage.
func writePage[T any](c *gin.Context, opts store.ListOptions, total int, results []T) error {
	if opts.Page > 1 && (opts.Page-1)*opts.PageSize >= total {
		return errPastLastPage
	}
	body := Page[T]{Count: total, Results: results}
	if results == nil {
		body.Results = []T{}
	}
	if opts.Page*opts.PageSize < total {
		next := pageURL(c.Request.URL, opts.Page+1)
		body.Next = &next
	}
	if opts.Page > 1 {
		previous := pageURL(c.Request.URL, opts.Page-1)
		body.Previous = &previous
	}
	c.Render(http.StatusOK, encodedJSON{body})
	return nil
}

// encodedJSON renders like gin's JSON through a json.Encoder, which
// reuses its buffers between calls: gin's JSON marshals into a new slice
// grown to the body's size on every call, the largest allocation of a
// page of 25 requests.
type encodedJSON struct{ v any }

func (r encodedJSON) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return json.NewEncoder(w).Encode(r.v)
}

func (encodedJSON) WriteContentType(w http.ResponseWriter) {
	w.Header()["Content-Type"] = []string{"application/json; charset=utf-8"}
}

func pageURL(u *url.URL, n int) string {
	q := u.Query()
	q.Set("page", strconv.Itoa(n))
	return u.Path + "?" + q.Encode()
}

// boolParam reads a true/false/1/0 filter (nil when absent).
func boolParam(c *gin.Context, name string) (*bool, error) {
	v, ok := c.GetQuery(name)
	if !ok {
		return nil, nil
	}
	switch strings.ToLower(v) {
	case "true", "1":
		b := true
		return &b, nil
	case "false", "0":
		b := false
		return &b, nil
	}
	return nil, badRequest("Invalid " + name + ": " + strconv.Quote(v) + "; use true or false.")
}

// idParam reads an integer id filter (nil when absent).
func idParam(c *gin.Context, name string) (*int64, error) {
	v, ok := c.GetQuery(name)
	if !ok {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return nil, badRequest("Invalid " + name + ": " + strconv.Quote(v) + ".")
	}
	return &id, nil
}

// pathID reads the {id} of the path; a malformed one is a 404, as for an
// object that does not exist.
func pathID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errNotFound
	}
	return id, nil
}

// loadFor loads the object of the path with get and checks that the caller
// may do a to it, as object describes it.
func loadFor[T any](c *gin.Context, a access.Action, get func(context.Context, int64) (T, error), object func(T) access.Object) (T, error) {
	var zero T
	id, err := pathID(c)
	if err != nil {
		return zero, err
	}
	v, err := get(c.Request.Context(), id)
	if err != nil {
		return v, err
	}
	return v, access.Check(caller(c), a, object(v))
}
