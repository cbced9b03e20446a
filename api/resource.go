package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

// kind is what the generic handlers of this file need of one kind of
// object T shown as V: how to load one, how access sees it, and how the
// caller is shown it. Handlers that differ only in these are written once.
type kind[T, V any] struct {
	get    func(context.Context, int64) (T, error)
	object func(T) access.Object
	view   func(access.Principal, T) V
}

// load loads the object of the path and checks that the caller may do a
// to it.
func (k kind[T, V]) load(c *gin.Context, a access.Action) (T, error) {
	return loadFor(c, a, k.get, k.object)
}

// show answers x as the caller sees it.
func (k kind[T, V]) show(c *gin.Context, status int, x T) {
	c.JSON(status, k.view(caller(c), x))
}

// shown is the readOnly part of a body that changes x.
func (k kind[T, V]) shown(c *gin.Context, x T) readOnly {
	return shown(k.view(caller(c), x))
}

// detail answers GET on the object of the path.
func (k kind[T, V]) detail() gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		x, err := k.load(c, access.View)
		if err != nil {
			return err
		}
		k.show(c, http.StatusOK, x)
		return nil
	})
}

// create answers POST on a collection with the object make creates.
func (k kind[T, V]) create(make func(*gin.Context) (T, error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		x, err := make(c)
		if err != nil {
			return err
		}
		k.show(c, http.StatusCreated, x)
		return nil
	})
}

// update answers PATCH on the object of the path, loaded for Update: change
// reads the body (ro is its read-only part) and returns the object as it
// is afterwards, x itself when nothing changes.
func (k kind[T, V]) update(change func(c *gin.Context, x T, ro readOnly) (T, error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		x, err := k.load(c, access.Update)
		if err != nil {
			return err
		}
		if x, err = change(c, x, k.shown(c, x)); err != nil {
			return err
		}
		k.show(c, http.StatusOK, x)
		return nil
	})
}

// remove answers DELETE on the object of the path, loaded for Delete and
// deleted by del.
func (k kind[T, V]) remove(del func(context.Context, T) error) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		x, err := k.load(c, access.Delete)
		if err != nil {
			return err
		}
		if err := del(c.Request.Context(), x); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}

// calls are a collection's handlers for what differs between kinds: its
// list, and creating, changing and deleting one of its objects (see
// create, update and remove).
type calls[T any] struct {
	list    lister[T]
	filters []string
	create  func(*gin.Context) (T, error)
	update  func(c *gin.Context, x T, ro readOnly) (T, error)
	remove  func(context.Context, T) error
}

// mount serves the collection at path (e.g. "/teams/") of resource r and
// its objects (path + ":id/") with the generic handlers over h.
func (k kind[T, V]) mount(g *gin.RouterGroup, path string, r access.Resource, h calls[T]) {
	g.GET(path, k.list(r, h.list, h.filters...))
	g.POST(path, k.create(h.create))
	g.GET(path+":id/", k.detail())
	g.PATCH(path+":id/", k.update(h.update))
	g.DELETE(path+":id/", k.remove(h.remove))
}

// lister lists the objects of scope that a list call's filters select.
type lister[T any] func(c *gin.Context, scope access.Scope, opts store.ListOptions) ([]T, int, error)

// list answers GET on a collection of resource r taking filters: the
// caller's scope (access.ListScope), narrowed by the organization filter
// when the list takes one, then what list returns, as the caller sees it.
func (k kind[T, V]) list(r access.Resource, list lister[T], filters ...string) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		opts, err := listQuery(c, filters...)
		if err != nil {
			return err
		}
		scope := access.ListScope(caller(c), r)
		org, err := idParam(c, "organization")
		if err != nil {
			return err
		}
		if org != nil {
			scope = scope.Within(*org)
		}
		xs, total, err := list(c, scope, opts)
		if err != nil {
			return err
		}
		return writePage(c, opts, total, views(caller(c), xs, k.view))
	})
}

func views[T, V any](p access.Principal, xs []T, view func(access.Principal, T) V) []V {
	out := make([]V, len(xs))
	for i, x := range xs {
		out[i] = view(p, x)
	}
	return out
}
