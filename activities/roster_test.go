package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
)

func TestActivities_ResolveRoster(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	env := activityEnv(s.Activities)
	resolve := func(in activities.RosterInput) approval.Roster {
		t.Helper()
		v, err := env.ExecuteActivity(s.Activities.ResolveRoster, in)
		require.NoError(t, err)
		var r approval.Roster
		require.NoError(t, v.Get(&r))
		return r
	}
	org := s.Identity.Org.ID
	sre := s.Identity.Teams["sre"].ID

	t.Run("team stage", func(t *testing.T) {
		assert.Equal(t, approval.Roster{TeamMembers: []string{"bob", "carol"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}},
			resolve(activities.RosterInput{OrganizationID: org, TeamID: &sre}))
	})
	t.Run("org admins stage", func(t *testing.T) {
		assert.Equal(t, approval.Roster{TeamMembers: []string{}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}},
			resolve(activities.RosterInput{OrganizationID: org}))
	})
	t.Run("membership changes are seen", func(t *testing.T) {
		require.NoError(t, s.Store.RemoveTeamMember(context.Background(), sre, s.Identity.Users["bob"].ID))
		assert.Equal(t, []string{"carol"}, resolve(activities.RosterInput{OrganizationID: org, TeamID: &sre}).TeamMembers)
	})
	t.Run("an escalated stage: the escalation team's members and their delegations", func(t *testing.T) {
		ctx, now := context.Background(), time.Now()
		security, dave, alice := s.Identity.Teams["security"].ID, s.Identity.Users["dave"].ID, s.Identity.Users["alice"].ID
		ends := now.Add(time.Hour).UTC().Truncate(time.Microsecond)
		_, err := s.Store.CreateDelegation(ctx, store.NewDelegation{DelegatorID: dave, DelegateID: alice, Starts: now.Add(-time.Minute),
			Ends: ends, CreatedBy: dave, Now: now})
		require.NoError(t, err)
		r := resolve(activities.RosterInput{OrganizationID: org, TeamID: &sre, EscalationTeams: []int64{security, 987654}})
		assert.Equal(t, []string{"dave"}, r.Escalated, "a team gone adds nobody")
		require.Len(t, r.Delegations, 1)
		assert.Equal(t, "dave", r.Delegations[0].Delegator)
		assert.Equal(t, "alice", r.Delegations[0].Delegate)
		require.NotNil(t, r.NextDelegationChange)
		assert.True(t, ends.Equal(*r.NextDelegationChange))
		assert.Nil(t, resolve(activities.RosterInput{OrganizationID: org, TeamID: &sre}).Delegations,
			"without the escalation dave decides nothing, nor does his delegate")
	})
	t.Run("a deleted team leaves the stage to superusers", func(t *testing.T) {
		gone := int64(987654)
		r := resolve(activities.RosterInput{OrganizationID: org, TeamID: &gone})
		assert.Empty(t, r.TeamMembers)
		assert.Equal(t, []string{"admin"}, r.Superusers)
	})
}
