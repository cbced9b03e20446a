package openapi_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// TestDocument_SchemasAreJSONSchema2020 checks the generated component
// schemas with a plain JSON Schema 2020-12 validator, independently of
// kin-openapi's (which, for schemas that reference components, validates
// with its own OpenAPI validator extended to 3.1's type arrays): both must
// accept and reject the same bodies.
func TestDocument_SchemasAreJSONSchema2020(t *testing.T) {
	data, err := json.Marshal(sampleDocument(t))
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	require.NoError(t, c.AddResource("mem://openapi.json", doc))
	team, err := c.Compile("mem://openapi.json#/components/schemas/Team")
	require.NoError(t, err)
	page, err := c.Compile("mem://openapi.json#/components/schemas/PageTeam")
	require.NoError(t, err)

	valid := func(s *jsonschema.Schema, body string) error {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		return s.Validate(v)
	}
	require.NoError(t, valid(team, goodTeam))
	require.NoError(t, valid(page, `{"count": 1, "next": null, "previous": "x", "results": [`+goodTeam+`]}`))
	for name, body := range map[string]string{
		"wrong type":    `{"id": "3", "name": "sre", "status": "active", "created": "2026-12-03T13:00:00Z", "archived": null, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
		"missing field": `{"id": 3, "status": "active", "created": "2026-12-03T13:00:00Z", "archived": null, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
		"extra field":   goodTeam[:len(goodTeam)-1] + `, "secret": 1}`,
		"not in enum":   `{"id": 3, "name": "sre", "status": "gone", "created": "2026-12-03T13:00:00Z", "archived": null, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
		"bad date-time": `{"id": 3, "name": "sre", "status": "active", "created": "yesterday", "archived": null, "lead": null, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
		"bad nullable":  `{"id": 3, "name": "sre", "status": "active", "created": "2026-12-03T13:00:00Z", "archived": 5, "lead": {"name": "bob"}, "kind": "human", "summary_fields": {"user_capabilities": {}}}`,
	} {
		require.Error(t, valid(team, body), name)
	}
	require.Error(t, valid(page, `{"count": 0, "next": null, "previous": null, "results": null}`))
}
