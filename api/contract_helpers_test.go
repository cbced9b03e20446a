package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/openapi"
)

var (
	contractOnce      sync.Once
	contractValidator *openapi.Validator
	contractErr       error
)

// contractOf is the validator of the API's document, built once for the
// whole suite (the document does not depend on a server's dependencies).
func contractOf(t *testing.T, srv *api.Server) *openapi.Validator {
	t.Helper()
	contractOnce.Do(func() {
		doc, err := srv.Document()
		if err != nil {
			contractErr = err
			return
		}
		contractValidator, contractErr = openapi.NewValidator(doc)
	})
	require.NoError(t, contractErr, "the API's OpenAPI document")
	return contractValidator
}

// checkContract holds an answer of the API to its document: the route and
// the status must be documented and the body must match the status's
// schema. Calls outside the API proper (the portal, /metrics, the codec
// endpoint, which speaks Temporal's protocol) are not in the document; a
// call to a route the API does not serve must be answered as such, 404 or
// 405 with an error body.
func (e *env) checkContract(req *http.Request, resp *http.Response, raw []byte) {
	e.t.Helper()
	path := req.URL.Path
	if !strings.HasPrefix(path, "/api/v2/") || strings.HasPrefix(path, "/api/v2/codec/") || req.Method == http.MethodHead {
		return
	}
	target := req.URL.RequestURI()
	if !e.contract.Documented(req.Method, target) {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			e.t.Errorf("contract: %s %s is not documented, yet answered %d: %.300s", req.Method, target, resp.StatusCode, raw)
		}
		return
	}
	if err := e.contract.ValidateResponse(req.Context(), req.Method, target, resp.StatusCode, resp.Header, raw); err != nil {
		e.t.Errorf("contract: %v\nbody: %.500s", err, raw)
	}
}
