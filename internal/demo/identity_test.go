package demo_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestSeedIdentity_IsIdempotent(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)

	first, err := demo.SeedIdentity(ctx, st)
	require.NoError(t, err)
	second, err := demo.SeedIdentity(ctx, st)
	require.NoError(t, err)
	assert.Equal(t, first, second, "a second seeding finds what the first created")

	assert.True(t, first.Users["admin"].IsSuperuser)
	admins, err := st.ListOrgAdmins(ctx, first.Org.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"erin"}, admins)
	sre, err := st.ListTeamMembers(ctx, first.Teams["sre"].ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"bob", "carol"}, sre)
	security, err := st.ListTeamMembers(ctx, first.Teams["security"].ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"dave"}, security)

	var users int
	require.NoError(t, st.DB().GetContext(ctx, &users, `SELECT count(*) FROM users`))
	assert.Equal(t, 6, users)
}
