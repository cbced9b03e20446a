package sso_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/sso"
)

func decode(t *testing.T, doc string) map[string]any {
	t.Helper()
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &raw))
	return raw
}

func TestClaimsFrom(t *testing.T) {
	c, err := sso.ClaimsFrom(decode(t, `{"iss": "https://idp.example.com", "sub": "a1b2", "aud": "countersign",
		"preferred_username": "bob", "email": "bob@acme.example", "given_name": "Bob", "family_name": "SRE",
		"groups": ["sre", "everyone"]}`), "preferred_username", "groups")
	require.NoError(t, err)
	assert.Equal(t, sso.Claims{Issuer: "https://idp.example.com", Subject: "a1b2", Username: "bob",
		Email: "bob@acme.example", GivenName: "Bob", FamilyName: "SRE", Groups: []string{"sre", "everyone"}}, c)

	c, err = sso.ClaimsFrom(decode(t, `{"iss": "i", "sub": "s", "email": "bob@acme.example", "roles": "sre"}`), "email", "roles")
	require.NoError(t, err)
	assert.Equal(t, "bob@acme.example", c.Username, "the username claim is configurable")
	assert.Equal(t, []string{"sre"}, c.Groups, "one group may come as a string")

	c, err = sso.ClaimsFrom(decode(t, `{"iss": "i", "sub": "s", "preferred_username": "bob"}`), "preferred_username", "groups")
	require.NoError(t, err)
	assert.Empty(t, c.Groups, "no groups claim, no groups")

	for name, doc := range map[string]string{
		"no username":              `{"iss": "i", "sub": "s"}`,
		"empty username":           `{"iss": "i", "sub": "s", "preferred_username": ""}`,
		"username not a string":    `{"iss": "i", "sub": "s", "preferred_username": 7}`,
		"email not a string":       `{"iss": "i", "sub": "s", "preferred_username": "bob", "email": ["x"]}`,
		"groups of numbers":        `{"iss": "i", "sub": "s", "preferred_username": "bob", "groups": [1, 2]}`,
		"groups as an object":      `{"iss": "i", "sub": "s", "preferred_username": "bob", "groups": {"sre": true}}`,
		"groups given elsewhere":   `{"iss": "i", "sub": "s", "preferred_username": "bob", "_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {"endpoint": "https://graph.example"}}}`,
		"subject not a string":     `{"iss": "i", "sub": 12, "preferred_username": "bob"}`,
		"issuer not a string":      `{"iss": true, "sub": "s", "preferred_username": "bob"}`,
		"group list with a null":   `{"iss": "i", "sub": "s", "preferred_username": "bob", "groups": ["sre", null]}`,
		"groups as a number":       `{"iss": "i", "sub": "s", "preferred_username": "bob", "groups": 3}`,
		"family name not a string": `{"iss": "i", "sub": "s", "preferred_username": "bob", "family_name": 3}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sso.ClaimsFrom(decode(t, doc), "preferred_username", "groups")
			assert.ErrorIs(t, err, sso.ErrInvalidClaims)
		})
	}
}
