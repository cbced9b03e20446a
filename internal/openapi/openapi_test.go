package openapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/openapi"
)

// The sample API: a paginated list of teams, one team, creating one.

type Page[T any] struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

type Status string

func (Status) Enum() []any { return []any{"active", "archived"} }

type Team struct {
	ID          int               `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Status      Status            `json:"status"`
	Created     time.Time         `json:"created"`
	Archived    *time.Time        `json:"archived"`
	Lead        *Member           `json:"lead"`
	Extra       json.RawMessage   `json:"extra,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Kind        string            `json:"kind" openapi:"enum=human|bot"`
	Summary     `json:"summary_fields"`
	internal    int
}

type Member struct {
	Username string `json:"username" description:"The member's login."`
}

type Summary struct {
	Capabilities map[string]bool `json:"user_capabilities"`
}

type NewTeam struct {
	Name string `json:"name"`
}

// The AWX-style error bodies.
type Detail struct {
	Detail string `json:"detail"`
}

type FieldErrors map[string][]string

func sampleOps() []openapi.Operation {
	return []openapi.Operation{
		{
			Method: http.MethodGet, Path: "/api/v2/teams/", ID: "listTeams", Tags: []string{"teams"},
			Query: []openapi.Param{
				{Name: "page", Type: 0, Description: "1-based page number."},
				{Name: "search", Description: "Matches names."},
			},
			Responses: map[int]openapi.Response{200: {Body: Page[Team]{}}},
		},
		{
			Method: http.MethodPost, Path: "/api/v2/teams/", ID: "createTeam", Tags: []string{"teams"},
			Body: NewTeam{},
			Responses: map[int]openapi.Response{
				201: {Body: Team{}},
				400: {Body: FieldErrors{}, Description: "Invalid fields."},
			},
		},
		{
			Method: http.MethodGet, Path: "/api/v2/teams/:id/", ID: "getTeam", Tags: []string{"teams"},
			PathParams: []openapi.Param{{Name: "id", Type: 0}},
			Responses:  map[int]openapi.Response{200: {Body: Team{}}, 404: {Body: Detail{}}},
		},
		{
			Method: http.MethodGet, Path: "/api/v2/teams/mine/", ID: "myTeams", Tags: []string{"teams"},
			Responses: map[int]openapi.Response{200: {Body: []Team{}}},
		},
		{
			Method: http.MethodOptions, Path: "/api/v2/codec/:op", ID: "codecPreflight", Public: true,
			Responses: map[int]openapi.Response{204: {}},
		},
		{
			Method: http.MethodDelete, Path: "/api/v2/teams/:id/", ID: "deleteTeam", Tags: []string{"teams"},
			Responses: map[int]openapi.Response{204: {}},
		},
		{
			Method: http.MethodGet, Path: "/api/v2/ping/", ID: "ping", Public: true,
			Responses: map[int]openapi.Response{200: {Body: map[string]string{}}},
		},
	}
}

func sampleDocument(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi.Document(context.Background(),
		openapi.Info{Title: "Sample", Version: "2"}, sampleOps(),
		openapi.SessionCookie("session", "The portal's session."),
		openapi.CommonResponses(map[int]openapi.Response{500: {Body: Detail{}}}),
		openapi.AuthResponses(map[int]openapi.Response{401: {Body: Detail{}}, 403: {Body: Detail{}}}),
	)
	require.NoError(t, err)
	return doc
}

func TestDocument_ValidatesAsOpenAPI31(t *testing.T) {
	doc := sampleDocument(t)
	data, err := json.Marshal(doc)
	require.NoError(t, err)

	loader := openapi3.NewLoader()
	loaded, err := loader.LoadFromData(data)
	require.NoError(t, err)
	require.Equal(t, "3.1.0", loaded.OpenAPI)
	require.True(t, loaded.IsOpenAPI31OrLater())
	require.NoError(t, loaded.Validate(loader.Context))
}

// schemaJSON is a component or inline schema as the document's JSON has it.
func schemaJSON(t *testing.T, doc *openapi3.T) map[string]any {
	t.Helper()
	data, err := json.Marshal(doc)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		require.True(t, ok, "at %q: not an object: %v", k, v)
		v, ok = m[k]
		require.True(t, ok, "no %q in %v", k, m)
	}
	return v
}

func TestDocument_Schemas(t *testing.T) {
	doc := schemaJSON(t, sampleDocument(t))
	schemas := dig(t, doc, "components", "schemas")

	t.Run("generic instantiation is a component of its own", func(t *testing.T) {
		page := dig(t, schemas, "PageTeam")
		require.Equal(t, "#/components/schemas/Team", dig(t, page, "properties", "results", "items", "$ref"))
		require.ElementsMatch(t, []any{"count", "next", "previous", "results"}, dig(t, page, "required"))
		require.Equal(t, false, dig(t, page, "additionalProperties"))
	})
	t.Run("pointers are nullable with type arrays or anyOf", func(t *testing.T) {
		require.Equal(t, []any{"string", "null"}, dig(t, schemas, "PageTeam", "properties", "next", "type"))
		archived := dig(t, schemas, "Team", "properties", "archived")
		require.Equal(t, []any{"string", "null"}, dig(t, archived, "type"))
		require.Equal(t, "date-time", dig(t, archived, "format"))
		require.Equal(t, []any{
			map[string]any{"$ref": "#/components/schemas/Member"},
			map[string]any{"type": "null"},
		}, dig(t, schemas, "Team", "properties", "lead", "anyOf"))
	})
	t.Run("fields: omitempty, time, raw JSON, maps, embedded, enums", func(t *testing.T) {
		team := dig(t, schemas, "Team")
		require.ElementsMatch(t,
			[]any{"id", "name", "status", "created", "archived", "lead", "kind", "summary_fields"},
			dig(t, team, "required"))
		props := dig(t, team, "properties").(map[string]any)
		require.NotContains(t, props, "internal")
		require.Equal(t, "date-time", dig(t, props, "created", "format"))
		require.Equal(t, map[string]any{"type": []any{"array", "boolean", "null", "number", "object", "string"}}, props["extra"])
		require.Equal(t, "string", dig(t, props, "labels", "additionalProperties", "type"))
		require.Equal(t, []any{"human", "bot"}, dig(t, props, "kind", "enum"))
		require.Equal(t, "#/components/schemas/Summary", dig(t, props, "summary_fields", "$ref"))
		require.Equal(t, []any{"active", "archived"}, dig(t, schemas, "Status", "enum"))
		require.Equal(t, "The member's login.", dig(t, schemas, "Member", "properties", "username", "description"))
		require.Equal(t, "array", dig(t, schemas, "FieldErrors", "additionalProperties", "type"))
	})
	t.Run("paths, parameters and security", func(t *testing.T) {
		get := dig(t, doc, "paths", "/api/v2/teams/{id}/", "get")
		params := dig(t, get, "parameters").([]any)
		require.Len(t, params, 1)
		require.Equal(t, "path", dig(t, params[0], "in"))
		require.Equal(t, "integer", dig(t, params[0], "schema", "type"))
		require.Contains(t, dig(t, get, "responses").(map[string]any), "401")
		require.Contains(t, dig(t, get, "responses").(map[string]any), "500")

		ping := dig(t, doc, "paths", "/api/v2/ping/", "get")
		require.Equal(t, []any{}, dig(t, ping, "security"))
		require.NotContains(t, dig(t, ping, "responses").(map[string]any), "401")

		require.Equal(t, "bearer", dig(t, doc, "components", "securitySchemes", openapi.BearerScheme, "scheme"))
		require.Equal(t, "cookie", dig(t, doc, "components", "securitySchemes", openapi.SessionScheme, "in"))
		require.Len(t, dig(t, doc, "security"), 2)
	})
}

func TestDocument_Errors(t *testing.T) {
	ok := openapi.Operation{Method: http.MethodGet, Path: "/a/", ID: "a", Responses: map[int]openapi.Response{204: {}}}
	tests := map[string]struct {
		ops  []openapi.Operation
		want string
	}{
		"duplicate ID": {
			ops:  []openapi.Operation{ok, {Method: http.MethodPost, Path: "/a/", ID: "a", Responses: ok.Responses}},
			want: `operation ID "a" used by GET /a/ and POST /a/`,
		},
		"duplicate route": {
			ops:  []openapi.Operation{ok, {Method: http.MethodGet, Path: "/a/", ID: "b", Responses: ok.Responses}},
			want: "GET /a/ documented twice",
		},
		"no responses": {
			ops:  []openapi.Operation{{Method: http.MethodGet, Path: "/a/", ID: "a"}},
			want: "GET /a/ (a): no responses",
		},
		"unknown path parameter": {
			ops: []openapi.Operation{{Method: http.MethodGet, Path: "/a/", ID: "a",
				PathParams: []openapi.Param{{Name: "id"}}, Responses: ok.Responses}},
			want: `path parameter "id" is not in the path`,
		},
		"type without a schema": {
			ops: []openapi.Operation{{Method: http.MethodGet, Path: "/a/", ID: "a",
				Responses: map[int]openapi.Response{200: {Body: make(chan int)}}}},
			want: "response 200: openapi: no JSON schema for chan int",
		},
		"a type that writes its own JSON": {
			ops: []openapi.Operation{{Method: http.MethodGet, Path: "/a/", ID: "a",
				Responses: map[int]openapi.Response{200: {Body: Timed{}}}}},
			want: "openapi_test.Duration writes its own JSON: give its schema with TypeSchema",
		},
		"two types, one component name": {
			ops: []openapi.Operation{{Method: http.MethodGet, Path: "/a/", ID: "a",
				Responses: map[int]openapi.Response{200: {Body: Page[Team]{}}, 201: {Body: Page[team]{}}}}},
			want: "both make the component schema \"PageTeam\"",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := openapi.Document(context.Background(), openapi.Info{Title: "x", Version: "1"}, tc.ops)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// team differs from Team only by case, as a type of another package would.
type team struct{}

type Node struct {
	Name     string `json:"name"`
	Children []Node `json:"children"`
	Parent   *Node  `json:"parent,omitempty"`
	*Audit
	Shadowed string `json:"by"`
	Meta     Audit  `json:"meta,omitempty"`
	Left
	Right
}

// Left's tagged field wins the name "Who" over Right's untagged one.
type Left struct {
	Who int `json:"Who"`
}

type Right struct {
	Who string
}

type Audit struct {
	By   string    `json:"by"`
	When time.Time `json:"when"`
}

func TestDocument_RecursiveAndEmbedded(t *testing.T) {
	doc, err := openapi.Document(context.Background(), openapi.Info{Title: "x", Version: "1"}, []openapi.Operation{{
		Method: http.MethodGet, Path: "/tree/", ID: "tree", Responses: map[int]openapi.Response{200: {Body: &Node{}}},
	}})
	require.NoError(t, err)
	node := dig(t, schemaJSON(t, doc), "components", "schemas", "Node")
	require.Equal(t, "#/components/schemas/Node", dig(t, node, "properties", "children", "items", "$ref"))
	require.Contains(t, dig(t, node, "properties").(map[string]any), "when")
	// The outer "by" wins over the embedded one; fields under an embedded
	// pointer may be absent.
	// omitempty never leaves out a struct.
	require.ElementsMatch(t, []any{"name", "children", "by", "meta", "Who"}, dig(t, node, "required"))
	require.Equal(t, "integer", dig(t, node, "properties", "Who", "type"))
	// A body given as a pointer is the struct, not a nullable one.
	require.Equal(t, "#/components/schemas/Node",
		dig(t, schemaJSON(t, doc), "paths", "/tree/", "get", "responses", "200", "content", "application/json", "schema", "$ref"))
}

// Duration writes itself as "72h0m0s", which reflection cannot tell.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

type Timed struct {
	Timeout  Duration  `json:"timeout"`
	Reminder *Duration `json:"reminder"`
}

func TestDocument_TypeSchema(t *testing.T) {
	doc, err := openapi.Document(context.Background(), openapi.Info{Title: "x", Version: "1"}, []openapi.Operation{{
		Method: http.MethodGet, Path: "/timed/", ID: "timed", Responses: map[int]openapi.Response{200: {Body: Timed{}}},
	}}, openapi.TypeSchema(Duration(0), &openapi3.Schema{Type: &openapi3.Types{"string"}, Description: "A Go duration."}))
	require.NoError(t, err)
	schemas := dig(t, schemaJSON(t, doc), "components", "schemas")
	require.Equal(t, "string", dig(t, schemas, "Duration", "type"))
	require.Equal(t, "#/components/schemas/Duration", dig(t, schemas, "Timed", "properties", "timeout", "$ref"))
	require.Equal(t, []any{
		map[string]any{"$ref": "#/components/schemas/Duration"},
		map[string]any{"type": "null"},
	}, dig(t, schemas, "Timed", "properties", "reminder", "anyOf"))
}
