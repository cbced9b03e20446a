package openapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/internal/openapi"
)

// A server documents its routes, serves the document, and its contract
// test sends every operation through the real handlers.
func Example() {
	ops := []openapi.Operation{
		{
			Method: http.MethodGet, Path: "/api/v2/ping/", ID: "ping", Public: true,
			Responses: map[int]openapi.Response{200: {Body: map[string]string{}}},
		},
		{
			Method: http.MethodGet, Path: "/api/v2/teams/:id/", ID: "getTeam",
			PathParams: []openapi.Param{{Name: "id", Type: 0}},
			Responses:  map[int]openapi.Response{200: {Body: Member{}}, 404: {Body: Detail{}}},
		},
	}
	doc, err := openapi.Document(context.Background(), openapi.Info{Title: "Example", Version: "2"}, ops,
		openapi.AuthResponses(map[int]openapi.Response{401: {Body: Detail{}}}))
	if err != nil {
		panic(err)
	}

	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.GET("/api/v2/openapi.json", func(c *gin.Context) { c.JSON(http.StatusOK, doc) })
	r.GET("/api/v2/ping/", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ping": "pong"}) })
	r.GET("/api/v2/teams/:id/", func(c *gin.Context) { c.JSON(http.StatusNotFound, gin.H{"detail": 404}) })

	// Every served route is documented, but for the document itself.
	exclude := func(r openapi.Route) bool { return strings.HasSuffix(r.Path, "/openapi.json") }
	fmt.Println(openapi.Coverage(r.Routes(), ops, exclude).Err())

	v, err := openapi.NewValidator(doc)
	if err != nil {
		panic(err)
	}
	for _, target := range []string{"/api/v2/ping/", "/api/v2/teams/1/"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(v.ValidateRecorded(req, rec))
	}
	// Output:
	// <nil>
	// <nil>
	// GET /api/v2/teams/{id}/ (getTeam) answered 404: response body doesn't match schema #/components/schemas/Detail: "/detail": got number, want string
}
