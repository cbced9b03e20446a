package sso_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/sso"
)

func TestParseGroupMap(t *testing.T) {
	m, err := sso.ParseGroupMap(strings.NewReader(`{"rules": [
		{"group": "sre", "organization": "acme", "team": "sre"},
		{"group": "acme-admins", "organization": "acme", "role": "admin"},
		{"group": "developers", "organization": "acme", "role": "member"},
		{"group": "platform", "superuser": true},
		{"group": "sre", "organization": "acme", "role": "member"}
	]}`))
	require.NoError(t, err)
	assert.Equal(t, []sso.Rule{
		{Group: "sre", Organization: "acme", Team: "sre"},
		{Group: "acme-admins", Organization: "acme", Role: sso.RoleAdmin},
		{Group: "developers", Organization: "acme", Role: sso.RoleMember},
		{Group: "platform", Superuser: true},
		{Group: "sre", Organization: "acme", Role: sso.RoleMember},
	}, m.Rules)

	m, err = sso.ParseGroupMap(strings.NewReader(`{"rules": []}`))
	require.NoError(t, err)
	assert.Empty(t, m.Rules)
}

func TestParseGroupMap_Refusals(t *testing.T) {
	for name, tc := range map[string]struct{ doc, wantErr string }{
		"not JSON":          {`rules: []`, "group map: invalid character"},
		"no rules":          {`{}`, `"rules" is missing`},
		"unknown top key":   {`{"rules": [], "version": 2}`, `unknown field "version"`},
		"trailing data":     {`{"rules": []} {}`, "after the JSON value"},
		"duplicate top key": {`{"rules": [], "rules": []}`, `key "rules" is given twice`},
		"duplicate rule key": {`{"rules": [{"group": "sre", "organization": "acme", "team": "sre", "team": "dba"}]}`,
			`key "team" is given twice`},
		"unknown key": {`{"rules": [{"group": "sre", "organization": "acme", "tema": "sre"}]}`,
			`rule 1: json: unknown field "tema"`},
		"wrong type": {`{"rules": [{"group": "ops", "superuser": "yes"}]}`, "rule 1: json: cannot unmarshal string"},
		"no group":   {`{"rules": [{"organization": "acme", "team": "sre"}]}`, `rule 1 ({"organization": "acme", "team": "sre"}): "group" is missing`},
		"empty group": {`{"rules": [{"group": "sre", "organization": "acme", "team": "sre"}, {"group": " ", "superuser": true}]}`,
			`rule 2 ({"group": " ", "superuser": true}): "group" is empty`},
		"empty organization": {`{"rules": [{"group": "sre", "organization": "", "team": "sre"}]}`, `"organization" is empty`},
		"empty team":         {`{"rules": [{"group": "sre", "organization": "acme", "team": ""}]}`, `"team" is empty`},
		"grants nothing":     {`{"rules": [{"group": "sre"}]}`, `give "organization" with "team" or "role", or "superuser": true`},
		"organization only":  {`{"rules": [{"group": "sre", "organization": "acme"}]}`, `give "team" or "role" with "organization"`},
		"team without organization": {`{"rules": [{"group": "sre", "team": "sre"}]}`,
			`give "organization" with "team" or "role"`},
		"team and role": {`{"rules": [{"group": "sre", "organization": "acme", "team": "sre", "role": "admin"}]}`,
			`give "team" or "role", not both`},
		"unknown role": {`{"rules": [{"group": "sre", "organization": "acme", "role": "owner"}]}`,
			`role "owner" is unknown: use "admin" or "member"`},
		"superuser false": {`{"rules": [{"group": "ops", "superuser": false}]}`, `"superuser" can only be true`},
		"superuser and more": {`{"rules": [{"group": "ops", "superuser": true, "organization": "acme", "role": "admin"}]}`,
			"a superuser rule grants nothing else"},
		"repeated rule": {`{"rules": [
			{"group": "sre", "organization": "acme", "team": "sre"},
			{"group": "dba", "organization": "acme", "team": "sre"},
			{"team": "sre", "organization": "acme", "group": "sre"}]}`,
			`rule 3 (group "sre" → team "sre" of organization "acme") repeats rule 1`},
		"repeated superuser": {`{"rules": [{"group": "ops", "superuser": true}, {"group": "ops", "superuser": true}]}`,
			`rule 2 (group "ops" → superuser) repeats rule 1`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sso.ParseGroupMap(strings.NewReader(tc.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestLoadGroupMap(t *testing.T) {
	m, err := sso.LoadGroupMap("")
	require.NoError(t, err)
	assert.Empty(t, m.Rules, "no file maps no group")

	path := filepath.Join(t.TempDir(), "groups.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"rules": [{"group": "ops", "superuser": true}]}`), 0o600))
	m, err = sso.LoadGroupMap(path)
	require.NoError(t, err)
	assert.Equal(t, []sso.Rule{{Group: "ops", Superuser: true}}, m.Rules)

	require.NoError(t, os.WriteFile(path, []byte(`{"rules": [{"group": "ops"}]}`), 0o600))
	_, err = sso.LoadGroupMap(path)
	assert.ErrorContains(t, err, path+": group map: rule 1")

	_, err = sso.LoadGroupMap(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorContains(t, err, "missing.json")
}
