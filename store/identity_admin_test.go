package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/store"
)

func orgNames(orgs []store.Organization) []string {
	names := make([]string, len(orgs))
	for i, o := range orgs {
		names[i] = o.Name
	}
	return names
}

func usernames(users []store.User) []string {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Username
	}
	return names
}

func teamNames(teams []store.Team) []string {
	names := make([]string, len(teams))
	for i, t := range teams {
		names[i] = t.Name
	}
	return names
}

func TestStore_ListOrganizations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	var ids []int64
	for _, name := range []string{"globex", "acme", "initech"} {
		o, err := s.CreateOrganization(ctx, name, "")
		require.NoError(t, err)
		ids = append(ids, o.ID)
	}

	for name, tc := range map[string]struct {
		filter store.OrganizationFilter
		opts   store.ListOptions
		want   []string
	}{
		"all by id":            {store.OrganizationFilter{}, store.ListOptions{}, []string{"globex", "acme", "initech"}},
		"by name":              {store.OrganizationFilter{}, store.ListOptions{OrderBy: []string{"name"}}, []string{"acme", "globex", "initech"}},
		"by name descending":   {store.OrganizationFilter{}, store.ListOptions{OrderBy: []string{"-name"}}, []string{"initech", "globex", "acme"}},
		"exact name":           {store.OrganizationFilter{Name: "acme"}, store.ListOptions{}, []string{"acme"}},
		"name is not a prefix": {store.OrganizationFilter{Name: "acm"}, store.ListOptions{}, []string{}},
		"some ids":             {store.OrganizationFilter{IDs: []int64{ids[2], ids[0]}}, store.ListOptions{}, []string{"globex", "initech"}},
		"no ids is none":       {store.OrganizationFilter{IDs: []int64{}}, store.ListOptions{}, []string{}},
		"name within ids":      {store.OrganizationFilter{Name: "acme", IDs: []int64{ids[0]}}, store.ListOptions{}, []string{}},
	} {
		t.Run(name, func(t *testing.T) {
			got, total, err := s.ListOrganizations(ctx, tc.filter, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, orgNames(got))
			assert.Equal(t, len(tc.want), total)
		})
	}

	t.Run("rows are complete", func(t *testing.T) {
		want, err := s.GetOrganization(ctx, ids[1])
		require.NoError(t, err)
		got, _, err := s.ListOrganizations(ctx, store.OrganizationFilter{Name: "acme"}, store.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, []store.Organization{want}, got)
	})
}

func TestStore_UpdateOrganization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	org, err := s.CreateOrganization(ctx, "acme", "old")
	require.NoError(t, err)
	_, err = s.CreateOrganization(ctx, "globex", "")
	require.NoError(t, err)

	got, err := s.UpdateOrganization(ctx, org.ID, "acme-corp", "new")
	require.NoError(t, err)
	assert.Equal(t, "acme-corp", got.Name)
	assert.Equal(t, "new", got.Description)
	assert.Equal(t, org.Created, got.Created)
	assert.True(t, got.Modified.After(org.Modified) || got.Modified.Equal(org.Modified))
	stored, err := s.GetOrganization(ctx, org.ID)
	require.NoError(t, err)
	assert.Equal(t, got, stored)

	_, err = s.UpdateOrganization(ctx, org.ID, "globex", "")
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = s.UpdateOrganization(ctx, org.ID, "", "")
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.UpdateOrganization(ctx, org.ID+1000, "x", "")
	assert.ErrorIs(t, err, store.ErrNotFound)
	stored, err = s.GetOrganization(ctx, org.ID)
	require.NoError(t, err)
	assert.Equal(t, "acme-corp", stored.Name, "failed updates change nothing")
}

func TestStore_ListUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	for _, u := range []store.NewUser{
		{Username: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Liddell"},
		{Username: "bob", Email: "bob@corp.example", FirstName: "Robert", LastName: "Smith"},
		{Username: "carol", Email: "c@example.com", FirstName: "Carol", LastName: "Smithers"},
		{Username: "under_score", Email: "u@example.com"},
		{Username: "percent%", Email: "p@example.com"},
	} {
		_, err := s.CreateUser(ctx, u)
		require.NoError(t, err)
	}

	for name, tc := range map[string]struct {
		filter store.UserFilter
		opts   store.ListOptions
		want   []string
	}{
		"all":                   {store.UserFilter{}, store.ListOptions{}, []string{"alice", "bob", "carol", "under_score", "percent%"}},
		"exact username":        {store.UserFilter{Username: "bob"}, store.ListOptions{}, []string{"bob"}},
		"search by username":    {store.UserFilter{Search: "ARO"}, store.ListOptions{}, []string{"carol"}},
		"search by last name":   {store.UserFilter{Search: "smith"}, store.ListOptions{OrderBy: []string{"-last_name"}}, []string{"carol", "bob"}},
		"search by first name":  {store.UserFilter{Search: "rober"}, store.ListOptions{}, []string{"bob"}},
		"search by email":       {store.UserFilter{Search: "corp.EXAMPLE"}, store.ListOptions{}, []string{"bob"}},
		"underscore is literal": {store.UserFilter{Search: "_"}, store.ListOptions{}, []string{"under_score"}},
		"percent is literal":    {store.UserFilter{Search: "%"}, store.ListOptions{}, []string{"percent%"}},
		"no match":              {store.UserFilter{Search: "zed"}, store.ListOptions{}, []string{}},
		"by email":              {store.UserFilter{Search: "example.com"}, store.ListOptions{OrderBy: []string{"email"}}, []string{"alice", "carol", "percent%", "under_score"}},
		"username and search":   {store.UserFilter{Username: "alice", Search: "smith"}, store.ListOptions{}, []string{}},
	} {
		t.Run(name, func(t *testing.T) {
			got, total, err := s.ListUsers(ctx, tc.filter, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, usernames(got))
			assert.Equal(t, len(tc.want), total)
		})
	}

	t.Run("rows are complete", func(t *testing.T) {
		want, err := s.GetUserByUsername(ctx, "bob")
		require.NoError(t, err)
		got, _, err := s.ListUsers(ctx, store.UserFilter{Username: "bob"}, store.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, []store.User{want}, got)
	})
}

func TestStore_ListUsersVisibility(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	initech, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	ops, err := s.CreateTeam(ctx, initech.ID, "ops", "")
	require.NoError(t, err)
	for _, name := range []string{"dave", "mallory"} {
		u, err := s.CreateUser(ctx, store.NewUser{Username: name})
		require.NoError(t, err)
		f.users[name] = u
	}
	require.NoError(t, s.AddTeamMember(ctx, ops.ID, f.users["dave"].ID))
	require.NoError(t, s.AddTeamMember(ctx, ops.ID, f.users["bob"].ID))
	require.NoError(t, s.AddOrgAdmin(ctx, initech.ID, f.users["mallory"].ID))

	viewer := func(name string, adminOf ...int64) *store.UserVisibility {
		return &store.UserVisibility{UserID: f.users[name].ID, AdminOrgIDs: adminOf}
	}
	for name, tc := range map[string]struct {
		filter store.UserFilter
		want   []string
	}{
		"superuser sees everyone": {store.UserFilter{},
			[]string{"admin", "erin", "alice", "bob", "carol", "dave", "mallory"}},
		"a user sees themselves": {store.UserFilter{Visibility: viewer("alice")}, []string{"alice"}},
		"an admin sees the organization's admins and team members": {store.UserFilter{Visibility: viewer("erin", f.org.ID)},
			[]string{"erin", "bob", "carol"}},
		"another organization's admin": {store.UserFilter{Visibility: viewer("mallory", initech.ID)},
			[]string{"bob", "dave", "mallory"}},
		"admin of both": {store.UserFilter{Visibility: viewer("erin", f.org.ID, initech.ID)},
			[]string{"erin", "bob", "carol", "dave", "mallory"}},
		"with a search": {store.UserFilter{Visibility: viewer("mallory", initech.ID), Search: "O"},
			[]string{"bob", "mallory"}},
		"unknown viewer": {store.UserFilter{Visibility: &store.UserVisibility{UserID: 999999}}, []string{}},
	} {
		t.Run(name, func(t *testing.T) {
			got, total, err := s.ListUsers(ctx, tc.filter, store.ListOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, usernames(got))
			assert.Equal(t, len(tc.want), total)
		})
	}
}

func TestStore_UpdateUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	u, err := s.CreateUser(ctx, store.NewUser{Username: "alice", Email: "a@example.com", FirstName: "Alice", LastName: "L"})
	require.NoError(t, err)

	t.Run("nil fields are unchanged", func(t *testing.T) {
		got, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{})
		require.NoError(t, err)
		want := u
		want.Modified = got.Modified
		assert.Equal(t, want, got)
	})

	t.Run("set fields change", func(t *testing.T) {
		got, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{
			Email: ptr("alice@corp.example"), LastName: ptr(""), IsSuperuser: ptr(true), IsActive: ptr(false),
		})
		require.NoError(t, err)
		assert.Equal(t, "alice@corp.example", got.Email)
		assert.Equal(t, "Alice", got.FirstName, "unset")
		assert.Equal(t, "", got.LastName, "set to empty, not left alone")
		assert.True(t, got.IsSuperuser)
		assert.False(t, got.IsActive)
		stored, err := s.GetUser(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, got, stored)

		got, err = s.UpdateUser(ctx, u.ID, store.UserUpdate{FirstName: ptr("Al"), IsSuperuser: ptr(false)})
		require.NoError(t, err)
		assert.Equal(t, "Al", got.FirstName)
		assert.False(t, got.IsSuperuser)
		assert.False(t, got.IsActive, "unset")
		assert.Equal(t, "alice@corp.example", got.Email, "unset")
	})

	t.Run("unknown user is ErrNotFound", func(t *testing.T) {
		_, err := s.UpdateUser(ctx, u.ID+1000, store.UserUpdate{Email: ptr("x")})
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_UserRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	initech, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	globex, err := s.CreateOrganization(ctx, "globex", "")
	require.NoError(t, err)
	ops, err := s.CreateTeam(ctx, initech.ID, "ops", "")
	require.NoError(t, err)
	audit, err := s.CreateTeam(ctx, f.org.ID, "audit", "")
	require.NoError(t, err)

	bob := f.users["bob"].ID
	require.NoError(t, s.AddTeamMember(ctx, ops.ID, bob))
	require.NoError(t, s.AddTeamMember(ctx, audit.ID, bob))
	require.NoError(t, s.AddOrgAdmin(ctx, globex.ID, bob))

	t.Run("teams, admin and member organizations", func(t *testing.T) {
		roles, err := s.UserRoles(ctx, bob)
		require.NoError(t, err)
		assert.Equal(t, store.Roles{
			Teams: []store.TeamRef{
				{ID: audit.ID, Name: "audit", OrganizationID: f.org.ID},
				{ID: f.sre.ID, Name: "sre", OrganizationID: f.org.ID},
				{ID: ops.ID, Name: "ops", OrganizationID: initech.ID},
			},
			AdminOf:  []int64{globex.ID},
			MemberOf: []int64{f.org.ID, initech.ID, globex.ID},
		}, roles)
	})

	t.Run("an admin in no team", func(t *testing.T) {
		roles, err := s.UserRoles(ctx, f.users["erin"].ID)
		require.NoError(t, err)
		assert.Equal(t, store.Roles{Teams: []store.TeamRef{}, AdminOf: []int64{f.org.ID}, MemberOf: []int64{f.org.ID}}, roles)
	})

	t.Run("admin and member of one organization counts once", func(t *testing.T) {
		require.NoError(t, s.AddOrgAdmin(ctx, f.org.ID, f.users["carol"].ID))
		roles, err := s.UserRoles(ctx, f.users["carol"].ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{f.org.ID}, roles.AdminOf)
		assert.Equal(t, []int64{f.org.ID}, roles.MemberOf)
		assert.Equal(t, []store.TeamRef{{ID: f.sre.ID, Name: "sre", OrganizationID: f.org.ID}}, roles.Teams)
	})

	t.Run("a user with no roles", func(t *testing.T) {
		roles, err := s.UserRoles(ctx, f.users["alice"].ID)
		require.NoError(t, err)
		assert.Equal(t, store.Roles{Teams: []store.TeamRef{}, AdminOf: []int64{}, MemberOf: []int64{}}, roles)
	})

	t.Run("changes show at once", func(t *testing.T) {
		require.NoError(t, s.RemoveTeamMember(ctx, ops.ID, bob))
		require.NoError(t, s.RemoveOrgAdmin(ctx, globex.ID, bob))
		roles, err := s.UserRoles(ctx, bob)
		require.NoError(t, err)
		assert.Equal(t, []int64{f.org.ID}, roles.MemberOf)
		assert.Empty(t, roles.AdminOf)
		assert.Len(t, roles.Teams, 2)
	})

	t.Run("unknown user is ErrNotFound", func(t *testing.T) {
		_, err := s.UserRoles(ctx, 999999)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_ListTeams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	initech, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	_, err = s.CreateTeam(ctx, initech.ID, "ops", "")
	require.NoError(t, err)
	_, err = s.CreateTeam(ctx, initech.ID, "sre", "")
	require.NoError(t, err)
	_, err = s.CreateTeam(ctx, f.org.ID, "audit", "")
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		filter store.TeamFilter
		opts   store.ListOptions
		want   []string
	}{
		"all":              {store.TeamFilter{}, store.ListOptions{}, []string{"sre", "ops", "sre", "audit"}},
		"one organization": {store.TeamFilter{OrganizationIDs: []int64{initech.ID}}, store.ListOptions{}, []string{"ops", "sre"}},
		"no organizations": {store.TeamFilter{OrganizationIDs: []int64{}}, store.ListOptions{}, []string{}},
		"by name":          {store.TeamFilter{Name: "sre"}, store.ListOptions{OrderBy: []string{"-organization"}}, []string{"sre", "sre"}},
		"name in org":      {store.TeamFilter{Name: "sre", OrganizationIDs: []int64{f.org.ID}}, store.ListOptions{}, []string{"sre"}},
		"ordered":          {store.TeamFilter{}, store.ListOptions{OrderBy: []string{"organization", "-name"}}, []string{"sre", "audit", "sre", "ops"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, total, err := s.ListTeams(ctx, tc.filter, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, teamNames(got))
			assert.Equal(t, len(tc.want), total)
		})
	}

	t.Run("rows are complete", func(t *testing.T) {
		got, _, err := s.ListTeams(ctx, store.TeamFilter{OrganizationIDs: []int64{f.org.ID}}, store.ListOptions{PageSize: 1})
		require.NoError(t, err)
		assert.Equal(t, []store.Team{f.sre}, got)
	})
}

func TestStore_UpdateTeam(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	_, err := s.CreateTeam(ctx, f.org.ID, "security", "")
	require.NoError(t, err)

	got, err := s.UpdateTeam(ctx, f.sre.ID, "platform", "Platform team")
	require.NoError(t, err)
	assert.Equal(t, "platform", got.Name)
	assert.Equal(t, "Platform team", got.Description)
	assert.Equal(t, f.org.ID, got.OrganizationID)
	stored, err := s.GetTeam(ctx, f.sre.ID)
	require.NoError(t, err)
	assert.Equal(t, got, stored)

	item, err := s.GetCatalogItem(ctx, f.item.ID)
	require.NoError(t, err)
	assert.Equal(t, "platform", item.ApproverTeamName, "items show the team's current name")

	_, err = s.UpdateTeam(ctx, f.sre.ID, "security", "")
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = s.UpdateTeam(ctx, f.sre.ID, "", "")
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.UpdateTeam(ctx, f.sre.ID+1000, "x", "")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestStore_DeleteTeam(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	t.Run("a team an item uses is ErrReferenced", func(t *testing.T) {
		require.ErrorIs(t, s.DeleteTeam(ctx, f.sre.ID), store.ErrReferenced)
		_, err := s.GetTeam(ctx, f.sre.ID)
		assert.NoError(t, err)
	})

	t.Run("a team a policy stage uses is ErrReferenced", func(t *testing.T) {
		team, err := s.CreateTeam(ctx, f.org.ID, "security", "")
		require.NoError(t, err)
		p, err := s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: f.org.ID, Name: "sec",
			Stages: []store.PolicyStage{{Name: "Security", ApproverTeamID: &team.ID, MinApprovers: 1, Timeout: time.Hour}},
		})
		require.NoError(t, err)
		require.ErrorIs(t, s.DeleteTeam(ctx, team.ID), store.ErrReferenced)

		require.NoError(t, s.DeletePolicy(ctx, p.ID))
		require.NoError(t, s.DeleteTeam(ctx, team.ID), "free once the policy is gone")
	})

	t.Run("an unused team goes with its memberships; submitted stages keep its name", func(t *testing.T) {
		team, err := s.CreateTeam(ctx, f.org.ID, "temp", "")
		require.NoError(t, err)
		require.NoError(t, s.AddTeamMember(ctx, team.ID, f.users["bob"].ID))
		in := f.newRequestInput()
		in.Stages[0].ApproverTeamID, in.Stages[0].ApproverTeamName = &team.ID, "temp"
		req, err := s.CreateRequest(ctx, in)
		require.NoError(t, err)

		require.NoError(t, s.DeleteTeam(ctx, team.ID))
		_, err = s.GetTeam(ctx, team.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		roles, err := s.UserRoles(ctx, f.users["bob"].ID)
		require.NoError(t, err)
		assert.Equal(t, []store.TeamRef{{ID: f.sre.ID, Name: "sre", OrganizationID: f.org.ID}}, roles.Teams)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Nil(t, got.Stages[0].ApproverTeamID)
		assert.Equal(t, "temp", got.Stages[0].ApproverTeamName)
	})

	t.Run("unknown team is ErrNotFound", func(t *testing.T) {
		assert.ErrorIs(t, s.DeleteTeam(ctx, 999999), store.ErrNotFound)
	})
}

func TestStore_ListTeamMemberUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	require.NoError(t, s.AddTeamMember(ctx, f.sre.ID, f.users["alice"].ID))
	require.NoError(t, s.SetUserActive(ctx, f.users["carol"].ID, false))

	got, total, err := s.ListTeamMemberUsers(ctx, f.sre.ID, store.ListOptions{OrderBy: []string{"username"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"alice", "bob", "carol"}, usernames(got), "inactive members included")
	assert.Equal(t, 3, total)
	assert.Equal(t, f.users["alice"], got[0])

	got, total, err = s.ListTeamMemberUsers(ctx, f.sre.ID, store.ListOptions{OrderBy: []string{"-username"}, PageSize: 2, Page: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"alice"}, usernames(got))
	assert.Equal(t, 3, total)

	empty, err := s.CreateTeam(ctx, f.org.ID, "empty", "")
	require.NoError(t, err)
	got, total, err = s.ListTeamMemberUsers(ctx, empty.ID, store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []store.User{}, got)
	assert.Zero(t, total)

	_, _, err = s.ListTeamMemberUsers(ctx, 999999, store.ListOptions{})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.ListTeamMemberUsers(ctx, f.sre.ID, store.ListOptions{OrderBy: []string{"password"}})
	assert.ErrorIs(t, err, store.ErrInvalid)
}

func TestStore_ListOrgAdminUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	require.NoError(t, s.AddOrgAdmin(ctx, f.org.ID, f.users["bob"].ID))
	other, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	require.NoError(t, s.AddOrgAdmin(ctx, other.ID, f.users["carol"].ID))

	got, total, err := s.ListOrgAdminUsers(ctx, f.org.ID, store.ListOptions{OrderBy: []string{"-username"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"erin", "bob"}, usernames(got))
	assert.Equal(t, 2, total)

	got, total, err = s.ListOrgAdminUsers(ctx, f.org.ID, store.ListOptions{PageSize: 1, Page: 3})
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Equal(t, 2, total)

	_, _, err = s.ListOrgAdminUsers(ctx, 999999, store.ListOptions{})
	assert.ErrorIs(t, err, store.ErrNotFound)
}
