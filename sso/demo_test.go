package sso_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/internal/devidp"
	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/sso"
)

// The demo's group map matches the demo data: each demo user signing in
// through the local provider with its groups finds their user, linked by
// username, with nothing to change.
func TestDemoGroupMap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := pgtest.NewStore(t)
	seeded, err := demo.SeedIdentity(ctx, st)
	require.NoError(t, err)
	gm, err := sso.ParseGroupMap(strings.NewReader(demo.GroupMap))
	require.NoError(t, err)
	m, err := gm.Resolve(ctx, st)
	require.NoError(t, err)
	rec := &approvers{}
	p := sso.NewProvisioner(st, rec, m)
	for _, u := range devidp.DemoUsers() {
		res, err := p.SignIn(ctx, sso.Claims{Issuer: "http://127.0.0.1:5556", Subject: "sub-" + u.Username,
			Username: u.Username, Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, Groups: u.Groups})
		require.NoError(t, err, u.Username)
		assert.Equal(t, seeded.Users[u.Username].ID, res.User.ID, u.Username)
		assert.False(t, res.Created, u.Username)
		assert.True(t, res.Changes.Empty(), "%s: %+v", u.Username, res.Changes)
	}
	assert.Empty(t, rec.take())

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	assert.Contains(t, string(readme), "```json\n"+demo.GroupMap+"```", "the README shows the demo's group map")
}
