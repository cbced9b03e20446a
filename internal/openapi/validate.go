package openapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Validator checks responses against a document.
type Validator struct {
	router routers.Router
}

// NewValidator is a validator for doc, a document as Document returns it
// or as a loader reads it (references resolved).
func NewValidator(doc *openapi3.T) (*Validator, error) {
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: route the document: %w", err)
	}
	return &Validator{router: router}, nil
}

// ValidateResponse checks that the document has an operation for method and
// target (a request path with its query, e.g. /api/v2/teams/3/?page=2),
// that it documents status, and that body matches that status's schema: no
// body where none is documented, JSON of the documented shape otherwise.
// The error names the operation, the status and, for a body that does not
// match, the JSON pointer of the field that broke and why.
func (v *Validator) ValidateResponse(ctx context.Context, method, target string, status int, header http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return fmt.Errorf("openapi: %s %s: %w", method, target, err)
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		if v.pathDocumented(req) {
			return fmt.Errorf("%s %s: method not documented for this path", method, req.URL.Path)
		}
		return fmt.Errorf("%s %s: no documented operation", method, req.URL.Path)
	}
	where := fmt.Sprintf("%s %s (%s) answered %d", route.Method, route.Path, route.Operation.OperationID, status)
	documented := route.Operation.Responses.Status(status)
	if documented == nil {
		return fmt.Errorf("%s: status not documented (documented: %s)", where, strings.Join(statuses(route.Operation), ", "))
	}
	if len(documented.Value.Content) == 0 {
		if len(body) != 0 {
			return fmt.Errorf("%s: a body where none is documented: %.200q", where, body)
		}
		return nil
	}
	if len(body) == 0 {
		return fmt.Errorf("%s: no body where one is documented", where)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
		},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, input); err != nil {
		return fmt.Errorf("%s: %s", where, describe(err))
	}
	return nil
}

// Documented reports whether the document has an operation for method and
// target, so that a caller can tell an answer from a route the API does
// not serve (a 404 or 405 of the router) from one of its operations.
func (v *Validator) Documented(method, target string) bool {
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		return false
	}
	_, _, err = v.router.FindRoute(req)
	return err == nil
}

// pathDocumented tells whether req's path has an operation for another
// method, to say which of the two is missing.
func (v *Validator) pathDocumented(req *http.Request) bool {
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodHead} {
		other := req.Clone(req.Context())
		other.Method = method
		if _, _, err := v.router.FindRoute(other); err == nil {
			return true
		}
	}
	return false
}

// ValidateRecorded is ValidateResponse for a request served into a
// recorder, the shape handler tests have at hand.
func (v *Validator) ValidateRecorded(req *http.Request, rec *httptest.ResponseRecorder) error {
	return v.ValidateResponse(req.Context(), req.Method, req.URL.RequestURI(), rec.Code, rec.Header(), rec.Body.Bytes())
}

func statuses(op *openapi3.Operation) []string {
	return slices.Sorted(maps.Keys(op.Responses.Map()))
}

// describe turns kin-openapi's response error into one line per broken
// field: `"/results/0/name": got number, want string`, without the schema
// and value dumps that make its own messages hard to read.
func describe(err error) string {
	var respErr *openapi3filter.ResponseError
	if !errors.As(err, &respErr) || respErr.Err == nil {
		return err.Error()
	}
	var lines []string
	collectSchemaErrors(respErr.Err, &lines)
	if len(lines) == 0 {
		return respErr.Reason + ": " + respErr.Err.Error()
	}
	return respErr.Reason + ": " + strings.Join(lines, "; ")
}

// collectSchemaErrors gathers the innermost schema errors under err: the
// ones that say which field broke rather than that its parent did.
func collectSchemaErrors(err error, lines *[]string) {
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		for _, e := range multi {
			collectSchemaErrors(e, lines)
		}
		return
	}
	var schemaErr *openapi3.SchemaError
	if !errors.As(err, &schemaErr) {
		*lines = append(*lines, err.Error())
		return
	}
	var inner *openapi3.SchemaError
	var innerMulti openapi3.MultiError
	if origin := schemaErr.Origin; origin != nil && (errors.As(origin, &inner) || errors.As(origin, &innerMulti)) {
		collectSchemaErrors(origin, lines)
		return
	}
	pointer := "/" + strings.Join(schemaErr.JSONPointer(), "/")
	reason := schemaErr.Reason
	// The JSON Schema 2020-12 validator prefixes its reasons with the path
	// already given, twice.
	if _, rest, found := strings.Cut(reason, `": `); found && strings.HasPrefix(reason, "error at ") {
		reason = rest
	}
	if _, rest, found := strings.Cut(reason, `': `); found && strings.HasPrefix(reason, "at '") {
		reason = rest
	}
	*lines = append(*lines, fmt.Sprintf("%q: %s", pointer, reason))
}
