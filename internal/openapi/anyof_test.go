package openapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/openapi"
)

type problem struct {
	Detail string `json:"detail"`
}

type fieldProblems map[string][]string

// An error status that answers either of two bodies documents both, and a
// body of neither shape breaks the contract.
func TestDocument_AnyOf(t *testing.T) {
	ctx := context.Background()
	ops := []openapi.Operation{{
		Method: http.MethodPost, Path: "/api/v2/things/", ID: "createThing", Public: true,
		Responses: map[int]openapi.Response{400: {Body: openapi.AnyOf{problem{}, fieldProblems{}}}},
	}}
	doc, err := openapi.Document(ctx, openapi.Info{Title: "t", Version: "1"}, ops)
	require.NoError(t, err)
	require.Contains(t, doc.Components.Schemas, "Problem", "named as clients read names")
	require.Contains(t, doc.Components.Schemas, "FieldProblems")
	v, err := openapi.NewValidator(doc)
	require.NoError(t, err)
	for _, body := range []string{`{"detail": "Invalid page."}`, `{"name": ["This field is required."]}`} {
		require.NoError(t, v.ValidateResponse(ctx, "POST", "/api/v2/things/", 400, jsonHeader, []byte(body)), body)
	}
	require.Error(t, v.ValidateResponse(ctx, "POST", "/api/v2/things/", 400, jsonHeader, []byte(`{"name": "not a list"}`)))
	require.True(t, v.Documented("POST", "/api/v2/things/?x=1"))
	require.False(t, v.Documented("GET", "/api/v2/things/"), "another method")
	require.False(t, v.Documented("POST", "/api/v2/other/"))

	_, err = openapi.Document(ctx, openapi.Info{Title: "t", Version: "1"}, []openapi.Operation{{
		Method: http.MethodGet, Path: "/x/", ID: "x", Public: true,
		Responses: map[int]openapi.Response{200: {Body: openapi.AnyOf{problem{}}}},
	}})
	require.ErrorContains(t, err, "two types or more")
}
