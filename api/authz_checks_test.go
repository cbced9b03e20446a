package api_test

// The checks the authorization matrix makes of each cell beyond its
// status.

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// capability reads row's capability for persona on the object of the
// call to path; check is false when the row has none or the persona is
// not signed in.
func (e *env) capability(persona string, row azRow, path string) (capable, check bool) {
	if row.capability == "" || persona == personaAnonymous || persona == personaBadToken {
		return false, false
	}
	if row.capabilityOf != "" {
		path = row.capabilityOf
	}
	status, obj := e.call(persona, "GET", path, nil)
	if status == http.StatusNotFound {
		return false, true
	}
	require.Equal(e.t, http.StatusOK, status, "GET %s as %s", path, personaLabel(persona))
	caps, _ := obj["summary_fields"].(map[string]any)["user_capabilities"].(map[string]any)
	v, ok := caps[row.capability].(bool)
	require.True(e.t, ok, "GET %s as %s: no user_capabilities.%s in %v", path, personaLabel(persona), row.capability, obj["summary_fields"])
	return v, true
}

// accepted tells whether a call got through every check of who may make
// it: it succeeded, or only its body was refused (the rows with
// capabilities that send invalid bodies do so on purpose).
func accepted(status int) bool { return status < 300 || status == http.StatusBadRequest }

// checkOKBody checks a 200 answer: lists hold exactly the visible ids, and
// /me/ is the caller.
func checkOKBody(t *testing.T, e *env, row azRow, persona, what string, raw []byte) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Errorf("%s: not a JSON object: %s", what, raw)
		return
	}
	if row.name == "me" && body["username"] != persona {
		t.Errorf("%s: /me/ answered %v", what, body["username"])
	}
	want, isList := row.lists[persona]
	if !isList {
		if _, paged := body["results"]; paged {
			t.Errorf("%s: a list answer without an expectation for this persona", what)
		}
		return
	}
	if _, paged := body["results"]; !paged {
		t.Errorf("%s: not a list: %s", what, raw)
		return
	}
	got := sortedIDList(ids(body))
	if !slices.Equal(got, sortedIDList(want)) {
		t.Errorf("%s: sees ids %v, want %v", what, got, sortedIDList(want))
	}
	if int(body["count"].(float64)) != len(want) {
		t.Errorf("%s: count %v, want %d", what, body["count"], len(want))
	}
}
