package devidp_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/internal/devidp"
)

// The provider's demo users are the demo organization's people: signing
// in through it gives the seeded names and e-mails, and the groups match
// the seeded teams (erin, the organization's admin, in acme-admins).
func TestDemoUsers_MatchTheDemoOrganization(t *testing.T) {
	users := devidp.DemoUsers()
	seeded := demo.Users()
	require.Len(t, users, len(seeded))
	for i, s := range seeded {
		u := users[i]
		assert.Equal(t, s.Username, u.Username)
		assert.Equal(t, s.Email, u.Email, s.Username)
		assert.Equal(t, s.FirstName, u.GivenName, s.Username)
		assert.Equal(t, s.LastName, u.FamilyName, s.Username)
		assert.Equal(t, devidp.DemoPassword(s.Username), u.Password)
	}
	members := func(group string) []string {
		var names []string
		for _, u := range users {
			if slices.Contains(u.Groups, group) {
				names = append(names, u.Username)
			}
		}
		return names
	}
	for team, want := range demo.TeamMembers() {
		assert.ElementsMatch(t, want, members(team), team)
	}
	assert.Equal(t, []string{"erin"}, members(devidp.GroupAcmeAdmins))
}
