package openapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/openapi"
)

var jsonHeader = http.Header{"Content-Type": []string{"application/json; charset=utf-8"}}

const goodTeam = `{"id": 3, "name": "sre", "status": "active", "created": "2026-12-03T13:00:00Z",
	"archived": null, "lead": {"username": "bob"}, "kind": "human",
	"summary_fields": {"user_capabilities": {"edit": true}}}`

func TestValidator_ValidateResponse(t *testing.T) {
	v, err := openapi.NewValidator(sampleDocument(t))
	require.NoError(t, err)
	ctx := context.Background()

	pass := map[string]struct {
		method, target string
		status         int
		body           string
	}{
		"a matching object":                {"GET", "/api/v2/teams/3/", 200, goodTeam},
		"a page of them, with a query":     {"GET", "/api/v2/teams/?page=2", 200, `{"count": 1, "next": null, "previous": "/api/v2/teams/?page=1", "results": [` + goodTeam + `]}`},
		"an empty page":                    {"GET", "/api/v2/teams/", 200, `{"count": 0, "next": null, "previous": null, "results": []}`},
		"an error body":                    {"GET", "/api/v2/teams/3/", 404, `{"detail": "Not found."}`},
		"a common error":                   {"GET", "/api/v2/ping/", 500, `{"detail": "A server error occurred."}`},
		"field errors":                     {"POST", "/api/v2/teams/", 400, `{"name": ["This field is required."]}`},
		"a static path beside a parameter": {"GET", "/api/v2/teams/mine/", 200, `[` + goodTeam + `]`},
		"a preflight":                      {"OPTIONS", "/api/v2/codec/decode", 204, ``},
		"no body where none is due":        {"DELETE", "/api/v2/teams/3/", 204, ``},
		"any value, null included":         {"GET", "/api/v2/teams/3/", 200, `{"id": 3, "name": "sre", "status": "active", "created": "2026-12-03T13:00:00Z", "archived": null, "lead": null, "extra": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`},
		"optional fields present":          {"GET", "/api/v2/teams/3/", 200, `{"id": 3, "name": "sre", "description": "on call", "status": "archived", "created": "2026-12-03T13:00:00Z", "archived": "2026-12-04T08:00:00+01:00", "lead": null, "extra": {"any": [1]}, "labels": {"a": "b"}, "kind": "bot", "summary_fields": {"user_capabilities": {}}}`},
	}
	for name, tc := range pass {
		t.Run("passes: "+name, func(t *testing.T) {
			require.NoError(t, v.ValidateResponse(ctx, tc.method, tc.target, tc.status, jsonHeader, []byte(tc.body)))
		})
	}

	fail := map[string]struct {
		method, target string
		status         int
		body           string
		want           []string
	}{
		"a wrong type": {
			"GET", "/api/v2/teams/3/", 200, `{"id": "3", "name": "sre", "status": "active", "created": "2026-12-03T13:00:00Z", "archived": null, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
			[]string{"GET /api/v2/teams/{id}/ (getTeam) answered 200", `"/id"`, "integer"},
		},
		"a wrong type deep in a page": {
			"GET", "/api/v2/teams/", 200, `{"count": 1, "next": null, "previous": null, "results": [{"id": 3, "name": 7, "status": "active", "created": "2026-12-03T13:00:00Z", "archived": null, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}]}`,
			[]string{"(listTeams) answered 200", `"/results/0/name"`, "string"},
		},
		"a missing required field": {
			"GET", "/api/v2/teams/3/", 200, `{"id": 3, "status": "active", "created": "2026-12-03T13:00:00Z", "archived": null, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
			[]string{"(getTeam) answered 200", "name"},
		},
		"null where none is allowed": {
			"GET", "/api/v2/teams/", 200, `{"count": 0, "next": null, "previous": null, "results": null}`,
			[]string{"(listTeams) answered 200", `"/results"`},
		},
		"an undeclared field": {
			"GET", "/api/v2/teams/3/", 200, goodTeam[:len(goodTeam)-1] + `, "secret": 1}`,
			[]string{"(getTeam) answered 200", "secret"},
		},
		"a value outside the enum": {
			"GET", "/api/v2/teams/3/", 200, `{"id": 3, "name": "sre", "status": "gone", "created": "2026-12-03T13:00:00Z", "archived": null, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
			[]string{"(getTeam) answered 200", `"/status"`},
		},
		"a wrong type for a nullable field": {
			"GET", "/api/v2/teams/3/", 200, `{"id": 3, "name": "sre", "status": "active", "created": "2026-12-03T13:00:00Z", "archived": 5, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
			[]string{"(getTeam) answered 200", `"/archived"`},
		},
		"a wrong shape for a nullable reference": {
			"GET", "/api/v2/teams/3/", 200, `{"id": 3, "name": "sre", "status": "active", "created": "2026-12-03T13:00:00Z", "archived": null, "lead": {"name": "bob"}, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
			[]string{"(getTeam) answered 200", `"/lead`},
		},
		"a time that is not one": {
			"GET", "/api/v2/teams/3/", 200, `{"id": 3, "name": "sre", "status": "active", "created": "yesterday", "archived": null, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
			[]string{"(getTeam) answered 200", `"/created"`, "date-time"},
		},
		"an undocumented status": {
			"GET", "/api/v2/teams/3/", 409, `{"detail": "conflict"}`,
			[]string{"GET /api/v2/teams/{id}/ (getTeam) answered 409: status not documented", "200, 401, 403, 404, 500"},
		},
		"an undocumented route": {
			"GET", "/api/v2/nothing/", 200, `{}`,
			[]string{"GET /api/v2/nothing/: no documented operation"},
		},
		"the static path's own schema": {
			"GET", "/api/v2/teams/mine/", 200, goodTeam,
			[]string{"GET /api/v2/teams/mine/ (myTeams) answered 200"},
		},
		"an undocumented method": {
			"PATCH", "/api/v2/teams/3/", 200, `{}`,
			[]string{"PATCH /api/v2/teams/3/: method not documented"},
		},
		"a body where none is documented": {
			"DELETE", "/api/v2/teams/3/", 204, `{"detail": "gone"}`,
			[]string{"(deleteTeam) answered 204: a body where none is documented"},
		},
		"no body where one is documented": {
			"GET", "/api/v2/teams/3/", 200, ``,
			[]string{"(getTeam) answered 200: no body where one is documented"},
		},
	}
	for name, tc := range fail {
		t.Run("fails: "+name, func(t *testing.T) {
			err := v.ValidateResponse(ctx, tc.method, tc.target, tc.status, jsonHeader, []byte(tc.body))
			require.Error(t, err)
			for _, want := range tc.want {
				require.Contains(t, err.Error(), want)
			}
			t.Log(err)
		})
	}

	t.Run("a wrong content type fails", func(t *testing.T) {
		err := v.ValidateResponse(ctx, "GET", "/api/v2/teams/3/", 200, http.Header{"Content-Type": []string{"text/html"}}, []byte(goodTeam))
		require.ErrorContains(t, err, "(getTeam) answered 200")
		require.ErrorContains(t, err, "text/html")
	})
}

func TestValidator_ValidateRecorded(t *testing.T) {
	v, err := openapi.NewValidator(sampleDocument(t))
	require.NoError(t, err)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.GET("/api/v2/teams/:id/", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", []byte(goodTeam))
	})
	r.DELETE("/api/v2/teams/:id/", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"deleted": true}) })

	req := httptest.NewRequest(http.MethodGet, "/api/v2/teams/3/", nil)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	require.NoError(t, v.ValidateRecorded(req, rec))

	req = httptest.NewRequest(http.MethodDelete, "/api/v2/teams/3/", nil)
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	require.ErrorContains(t, v.ValidateRecorded(req, rec), "(deleteTeam) answered 200: status not documented")
}

func TestCoverage(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	noop := func(*gin.Context) {}
	r.GET("/api/v2/teams/", noop)
	r.POST("/api/v2/teams/", noop)
	r.GET("/api/v2/teams/:id/", noop)
	r.GET("/api/v2/ping/", noop)
	r.GET("/api/v2/teams/mine/", noop)
	r.OPTIONS("/api/v2/codec/:op", noop)
	r.PATCH("/api/v2/teams/:id/", noop) // served, not documented
	r.GET("/api/v2/users/", noop)       // served, not documented
	r.GET("/metrics", noop)             // excluded
	r.GET("/portal/requests/:id", noop) // excluded
	// DELETE /api/v2/teams/:id/ is documented but not served.

	exclude := func(route openapi.Route) bool {
		return route.Path == "/metrics" || len(route.Path) > 8 && route.Path[:8] == "/portal/"
	}
	gaps := openapi.Coverage(r.Routes(), sampleOps(), exclude)
	require.Equal(t, []openapi.Route{
		{Method: http.MethodPatch, Path: "/api/v2/teams/:id/"},
		{Method: http.MethodGet, Path: "/api/v2/users/"},
	}, gaps.Undocumented)
	require.Equal(t, []openapi.Route{{Method: http.MethodDelete, Path: "/api/v2/teams/:id/"}}, gaps.Unserved)
	require.EqualError(t, gaps.Err(), "openapi: served but not documented: PATCH /api/v2/teams/:id/, "+
		"GET /api/v2/users/; documented but not served: DELETE /api/v2/teams/:id/")

	t.Run("none when every route is documented", func(t *testing.T) {
		r := gin.New()
		for _, op := range sampleOps() {
			r.Handle(op.Method, op.Path, noop)
		}
		r.GET("/metrics", noop)
		gaps := openapi.Coverage(r.Routes(), sampleOps(), exclude)
		require.NoError(t, gaps.Err())
		require.Empty(t, gaps.Undocumented)
		require.Empty(t, gaps.Unserved)
	})
}
