package sso_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/sso"
	"github.com/countersign/countersign/store"
)

// directory is an organization directory for Resolve: acme (1) with teams
// sre (10) and security (11), beta (2) with team ops (20).
type directory struct{ fail error }

func (d directory) GetOrganizationByName(_ context.Context, name string) (store.Organization, error) {
	if d.fail != nil {
		return store.Organization{}, d.fail
	}
	ids := map[string]int64{"acme": 1, "beta": 2}
	if id, ok := ids[name]; ok {
		return store.Organization{ID: id, Name: name}, nil
	}
	return store.Organization{}, store.ErrNotFound
}

func (directory) GetTeamByName(_ context.Context, orgID int64, name string) (store.Team, error) {
	ids := map[int64]map[string]int64{1: {"sre": 10, "security": 11}, 2: {"ops": 20}}
	if id, ok := ids[orgID][name]; ok {
		return store.Team{ID: id, OrganizationID: orgID, Name: name}, nil
	}
	return store.Team{}, store.ErrNotFound
}

func mapping(t *testing.T, doc string) *sso.Mapping {
	t.Helper()
	gm, err := sso.ParseGroupMap(strings.NewReader(doc))
	require.NoError(t, err)
	m, err := gm.Resolve(context.Background(), directory{})
	require.NoError(t, err)
	return m
}

func TestGroupMap_Resolve(t *testing.T) {
	gm, err := sso.ParseGroupMap(strings.NewReader(`{"rules": [
		{"group": "sre", "organization": "acme", "team": "sre"},
		{"group": "dba", "organization": "acme", "team": "dba"},
		{"group": "ghosts", "organization": "ghost", "role": "admin"},
		{"group": "ops", "superuser": true}
	]}`))
	require.NoError(t, err)
	_, err = gm.Resolve(context.Background(), directory{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `group map: rule 2 (group "dba" → team "dba" of organization "acme"): organization "acme" has no team "dba"`)
	assert.Contains(t, err.Error(), `group map: rule 3 (group "ghosts" → admin of organization "ghost"): there is no organization "ghost"`)
	assert.NotContains(t, err.Error(), "rule 1")

	down := errors.New("database down")
	_, err = gm.Resolve(context.Background(), directory{fail: down})
	assert.ErrorIs(t, err, down)
}

func TestMapping_Plan(t *testing.T) {
	m := mapping(t, `{"rules": [
		{"group": "sre", "organization": "acme", "team": "sre"},
		{"group": "acme-admins", "organization": "acme", "role": "admin"},
		{"group": "developers", "organization": "acme", "role": "member"},
		{"group": "ops", "superuser": true}
	]}`)
	yes, no := true, false
	team := func(id, org int64) store.TeamRef { return store.TeamRef{ID: id, OrganizationID: org} }

	for name, tc := range map[string]struct {
		groups []string
		have   sso.Standing
		want   sso.Plan
	}{
		"nothing held, nothing granted": {},
		"unknown groups grant nothing":  {groups: []string{"SRE", "everyone"}},
		"first sign-in": {groups: []string{"sre", "acme-admins", "developers", "ops"},
			want: sso.Plan{JoinTeams: []int64{10}, BecomeAdmin: []int64{1}, JoinOrgs: []int64{1}, Superuser: &yes}},
		"in line already": {groups: []string{"sre", "acme-admins", "developers", "ops"},
			have: sso.Standing{Roles: store.Roles{Teams: []store.TeamRef{team(10, 1)}, AdminOf: []int64{1}, MemberOf: []int64{1}},
				DirectMemberOf: []int64{1}, Superuser: true}},
		"a group removed": {groups: []string{"acme-admins"},
			have: sso.Standing{Roles: store.Roles{Teams: []store.TeamRef{team(10, 1)}, AdminOf: []int64{1}, MemberOf: []int64{1}}},
			want: sso.Plan{LeaveTeams: []int64{10}}},
		"every group removed": {
			have: sso.Standing{Roles: store.Roles{Teams: []store.TeamRef{team(10, 1)}, AdminOf: []int64{1}, MemberOf: []int64{1}},
				DirectMemberOf: []int64{1}, Superuser: true},
			want: sso.Plan{LeaveTeams: []int64{10}, StopAdmin: []int64{1}, LeaveOrgs: []int64{1}, Superuser: &no}},
		"unmanaged memberships untouched": {groups: []string{"sre"},
			have: sso.Standing{Roles: store.Roles{Teams: []store.TeamRef{team(11, 1), team(20, 2)}, AdminOf: []int64{2}, MemberOf: []int64{1, 2}},
				DirectMemberOf: []int64{2}},
			want: sso.Plan{JoinTeams: []int64{10}}},
		"membership through a team is no direct membership": {groups: []string{"sre"},
			have: sso.Standing{Roles: store.Roles{Teams: []store.TeamRef{team(10, 1)}, MemberOf: []int64{1}}}},
		"direct membership joined even when held through a team": {groups: []string{"sre", "developers"},
			have: sso.Standing{Roles: store.Roles{Teams: []store.TeamRef{team(10, 1)}, MemberOf: []int64{1}}},
			want: sso.Plan{JoinOrgs: []int64{1}}},
	} {
		t.Run(name, func(t *testing.T) {
			got := m.Plan(tc.groups, tc.have)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want.Empty(), got.Empty())
		})
	}

	t.Run("superuser status is left alone without a superuser rule", func(t *testing.T) {
		m := mapping(t, `{"rules": [{"group": "sre", "organization": "acme", "team": "sre"}]}`)
		assert.True(t, m.Plan(nil, sso.Standing{Superuser: true}).Empty())
		assert.True(t, m.Plan([]string{"ops"}, sso.Standing{}).Empty())
	})

	t.Run("one group, several grants; one grant, several groups", func(t *testing.T) {
		m := mapping(t, `{"rules": [
			{"group": "sre", "organization": "acme", "team": "sre"},
			{"group": "sre", "organization": "beta", "team": "ops"},
			{"group": "oncall", "organization": "acme", "team": "sre"}
		]}`)
		assert.Equal(t, sso.Plan{JoinTeams: []int64{10, 20}}, m.Plan([]string{"sre"}, sso.Standing{}))
		held := sso.Standing{Roles: store.Roles{Teams: []store.TeamRef{team(10, 1), team(20, 2)}, MemberOf: []int64{1, 2}}}
		assert.Equal(t, sso.Plan{LeaveTeams: []int64{20}}, m.Plan([]string{"oncall"}, held),
			"acme/sre stays: another group grants it")
	})
}
