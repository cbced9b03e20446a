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

func TestStore_Organizations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)

	org, err := s.CreateOrganization(ctx, "acme", "Acme Corp")
	require.NoError(t, err)
	assert.NotZero(t, org.ID)
	assert.Equal(t, "Acme Corp", org.Description)
	assert.False(t, org.Created.IsZero())

	t.Run("get by id and by name", func(t *testing.T) {
		got, err := s.GetOrganization(ctx, org.ID)
		require.NoError(t, err)
		assert.Equal(t, org, got)
		got, err = s.GetOrganizationByName(ctx, "acme")
		require.NoError(t, err)
		assert.Equal(t, org, got)
	})

	t.Run("unknown is ErrNotFound", func(t *testing.T) {
		_, err := s.GetOrganization(ctx, org.ID+1000)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.GetOrganizationByName(ctx, "ACME")
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("duplicate name is ErrConflict", func(t *testing.T) {
		_, err := s.CreateOrganization(ctx, "acme", "again")
		assert.ErrorIs(t, err, store.ErrConflict)
	})

	t.Run("empty name is ErrInvalid", func(t *testing.T) {
		_, err := s.CreateOrganization(ctx, "", "")
		assert.ErrorIs(t, err, store.ErrInvalid)
	})

	t.Run("delete cascades to teams, refuses with requests", func(t *testing.T) {
		f := newFixture(t)
		f.newRequest(t)
		err := f.s.DeleteOrganization(ctx, f.org.ID)
		require.ErrorIs(t, err, store.ErrReferenced)

		other, err := f.s.CreateOrganization(ctx, "initech", "")
		require.NoError(t, err)
		team, err := f.s.CreateTeam(ctx, other.ID, "ops", "")
		require.NoError(t, err)
		require.NoError(t, f.s.DeleteOrganization(ctx, other.ID))
		_, err = f.s.GetTeam(ctx, team.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, f.s.DeleteOrganization(ctx, other.ID), store.ErrNotFound)
	})
}

func TestStore_Users(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)

	u, err := s.CreateUser(ctx, store.NewUser{
		Username: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Liddell",
	})
	require.NoError(t, err)
	assert.True(t, u.IsActive, "new users are active")
	assert.False(t, u.IsSuperuser)
	assert.Equal(t, "Liddell", u.LastName)

	t.Run("get by id and by username", func(t *testing.T) {
		got, err := s.GetUser(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, u, got)
		got, err = s.GetUserByUsername(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, u, got)
	})

	t.Run("unknown is ErrNotFound", func(t *testing.T) {
		_, err := s.GetUser(ctx, u.ID+1000)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.GetUserByUsername(ctx, "nobody")
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, s.SetUserActive(ctx, u.ID+1000, false), store.ErrNotFound)
		assert.ErrorIs(t, s.DeleteUser(ctx, u.ID+1000), store.ErrNotFound)
	})

	t.Run("duplicate username is ErrConflict", func(t *testing.T) {
		_, err := s.CreateUser(ctx, store.NewUser{Username: "alice"})
		assert.ErrorIs(t, err, store.ErrConflict)
		assert.NotErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("deactivate and reactivate", func(t *testing.T) {
		require.NoError(t, s.SetUserActive(ctx, u.ID, false))
		got, err := s.GetUser(ctx, u.ID)
		require.NoError(t, err)
		assert.False(t, got.IsActive)
		require.NoError(t, s.SetUserActive(ctx, u.ID, true))
		got, err = s.GetUser(ctx, u.ID)
		require.NoError(t, err)
		assert.True(t, got.IsActive)
	})

	t.Run("delete removes memberships, refuses a requester", func(t *testing.T) {
		f := newFixture(t)
		f.newRequest(t)
		require.ErrorIs(t, f.s.DeleteUser(ctx, f.users["alice"].ID), store.ErrReferenced)

		require.NoError(t, f.s.DeleteUser(ctx, f.users["bob"].ID))
		members, err := f.s.ListTeamMembers(ctx, f.sre.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"carol"}, members)
	})
}

func TestStore_Teams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	t.Run("get", func(t *testing.T) {
		got, err := s.GetTeam(ctx, f.sre.ID)
		require.NoError(t, err)
		assert.Equal(t, f.sre, got)
		assert.Equal(t, f.org.ID, got.OrganizationID)
		_, err = s.GetTeam(ctx, f.sre.ID+1000)
		assert.ErrorIs(t, err, store.ErrNotFound)
		byName, err := s.GetTeamByName(ctx, f.org.ID, "sre")
		require.NoError(t, err)
		assert.Equal(t, f.sre, byName)
		_, err = s.GetTeamByName(ctx, f.org.ID+1000, "sre")
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("names are unique per organization", func(t *testing.T) {
		_, err := s.CreateTeam(ctx, f.org.ID, "sre", "")
		assert.ErrorIs(t, err, store.ErrConflict)
		other, err := s.CreateOrganization(ctx, "initech", "")
		require.NoError(t, err)
		_, err = s.CreateTeam(ctx, other.ID, "sre", "")
		assert.NoError(t, err)
	})

	t.Run("unknown organization is ErrInvalidReference", func(t *testing.T) {
		_, err := s.CreateTeam(ctx, f.org.ID+1000, "ghosts", "")
		assert.ErrorIs(t, err, store.ErrInvalidReference)
	})

	t.Run("members", func(t *testing.T) {
		team, err := s.CreateTeam(ctx, f.org.ID, "security", "")
		require.NoError(t, err)
		for _, name := range []string{"carol", "alice", "bob"} {
			require.NoError(t, s.AddTeamMember(ctx, team.ID, f.users[name].ID))
		}
		require.NoError(t, s.AddTeamMember(ctx, team.ID, f.users["alice"].ID), "adding twice is a no-op")
		members, err := s.ListTeamMembers(ctx, team.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"alice", "bob", "carol"}, members)

		require.NoError(t, s.RemoveTeamMember(ctx, team.ID, f.users["bob"].ID))
		assert.ErrorIs(t, s.RemoveTeamMember(ctx, team.ID, f.users["bob"].ID), store.ErrNotFound)
		members, err = s.ListTeamMembers(ctx, team.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"alice", "carol"}, members)

		empty, err := s.CreateTeam(ctx, f.org.ID, "empty", "")
		require.NoError(t, err)
		members, err = s.ListTeamMembers(ctx, empty.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{}, members)
	})

	t.Run("membership references must exist", func(t *testing.T) {
		assert.ErrorIs(t, s.AddTeamMember(ctx, f.sre.ID, 999999), store.ErrInvalidReference)
		assert.ErrorIs(t, s.AddTeamMember(ctx, 999999, f.users["bob"].ID), store.ErrInvalidReference)
		_, err := s.ListTeamMembers(ctx, 999999)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_OrgAdmins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	require.NoError(t, s.AddOrgAdmin(ctx, f.org.ID, f.users["carol"].ID))
	require.NoError(t, s.AddOrgAdmin(ctx, f.org.ID, f.users["carol"].ID), "adding twice is a no-op")
	admins, err := s.ListOrgAdmins(ctx, f.org.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"carol", "erin"}, admins)

	require.NoError(t, s.RemoveOrgAdmin(ctx, f.org.ID, f.users["carol"].ID))
	assert.ErrorIs(t, s.RemoveOrgAdmin(ctx, f.org.ID, f.users["carol"].ID), store.ErrNotFound)
	admins, err = s.ListOrgAdmins(ctx, f.org.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"erin"}, admins)

	assert.ErrorIs(t, s.AddOrgAdmin(ctx, f.org.ID, 999999), store.ErrInvalidReference)
	_, err = s.ListOrgAdmins(ctx, 999999)
	assert.ErrorIs(t, err, store.ErrNotFound)

	t.Run("superusers, inactive ones included", func(t *testing.T) {
		root, err := s.CreateUser(ctx, store.NewUser{Username: "root", IsSuperuser: true})
		require.NoError(t, err)
		require.NoError(t, s.SetUserActive(ctx, root.ID, false))
		supers, err := s.ListSuperusers(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"admin", "root"}, supers)
	})
}

func TestStore_Roster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	// Byte order: upper case sorts before lower case whatever the
	// database's collation.
	zed, err := s.CreateUser(ctx, store.NewUser{Username: "Zed"})
	require.NoError(t, err)
	require.NoError(t, s.AddTeamMember(ctx, f.sre.ID, zed.ID))
	dormant, err := s.CreateUser(ctx, store.NewUser{Username: "dormant", IsSuperuser: true})
	require.NoError(t, err)
	require.NoError(t, s.AddTeamMember(ctx, f.sre.ID, dormant.ID))
	require.NoError(t, s.AddOrgAdmin(ctx, f.org.ID, dormant.ID))
	require.NoError(t, s.SetUserActive(ctx, dormant.ID, false))

	t.Run("team stage", func(t *testing.T) {
		r, err := s.Roster(ctx, f.org.ID, &f.sre.ID)
		require.NoError(t, err)
		assert.Equal(t, store.Roster{
			TeamName:    "sre",
			TeamMembers: []string{"Zed", "bob", "carol"},
			OrgAdmins:   []string{"erin"},
			Superusers:  []string{"admin"},
		}, r, "inactive users are never on a roster")
	})

	t.Run("org-admin stage", func(t *testing.T) {
		r, err := s.Roster(ctx, f.org.ID, nil)
		require.NoError(t, err)
		assert.Equal(t, store.Roster{
			TeamMembers: []string{},
			OrgAdmins:   []string{"erin"},
			Superusers:  []string{"admin"},
		}, r)
	})

	t.Run("membership changes show at once", func(t *testing.T) {
		require.NoError(t, s.RemoveTeamMember(ctx, f.sre.ID, zed.ID))
		r, err := s.Roster(ctx, f.org.ID, &f.sre.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"bob", "carol"}, r.TeamMembers)
	})

	t.Run("a team of another organization is ErrNotFound", func(t *testing.T) {
		other, err := s.CreateOrganization(ctx, "initech", "")
		require.NoError(t, err)
		theirs, err := s.CreateTeam(ctx, other.ID, "ops", "")
		require.NoError(t, err)
		require.NoError(t, s.AddTeamMember(ctx, theirs.ID, f.users["bob"].ID))
		_, err = s.Roster(ctx, f.org.ID, &theirs.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.Roster(ctx, other.ID, &f.sre.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("unknown organization or team is ErrNotFound", func(t *testing.T) {
		_, err := s.Roster(ctx, f.org.ID+1000, nil)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.Roster(ctx, f.org.ID, ptr(f.sre.ID+1000))
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

// A roster is read on every submission and every stage, in a query that
// costs PostgreSQL several times more to plan than to run: it is planned
// once per connection, and stays right for either kind of stage.
func TestStore_RosterStopsBeingPlanned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixtureOnOneConnection(t)
	s := f.s
	for range 8 {
		team, err := s.Roster(ctx, f.org.ID, &f.sre.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"bob", "carol"}, team.TeamMembers)
		admins, err := s.Roster(ctx, f.org.ID, nil)
		require.NoError(t, err)
		assert.Equal(t, []string{}, admins.TeamMembers)
		assert.Equal(t, []string{"erin"}, admins.OrgAdmins)
	}
	assertSettledOnGenericPlan(t, s, "%AS org_found%")
}

func TestStore_UserContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	require.NoError(t, f.s.SetUserActive(ctx, f.users["carol"].ID, false))

	got, err := f.s.UserContacts(ctx, []string{"erin", "bob", "carol", "nobody", "bob"})
	require.NoError(t, err)
	assert.Equal(t, []store.Contact{
		{Username: "bob", Email: "bob@example.com"},
		{Username: "erin", Email: "erin@example.com"},
	}, got, "sorted, without inactive, unknown or repeated users")

	got, err = f.s.UserContacts(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// Values travel as parameters, never as SQL text.
func TestStore_HostileInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	const evil = `x'); DROP TABLE users; --`

	u, err := s.CreateUser(ctx, store.NewUser{Username: evil, Email: `e'@x`, FirstName: `"; DELETE FROM teams; --`})
	require.NoError(t, err)
	got, err := s.GetUserByUsername(ctx, evil)
	require.NoError(t, err)
	assert.Equal(t, u, got)
	assert.Equal(t, evil, got.Username)

	require.NoError(t, s.AddTeamMember(ctx, f.sre.ID, u.ID))
	r, err := s.Roster(ctx, f.org.ID, &f.sre.ID)
	require.NoError(t, err)
	assert.Contains(t, r.TeamMembers, evil)

	contacts, err := s.UserContacts(ctx, []string{evil, `bob", "erin`})
	require.NoError(t, err)
	assert.Equal(t, []store.Contact{{Username: evil, Email: `e'@x`}}, contacts)

	org, err := s.CreateOrganization(ctx, evil, evil)
	require.NoError(t, err)
	byName, err := s.GetOrganizationByName(ctx, evil)
	require.NoError(t, err)
	assert.Equal(t, org.ID, byName.ID)

	_, total, err := s.ListPendingFor(ctx, evil, 10, 0)
	require.NoError(t, err)
	assert.Zero(t, total)

	// Every table is still there and intact.
	bob, err := s.GetUserByUsername(ctx, "bob")
	require.NoError(t, err)
	assert.Equal(t, "bob@example.com", bob.Email)
	_, err = s.GetTeam(ctx, f.sre.ID)
	require.NoError(t, err)
}

func TestStore_OrgMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	u, err := s.CreateUser(ctx, store.NewUser{Username: "requester-only"})
	require.NoError(t, err)

	roles, err := s.UserRoles(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, roles.MemberOf)

	require.NoError(t, s.AddOrgMember(ctx, f.org.ID, u.ID))
	require.NoError(t, s.AddOrgMember(ctx, f.org.ID, u.ID), "adding twice is a no-op")
	roles, err = s.UserRoles(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, []int64{f.org.ID}, roles.MemberOf, "members belong without a team")
	assert.Empty(t, roles.AdminOf)

	members, total, err := s.ListOrgMemberUsers(ctx, f.org.ID, store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, total)
	assert.Equal(t, "requester-only", members[0].Username)
	_, _, err = s.ListOrgMemberUsers(ctx, f.org.ID+1000, store.ListOptions{})
	assert.ErrorIs(t, err, store.ErrNotFound)

	admin, err := s.CreateUser(ctx, store.NewUser{Username: "member-admin"})
	require.NoError(t, err)
	require.NoError(t, s.AddOrgAdmin(ctx, f.org.ID, admin.ID))
	visible, _, err := s.ListUsers(ctx, store.UserFilter{Visibility: &store.UserVisibility{UserID: admin.ID, AdminOrgIDs: []int64{f.org.ID}}}, store.ListOptions{PageSize: 200})
	require.NoError(t, err)
	var names []string
	for _, v := range visible {
		names = append(names, v.Username)
	}
	assert.Contains(t, names, "requester-only", "admins see their organization's members")

	require.NoError(t, s.RemoveOrgMember(ctx, f.org.ID, u.ID))
	assert.ErrorIs(t, s.RemoveOrgMember(ctx, f.org.ID, u.ID), store.ErrNotFound)
	assert.ErrorIs(t, s.AddOrgMember(ctx, f.org.ID+1000, u.ID), store.ErrInvalidReference)
}

func TestStore_LinkAWXOrganization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	awxOrg := int64(4)
	o, err := f.s.LinkAWXOrganization(ctx, f.org.ID, &awxOrg)
	require.NoError(t, err)
	require.NotNil(t, o.AWXOrganization)
	assert.Equal(t, int64(4), *o.AWXOrganization)
	got, err := f.s.GetOrganization(ctx, f.org.ID)
	require.NoError(t, err)
	assert.Equal(t, o.AWXOrganization, got.AWXOrganization)
	o, err = f.s.LinkAWXOrganization(ctx, f.org.ID, nil)
	require.NoError(t, err)
	assert.Nil(t, o.AWXOrganization)
	_, err = f.s.LinkAWXOrganization(ctx, f.org.ID+1000, nil)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestStore_DeleteUserWithDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	r := f.newRequest(t)
	u, err := f.s.CreateUser(ctx, store.NewUser{Username: "decider"})
	require.NoError(t, err)
	st := store.RequestState{ID: r.ID, Seq: 1, Status: "pending_approval", PendingApprovers: []string{}, Modified: time.Now(),
		Responses: []store.Response{{Username: "decider", Kind: "comment", Text: "hi", Created: time.Now()}}}
	_, err = f.s.RecordRequestState(ctx, st)
	require.NoError(t, err)
	assert.ErrorIs(t, f.s.DeleteUser(ctx, u.ID), store.ErrReferenced, "their name is on a decision")
	assert.ErrorIs(t, f.s.DeleteUser(ctx, u.ID+1000), store.ErrNotFound)
	other, err := f.s.CreateUser(ctx, store.NewUser{Username: "bystander"})
	require.NoError(t, err)
	assert.NoError(t, f.s.DeleteUser(ctx, other.ID))
}
