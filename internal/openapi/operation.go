package openapi

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Operation describes one route of the API for its document.
type Operation struct {
	// Method is the HTTP method, as gin registers it (http.MethodGet, ...).
	Method string
	// Path is the route as gin registers it: /api/v2/teams/:id/. Its
	// parameters become the OpenAPI path /api/v2/teams/{id}/.
	Path string
	// ID is the operationId, unique in the document.
	ID          string
	Summary     string
	Description string
	Tags        []string
	// Public is true for an operation served without authentication; every
	// other operation requires a bearer token or the session cookie.
	Public bool
	// PathParams describes the path's parameters; one not listed here is a
	// string without description.
	PathParams []Param
	// Query lists the query parameters the operation reads.
	Query []Param
	// Body is the request body's Go type, given as a value of it (or as a
	// reflect.Type); nil for an operation that reads no body.
	Body any
	// Responses maps each status the operation answers to its body.
	Responses map[int]Response
}

// Param describes a path or query parameter.
type Param struct {
	Name string
	// Type is a value of the parameter's Go type: "" for a string, 0 for an
	// integer, false for a boolean, []string(nil) for a repeated parameter.
	// nil means a string.
	Type        any
	Description string
	// Required is implied for path parameters.
	Required bool
}

// AnyOf is a body that takes the shape of any one of several Go types,
// given as values of them: an answer whose shape depends on who asks, or
// an error status with more than one kind of body. Its schema is anyOf
// the types' schemas.
type AnyOf []any

// Response describes what an operation answers with one status.
type Response struct {
	// Description defaults to the status's text, e.g. "Not Found".
	Description string
	// Body is the body's Go type, given as a value of it (or as a
	// reflect.Type), or an AnyOf of several; nil for a response without a
	// body, such as 204.
	Body any
}

// Route is a method and a gin-style path, as gin.Engine.Routes lists them.
type Route struct {
	Method string
	Path   string
}

func (r Route) String() string { return r.Method + " " + r.Path }

// Route is the route the operation documents.
func (op Operation) Route() Route { return Route{Method: op.Method, Path: op.Path} }

// OpenAPIPath turns a gin path into an OpenAPI one: :id and *rest segments
// become {id} and {rest}. It returns the parameters' names in order.
func OpenAPIPath(ginPath string) (path string, params []string) {
	segments := strings.Split(ginPath, "/")
	for i, s := range segments {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			params = append(params, s[1:])
			segments[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segments, "/"), params
}

// typeOf is the Go type a Body or Type field stands for: the value's type,
// or the reflect.Type it is.
func typeOf(v any) reflect.Type {
	if t, ok := v.(reflect.Type); ok {
		return t
	}
	return reflect.TypeOf(v)
}

// bodyType is the type of a body given as v. A body is never null, so a
// pointer given for one (&Team{}) stands for what it points to.
func bodyType(v any) reflect.Type {
	t := typeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func (op Operation) check() error {
	if op.Method == "" || !strings.HasPrefix(op.Path, "/") {
		return fmt.Errorf("openapi: operation %q: a method and a path starting with / are required", op.ID)
	}
	if op.ID == "" {
		return fmt.Errorf("openapi: %v: an operation ID is required", op.Route())
	}
	if len(op.Responses) == 0 {
		return fmt.Errorf("openapi: %v (%s): no responses", op.Route(), op.ID)
	}
	_, names := OpenAPIPath(op.Path)
	for _, p := range op.PathParams {
		if !slices.Contains(names, p.Name) {
			return fmt.Errorf("openapi: %v (%s): path parameter %q is not in the path", op.Route(), op.ID, p.Name)
		}
	}
	return nil
}
