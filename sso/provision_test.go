package sso_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/sso"
	"github.com/countersign/countersign/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// approvers records what SignIn tells the request service; the service
// itself (which requests a change concerns, the signals) is tested in
// requests and api.
type approvers struct {
	mu      sync.Mutex
	changes []requests.Change
}

func (a *approvers) ApproversChanged(_ context.Context, ch requests.Change) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.changes = append(a.changes, ch)
}

// take returns the changes recorded since the last call, as
// "team <id>", "admins <org id>" or "superuser <user id>".
func (a *approvers) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, ch := range a.changes {
		switch {
		case ch.Team != nil:
			out = append(out, "team "+itoa(*ch.Team))
		case ch.OrgAdmins != nil:
			out = append(out, "admins "+itoa(*ch.OrgAdmins))
		case ch.Superuser && ch.User != nil:
			out = append(out, "superuser "+itoa(*ch.User))
		default:
			out = append(out, "unexpected: "+ch.Reason)
		}
	}
	a.changes = nil
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// world is a migrated database with acme (teams sre, security, dba) and
// beta (team ops), and a provisioner over the demo's group map plus
// developers → member of acme and ops → superuser.
type world struct {
	st                 *store.Store
	rec                *approvers
	p                  *sso.Provisioner
	acme, beta         store.Organization
	sre, security, dba store.Team
	ops                store.Team
}

const testMap = `{"rules": [
	{"group": "sre", "organization": "acme", "team": "sre"},
	{"group": "security", "organization": "acme", "team": "security"},
	{"group": "acme-admins", "organization": "acme", "role": "admin"},
	{"group": "developers", "organization": "acme", "role": "member"},
	{"group": "ops", "superuser": true}
]}`

const issuer = "https://idp.example.com"

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{st: pgtest.NewStore(t), rec: &approvers{}}
	var err error
	w.acme, err = w.st.CreateOrganization(ctx, "acme", "")
	require.NoError(t, err)
	w.beta, err = w.st.CreateOrganization(ctx, "beta", "")
	require.NoError(t, err)
	for _, tm := range []struct {
		dst  *store.Team
		org  int64
		name string
	}{{&w.sre, w.acme.ID, "sre"}, {&w.security, w.acme.ID, "security"}, {&w.dba, w.acme.ID, "dba"}, {&w.ops, w.beta.ID, "ops"}} {
		*tm.dst, err = w.st.CreateTeam(ctx, tm.org, tm.name, "")
		require.NoError(t, err)
	}
	gm, err := sso.ParseGroupMap(strings.NewReader(testMap))
	require.NoError(t, err)
	m, err := gm.Resolve(ctx, w.st)
	require.NoError(t, err)
	w.p = sso.NewProvisioner(w.st, w.rec, m)
	return w
}

func (w *world) roles(t *testing.T, userID int64) (store.Roles, []int64) {
	t.Helper()
	roles, err := w.st.UserRoles(context.Background(), userID)
	require.NoError(t, err)
	direct, err := w.st.DirectOrgMemberships(context.Background(), userID)
	require.NoError(t, err)
	return roles, direct
}

func teamIDs(r store.Roles) []int64 {
	ids := []int64{}
	for _, t := range r.Teams {
		ids = append(ids, t.ID)
	}
	return ids
}

func bob(groups ...string) sso.Claims {
	return sso.Claims{Issuer: issuer, Subject: "sub-bob", Username: "bob", Email: "bob@acme.example",
		GivenName: "Bob", FamilyName: "SRE", Groups: groups}
}

func TestProvisioner_SignIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)

	// First sign-in: the user is created with the mapped memberships.
	res, err := w.p.SignIn(ctx, bob("sre", "developers", "everyone"))
	require.NoError(t, err)
	assert.True(t, res.Created)
	u := res.User
	assert.Equal(t, "bob", u.Username)
	assert.Equal(t, "bob@acme.example", u.Email)
	assert.Equal(t, "Bob", u.FirstName)
	assert.Equal(t, "SRE", u.LastName)
	assert.True(t, u.IsActive)
	assert.False(t, u.IsSuperuser)
	assert.Equal(t, sso.Plan{JoinTeams: []int64{w.sre.ID}, JoinOrgs: []int64{w.acme.ID}}, res.Changes)
	roles, direct := w.roles(t, u.ID)
	assert.Equal(t, []int64{w.sre.ID}, teamIDs(roles))
	assert.Equal(t, []int64{w.acme.ID}, direct)
	assert.Equal(t, []string{"team " + itoa(w.sre.ID)}, w.rec.take(), "waiting requests of sre hear of their new approver")
	linked, err := w.st.UserBySubject(ctx, issuer, "sub-bob")
	require.NoError(t, err)
	assert.Equal(t, u.ID, linked.ID, "linked to the provider's identity")
	tokens, n, err := w.st.ListTokens(ctx, u.ID, store.ListOptions{})
	require.NoError(t, err)
	assert.Zero(t, n, "no API token is made")
	assert.Empty(t, tokens)

	// The same groups again: nothing changes, no request is told.
	res, err = w.p.SignIn(ctx, bob("sre", "developers", "everyone"))
	require.NoError(t, err)
	assert.False(t, res.Created)
	assert.True(t, res.Changes.Empty())
	assert.Empty(t, w.rec.take())

	// An administrator gives bob memberships the map does not manage.
	require.NoError(t, w.st.AddTeamMember(ctx, w.dba.ID, u.ID))
	require.NoError(t, w.st.AddTeamMember(ctx, w.ops.ID, u.ID))
	require.NoError(t, w.st.AddOrgAdmin(ctx, w.beta.ID, u.ID))
	require.NoError(t, w.st.AddOrgMember(ctx, w.beta.ID, u.ID))

	// sre is removed at the provider, security added, developers dropped.
	res, err = w.p.SignIn(ctx, bob("security"))
	require.NoError(t, err)
	assert.Equal(t, sso.Plan{JoinTeams: []int64{w.security.ID}, LeaveTeams: []int64{w.sre.ID}, LeaveOrgs: []int64{w.acme.ID}}, res.Changes)
	assert.ElementsMatch(t, []string{"team " + itoa(w.security.ID), "team " + itoa(w.sre.ID)}, w.rec.take())
	roles, direct = w.roles(t, u.ID)
	assert.ElementsMatch(t, []int64{w.security.ID, w.dba.ID, w.ops.ID}, teamIDs(roles), "unmanaged teams stay")
	assert.Equal(t, []int64{w.beta.ID}, roles.AdminOf, "unmanaged roles stay")
	assert.Equal(t, []int64{w.beta.ID}, direct, "unmanaged memberships stay")
	assert.Equal(t, []int64{w.acme.ID, w.beta.ID}, roles.MemberOf, "still in acme through its teams")

	// Org admin by group, and taken back.
	res, err = w.p.SignIn(ctx, bob("security", "acme-admins"))
	require.NoError(t, err)
	assert.Equal(t, sso.Plan{BecomeAdmin: []int64{w.acme.ID}}, res.Changes)
	assert.Equal(t, []string{"admins " + itoa(w.acme.ID)}, w.rec.take())
	res, err = w.p.SignIn(ctx, bob("security"))
	require.NoError(t, err)
	assert.Equal(t, sso.Plan{StopAdmin: []int64{w.acme.ID}}, res.Changes)
	assert.Equal(t, []string{"admins " + itoa(w.acme.ID)}, w.rec.take())
	roles, _ = w.roles(t, u.ID)
	assert.Equal(t, []int64{w.beta.ID}, roles.AdminOf)

	// The provider renames bob: he is still the user linked to his subject.
	renamed := bob("security")
	renamed.Username, renamed.Email = "robert", ""
	res, err = w.p.SignIn(ctx, renamed)
	require.NoError(t, err)
	assert.Equal(t, u.ID, res.User.ID)
	assert.Equal(t, "bob", res.User.Username, "usernames are never renamed: decisions are recorded by them")
	assert.Equal(t, "bob@acme.example", res.User.Email, "an empty claim keeps the e-mail")
}

func TestProvisioner_Superuser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)

	res, err := w.p.SignIn(ctx, bob("ops"))
	require.NoError(t, err)
	assert.True(t, res.User.IsSuperuser)
	yes, no := true, false
	assert.Equal(t, sso.Plan{Superuser: &yes}, res.Changes)
	assert.Equal(t, []string{"superuser " + itoa(res.User.ID)}, w.rec.take(), "every waiting request hears of a new superuser")

	res, err = w.p.SignIn(ctx, bob())
	require.NoError(t, err)
	assert.False(t, res.User.IsSuperuser)
	assert.Equal(t, sso.Plan{Superuser: &no}, res.Changes)
	assert.Equal(t, []string{"superuser " + itoa(res.User.ID)}, w.rec.take())

	// Without a superuser rule, superuser status is the administrators'.
	m, err := sso.GroupMap{Rules: []sso.Rule{{Group: "sre", Organization: "acme", Team: "sre"}}}.Resolve(ctx, w.st)
	require.NoError(t, err)
	root, err := w.st.CreateUser(ctx, store.NewUser{Username: "root", IsSuperuser: true})
	require.NoError(t, err)
	res, err = sso.NewProvisioner(w.st, w.rec, m).SignIn(ctx, sso.Claims{Issuer: issuer, Subject: "sub-root", Username: "root"})
	require.NoError(t, err)
	assert.Equal(t, root.ID, res.User.ID)
	assert.True(t, res.User.IsSuperuser)
	assert.Empty(t, w.rec.take())
}

func TestProvisioner_Refusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)

	t.Run("deactivated user", func(t *testing.T) {
		res, err := w.p.SignIn(ctx, bob())
		require.NoError(t, err)
		_, err = w.st.UpdateUser(ctx, res.User.ID, store.UserUpdate{IsActive: new(false)})
		require.NoError(t, err)
		_, err = w.p.SignIn(ctx, bob("sre", "ops"))
		require.ErrorIs(t, err, sso.ErrDeactivated)
		roles, _ := w.roles(t, res.User.ID)
		assert.Empty(t, roles.Teams, "nothing changes for a deactivated user")
		u, err := w.st.GetUser(ctx, res.User.ID)
		require.NoError(t, err)
		assert.False(t, u.IsSuperuser)
		assert.Empty(t, w.rec.take())
	})

	t.Run("deactivated local user is not linked", func(t *testing.T) {
		dave, err := w.st.CreateUser(ctx, store.NewUser{Username: "dave"})
		require.NoError(t, err)
		_, err = w.st.UpdateUser(ctx, dave.ID, store.UserUpdate{IsActive: new(false)})
		require.NoError(t, err)
		_, err = w.p.SignIn(ctx, sso.Claims{Issuer: issuer, Subject: "sub-dave", Username: "dave", Groups: []string{"sre"}})
		require.ErrorIs(t, err, sso.ErrDeactivated)
		_, err = w.st.UserBySubject(ctx, issuer, "sub-dave")
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("a local user is linked at their first sign-in", func(t *testing.T) {
		erin, err := w.st.CreateUser(ctx, store.NewUser{Username: "erin", Email: "erin@old.example"})
		require.NoError(t, err)
		res, err := w.p.SignIn(ctx, sso.Claims{Issuer: issuer, Subject: "sub-erin", Username: "erin",
			Email: "erin@acme.example", Groups: []string{"acme-admins"}})
		require.NoError(t, err)
		assert.False(t, res.Created)
		assert.Equal(t, erin.ID, res.User.ID)
		assert.Equal(t, "erin@acme.example", res.User.Email)
		assert.Equal(t, []string{"admins " + itoa(w.acme.ID)}, w.rec.take())
	})

	t.Run("another subject with a linked username", func(t *testing.T) {
		_, err := w.p.SignIn(ctx, sso.Claims{Issuer: issuer, Subject: "sub-mallory", Username: "erin", Groups: []string{"ops"}})
		require.ErrorIs(t, err, sso.ErrIdentityTaken)
		_, err = w.p.SignIn(ctx, sso.Claims{Issuer: "https://other.example.com", Subject: "sub-erin", Username: "erin"})
		require.ErrorIs(t, err, sso.ErrIdentityTaken, "a subject counts within its issuer only")
		erin, err := w.st.GetUserByUsername(ctx, "erin")
		require.NoError(t, err)
		assert.False(t, erin.IsSuperuser)
		assert.Empty(t, w.rec.take())
	})

	t.Run("incomplete claims", func(t *testing.T) {
		for _, c := range []sso.Claims{
			{Subject: "s", Username: "x"}, {Issuer: issuer, Username: "x"}, {Issuer: issuer, Subject: "s"},
		} {
			_, err := w.p.SignIn(ctx, c)
			assert.ErrorIs(t, err, sso.ErrInvalidClaims)
		}
	})
}
