package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

// twoStages is the demo's large-environment plan: sre needs 2 approvers,
// then the org admins 1.
func (f *fixture) twoStages() []store.PolicyStage {
	return []store.PolicyStage{
		{
			Name: "SRE", ApproverTeamID: &f.sre.ID, MinApprovers: 2, DenialMessage: "Ask SRE",
			Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour, RequireRecentLogin: 15 * time.Minute,
		},
		{Name: "Admins", MinApprovers: 1, Timeout: time.Hour},
	}
}

func policyNames(ps []store.Policy) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}

func TestStore_CreatePolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	t.Run("round trip through GetPolicy", func(t *testing.T) {
		created, err := s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: f.org.ID, Name: "big envs", Priority: -3,
			Condition: "extra_vars.ttl_days > 5", Stages: f.twoStages(),
		})
		require.NoError(t, err)
		got, err := s.GetPolicy(ctx, created.ID)
		require.NoError(t, err)
		assert.Equal(t, created, got)

		assert.NotZero(t, got.ID)
		assert.Equal(t, f.org.ID, got.OrganizationID)
		assert.Equal(t, "big envs", got.Name)
		assert.Equal(t, -3, got.Priority)
		assert.Equal(t, "extra_vars.ttl_days > 5", got.Condition)
		assert.True(t, got.Enabled, "enabled unless told otherwise")
		assert.False(t, got.Created.IsZero())
		assert.Equal(t, []store.PolicyStage{
			{
				Position: 0, Name: "SRE", ApproverTeamID: &f.sre.ID, ApproverTeamName: "sre", MinApprovers: 2,
				DenialMessage: "Ask SRE", Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour, RequireRecentLogin: 15 * time.Minute,
			},
			{Position: 1, Name: "Admins", MinApprovers: 1, Timeout: time.Hour},
		}, got.Stages)
	})

	t.Run("deadline rules and escalation steps round trip", func(t *testing.T) {
		stages := f.twoStages()
		stages[0].MaxExtension, stages[0].WarnBefore = 48*time.Hour, 4*time.Hour
		stages[0].Escalations = []store.PolicyEscalation{{After: 8 * time.Hour, ApproverTeamID: f.sre.ID, ApproverTeamName: "ignored"}, {After: 12 * time.Hour, ApproverTeamID: f.sre.ID}}
		created, err := s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: "escalating", Stages: stages})
		require.NoError(t, err)
		got, err := s.GetPolicy(ctx, created.ID)
		require.NoError(t, err)
		assert.Equal(t, 48*time.Hour, got.Stages[0].MaxExtension)
		assert.Equal(t, 4*time.Hour, got.Stages[0].WarnBefore)
		assert.Equal(t, []store.PolicyEscalation{{After: 8 * time.Hour, ApproverTeamID: f.sre.ID, ApproverTeamName: "sre"},
			{After: 12 * time.Hour, ApproverTeamID: f.sre.ID, ApproverTeamName: "sre"}}, got.Stages[0].Escalations)
		assert.Nil(t, got.Stages[1].Escalations)

		_, err = s.CreateTeam(ctx, f.org.ID, "oncall", "")
		require.NoError(t, err)
		oncall, err := s.GetTeamByName(ctx, f.org.ID, "oncall")
		require.NoError(t, err)
		stages[1].Escalations = []store.PolicyEscalation{{After: time.Minute, ApproverTeamID: oncall.ID}}
		_, err = s.UpdatePolicy(ctx, created.ID, store.PolicyUpdate{Name: "escalating", Enabled: true, Stages: stages})
		require.NoError(t, err)
		assert.ErrorIs(t, s.DeleteTeam(ctx, oncall.ID), store.ErrReferenced, "a team an escalation step names stays")
		stages[1].Escalations = nil

		stages[0].Escalations = stages[0].Escalations[:1]
		updated, err := s.UpdatePolicy(ctx, created.ID, store.PolicyUpdate{Name: "escalating", Enabled: true, Stages: stages})
		require.NoError(t, err)
		assert.Len(t, updated.Stages[0].Escalations, 1, "an update replaces the steps with the stages")
		require.NoError(t, s.DeletePolicy(ctx, created.ID))
	})

	t.Run("without stages, disabled", func(t *testing.T) {
		got, err := s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: "waiver", Enabled: ptr(false)})
		require.NoError(t, err)
		assert.Equal(t, []store.PolicyStage{}, got.Stages)
		assert.False(t, got.Enabled)
		assert.Empty(t, got.Condition)
	})

	t.Run("positions come from the order, not the input", func(t *testing.T) {
		stages := f.twoStages()
		stages[0].Position, stages[1].Position = 7, 7
		stages[0].ApproverTeamName = "ignored"
		got, err := s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: "positions", Stages: stages})
		require.NoError(t, err)
		assert.Equal(t, 0, got.Stages[0].Position)
		assert.Equal(t, 1, got.Stages[1].Position)
		assert.Equal(t, "sre", got.Stages[0].ApproverTeamName)
	})

	other, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	theirs, err := s.CreateTeam(ctx, other.ID, "ops", "")
	require.NoError(t, err)

	countPolicies := func(t *testing.T) int {
		var n int
		require.NoError(t, s.DB().Get(&n, `SELECT (SELECT count(*) FROM approval_policies) + (SELECT count(*) FROM approval_policy_stages)`))
		return n
	}
	for name, tc := range map[string]struct {
		change func(*store.NewPolicy)
		want   error
	}{
		"duplicate name":       {func(p *store.NewPolicy) { p.Name = "waiver" }, store.ErrConflict},
		"empty name":           {func(p *store.NewPolicy) { p.Name = "" }, store.ErrInvalid},
		"unknown organization": {func(p *store.NewPolicy) { p.OrganizationID = 999999 }, store.ErrInvalidReference},
		"another org's team":   {func(p *store.NewPolicy) { p.Stages[1].ApproverTeamID = &theirs.ID }, store.ErrInvalidReference},
		"unknown team":         {func(p *store.NewPolicy) { p.Stages[0].ApproverTeamID = ptr(int64(999999)) }, store.ErrInvalidReference},
		"another org's escalation team": {func(p *store.NewPolicy) {
			p.Stages[0].Escalations = []store.PolicyEscalation{{After: time.Hour, ApproverTeamID: theirs.ID}}
		}, store.ErrInvalidReference},
		"empty stage name":   {func(p *store.NewPolicy) { p.Stages[1].Name = "" }, store.ErrInvalid},
		"no approvers":       {func(p *store.NewPolicy) { p.Stages[0].MinApprovers = 0 }, store.ErrInvalid},
		"no timeout":         {func(p *store.NewPolicy) { p.Stages[1].Timeout = 0 }, store.ErrInvalid},
		"sub-second timeout": {func(p *store.NewPolicy) { p.Stages[1].Timeout = time.Millisecond }, store.ErrInvalid},
		"negative reminder":  {func(p *store.NewPolicy) { p.Stages[1].ReminderInterval = -time.Hour }, store.ErrInvalid},
	} {
		t.Run("refuses "+name+" and keeps nothing", func(t *testing.T) {
			before := countPolicies(t)
			p := store.NewPolicy{OrganizationID: f.org.ID, Name: "new", Stages: f.twoStages()}
			tc.change(&p)
			_, err := s.CreatePolicy(ctx, p)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, countPolicies(t), "the policy row was rolled back with its stages")
		})
	}

	t.Run("another org's team is named in the error", func(t *testing.T) {
		stages := f.twoStages()
		stages[0].ApproverTeamID = &theirs.ID
		_, err := s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: "new", Stages: stages})
		assert.ErrorContains(t, err, "belongs to another organization")
	})

	t.Run("by name", func(t *testing.T) {
		want, err := s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: other.ID, Name: "waiver"})
		require.NoError(t, err)
		got, err := s.GetPolicyByName(ctx, other.ID, "waiver")
		require.NoError(t, err)
		assert.Equal(t, want, got, "the organization's own, not acme's namesake")
		got, err = s.GetPolicyByName(ctx, f.org.ID, "big envs")
		require.NoError(t, err)
		assert.Len(t, got.Stages, 2)
		_, err = s.GetPolicyByName(ctx, f.org.ID, "Waiver")
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("unknown id is ErrNotFound", func(t *testing.T) {
		_, err := s.GetPolicy(ctx, 999999)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_UpdatePolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	p, err := s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: "p", Stages: f.twoStages()})
	require.NoError(t, err)
	_, err = s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: "taken"})
	require.NoError(t, err)
	security, err := s.CreateTeam(ctx, f.org.ID, "security", "")
	require.NoError(t, err)

	t.Run("replaces fields and stages", func(t *testing.T) {
		got, err := s.UpdatePolicy(ctx, p.ID, store.PolicyUpdate{
			Name: "renamed", Priority: 4, Condition: `"prod" in item.tags`, Enabled: false,
			Stages: []store.PolicyStage{{Name: "Security", ApproverTeamID: &security.ID, MinApprovers: 1, Timeout: 2 * time.Hour}},
		})
		require.NoError(t, err)
		stored, err := s.GetPolicy(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, stored, got)
		assert.Equal(t, "renamed", got.Name)
		assert.Equal(t, 4, got.Priority)
		assert.Equal(t, `"prod" in item.tags`, got.Condition)
		assert.False(t, got.Enabled)
		assert.Equal(t, p.Created, got.Created)
		assert.Equal(t, p.OrganizationID, got.OrganizationID)
		assert.Equal(t, []store.PolicyStage{{
			Position: 0, Name: "Security", ApproverTeamID: &security.ID, ApproverTeamName: "security",
			MinApprovers: 1, Timeout: 2 * time.Hour,
		}}, got.Stages)
	})

	t.Run("no stages removes them all", func(t *testing.T) {
		got, err := s.UpdatePolicy(ctx, p.ID, store.PolicyUpdate{Name: "renamed", Enabled: true})
		require.NoError(t, err)
		assert.Equal(t, []store.PolicyStage{}, got.Stages)
		assert.True(t, got.Enabled)
	})

	t.Run("a refused update changes nothing", func(t *testing.T) {
		before, err := s.UpdatePolicy(ctx, p.ID, store.PolicyUpdate{Name: "renamed", Stages: f.twoStages()})
		require.NoError(t, err)

		other, err := s.CreateOrganization(ctx, "initech", "")
		require.NoError(t, err)
		theirs, err := s.CreateTeam(ctx, other.ID, "ops", "")
		require.NoError(t, err)
		stages := f.twoStages()
		stages[1].ApproverTeamID = &theirs.ID
		_, err = s.UpdatePolicy(ctx, p.ID, store.PolicyUpdate{Name: "changed", Stages: stages})
		require.ErrorIs(t, err, store.ErrInvalidReference)
		assert.ErrorContains(t, err, "belongs to another organization")

		_, err = s.UpdatePolicy(ctx, p.ID, store.PolicyUpdate{Name: "taken", Stages: f.twoStages()})
		require.ErrorIs(t, err, store.ErrConflict)
		stages = f.twoStages()
		stages[0].MinApprovers = 0
		_, err = s.UpdatePolicy(ctx, p.ID, store.PolicyUpdate{Name: "changed", Stages: stages})
		require.ErrorIs(t, err, store.ErrInvalid)

		after, err := s.GetPolicy(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, before, after)
	})

	t.Run("unknown id is ErrNotFound", func(t *testing.T) {
		_, err := s.UpdatePolicy(ctx, 999999, store.PolicyUpdate{Name: "x"})
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_DeletePolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	p, err := s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: "p", Stages: f.twoStages()})
	require.NoError(t, err)

	require.ErrorIs(t, s.DeleteOrganization(ctx, f.org.ID), store.ErrReferenced, "an organization with policies stays")
	require.NoError(t, s.DeletePolicy(ctx, p.ID))
	_, err = s.GetPolicy(ctx, p.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	var stages int
	require.NoError(t, s.DB().Get(&stages, `SELECT count(*) FROM approval_policy_stages WHERE policy_id = $1`, p.ID))
	assert.Zero(t, stages, "stages go with their policy")
	assert.ErrorIs(t, s.DeletePolicy(ctx, p.ID), store.ErrNotFound)
}

func TestStore_ListPolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	other, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	ops, err := s.CreateTeam(ctx, other.ID, "ops", "")
	require.NoError(t, err)

	for _, n := range []store.NewPolicy{
		{OrganizationID: f.org.ID, Name: "large", Priority: 1, Stages: f.twoStages()},
		{OrganizationID: f.org.ID, Name: "default", Priority: 10, Stages: f.twoStages()[:1]},
		{OrganizationID: other.ID, Name: "ops", Priority: 5, Stages: []store.PolicyStage{
			{Name: "Ops", ApproverTeamID: &ops.ID, MinApprovers: 1, Timeout: time.Hour},
		}},
		{OrganizationID: f.org.ID, Name: "empty", Priority: 1},
	} {
		_, err := s.CreatePolicy(ctx, n)
		require.NoError(t, err)
	}

	for name, tc := range map[string]struct {
		filter store.PolicyFilter
		opts   store.ListOptions
		want   []string
	}{
		"all by id":        {store.PolicyFilter{}, store.ListOptions{}, []string{"large", "default", "ops", "empty"}},
		"one organization": {store.PolicyFilter{OrganizationIDs: []int64{other.ID}}, store.ListOptions{}, []string{"ops"}},
		"no organizations": {store.PolicyFilter{OrganizationIDs: []int64{}}, store.ListOptions{}, []string{}},
		"by priority":      {store.PolicyFilter{}, store.ListOptions{OrderBy: []string{"priority", "-name"}}, []string{"large", "empty", "ops", "default"}},
		"by name":          {store.PolicyFilter{OrganizationIDs: []int64{f.org.ID}}, store.ListOptions{OrderBy: []string{"name"}}, []string{"default", "empty", "large"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, total, err := s.ListPolicies(ctx, tc.filter, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, policyNames(got))
			assert.Equal(t, len(tc.want), total)
		})
	}

	t.Run("each policy carries its own stages", func(t *testing.T) {
		got, total, err := s.ListPolicies(ctx, store.PolicyFilter{}, store.ListOptions{})
		require.NoError(t, err)
		require.Equal(t, 4, total)
		for _, p := range got {
			want, err := s.GetPolicy(ctx, p.ID)
			require.NoError(t, err)
			assert.Equal(t, want, p, p.Name)
		}
		assert.Len(t, got[0].Stages, 2)
		assert.Len(t, got[1].Stages, 1)
		assert.Equal(t, "ops", got[2].Stages[0].ApproverTeamName)
		assert.Equal(t, []store.PolicyStage{}, got[3].Stages)
	})

	t.Run("pages", func(t *testing.T) {
		got, total, err := s.ListPolicies(ctx, store.PolicyFilter{}, store.ListOptions{PageSize: 3, Page: 2})
		require.NoError(t, err)
		assert.Equal(t, []string{"empty"}, policyNames(got))
		assert.Equal(t, 4, total)
		got, total, err = s.ListPolicies(ctx, store.PolicyFilter{}, store.ListOptions{PageSize: 3, Page: 3})
		require.NoError(t, err)
		assert.Empty(t, got)
		assert.Equal(t, 4, total)
	})
}

func TestStore_EnabledPolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	other, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)

	for _, n := range []store.NewPolicy{
		{OrganizationID: f.org.ID, Name: "fallback", Priority: 100, Stages: f.twoStages()[1:]},
		{OrganizationID: f.org.ID, Name: "off", Priority: 0, Enabled: ptr(false), Stages: f.twoStages()},
		{OrganizationID: f.org.ID, Name: "large", Priority: 1, Condition: "extra_vars.ttl_days > 5", Stages: f.twoStages()},
		{OrganizationID: other.ID, Name: "theirs", Priority: -5},
		{OrganizationID: f.org.ID, Name: "tie", Priority: 1, Stages: f.twoStages()[:1]},
	} {
		_, err := s.CreatePolicy(ctx, n)
		require.NoError(t, err)
	}

	got, err := s.EnabledPolicies(ctx, f.org.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"large", "tie", "fallback"}, policyNames(got),
		"enabled ones of the organization, by priority then id")
	assert.Equal(t, "extra_vars.ttl_days > 5", got[0].Condition)
	assert.Len(t, got[0].Stages, 2)
	assert.Equal(t, "sre", got[0].Stages[0].ApproverTeamName)
	assert.Len(t, got[1].Stages, 1)
	assert.Equal(t, "Admins", got[2].Stages[0].Name)
	assert.Zero(t, got[2].Stages[0].Position)

	got, err = s.EnabledPolicies(ctx, 999999)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestStore_CreatePolicy_Limit: with a limit, an organization cannot get
// more policies than it allows, not even by creating them concurrently;
// other organizations are unaffected.
func TestStore_CreatePolicy_Limit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	const limit = 5
	_, err := s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: "existing"})
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: fmt.Sprint("p", i), MaxPerOrganization: limit})
		})
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		if err == nil {
			created++
			continue
		}
		require.ErrorIs(t, err, store.ErrLimit)
	}
	assert.Equal(t, limit-1, created)
	all, total, err := s.ListPolicies(ctx, store.PolicyFilter{OrganizationIDs: []int64{f.org.ID}}, store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, limit, total, "%v", policyNames(all))

	other, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	_, err = s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: other.ID, Name: "first", MaxPerOrganization: limit})
	require.NoError(t, err)
	_, err = s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.org.ID, Name: "no limit given"})
	require.NoError(t, err, "the limit applies only when asked for")
	_, err = s.CreatePolicy(ctx, store.NewPolicy{OrganizationID: 987654, Name: "x", MaxPerOrganization: limit})
	require.ErrorIs(t, err, store.ErrInvalidReference)
}
