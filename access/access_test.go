package access_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/access"
)

const (
	acme    = int64(1)
	initech = int64(2)
)

// The personas of the API's authorization matrix.
var (
	superuser   = access.Principal{UserID: 1, Username: "admin", IsSuperuser: true}
	orgAdmin    = access.Principal{UserID: 2, Username: "erin", AdminOf: []int64{acme}, MemberOf: []int64{acme}}
	otherAdmin  = access.Principal{UserID: 3, Username: "oscar", AdminOf: []int64{initech}, MemberOf: []int64{initech}}
	requester   = access.Principal{UserID: 4, Username: "alice", MemberOf: []int64{acme}, Teams: []int64{10}}
	approver    = access.Principal{UserID: 5, Username: "bob", MemberOf: []int64{acme}, Teams: []int64{11}}
	otherTeam   = access.Principal{UserID: 6, Username: "dave", MemberOf: []int64{acme}, Teams: []int64{12}}
	outsider    = access.Principal{UserID: 7, Username: "zoe", MemberOf: []int64{initech}}
	allPersonas = map[string]access.Principal{
		"superuser": superuser, "org admin": orgAdmin, "admin of another org": otherAdmin, "requester": requester,
		"approver": approver, "approver of another team": otherTeam, "outsider": outsider,
	}
)

type want map[string]error

func check(t *testing.T, a access.Action, o access.Object, expected want) {
	t.Helper()
	for name, p := range allPersonas {
		exp, ok := expected[name]
		if !ok {
			t.Fatalf("no expectation for %s", name)
		}
		assert.Equal(t, exp, access.Check(p, a, o), "%s %s %s", name, a, o.Resource)
	}
}

var (
	hidden    = access.ErrHidden
	forbidden = access.ErrForbidden
)

func TestCheck_CatalogItems(t *testing.T) {
	enabled := access.Object{Resource: access.CatalogItem, Organization: acme, Enabled: true}
	disabled := access.Object{Resource: access.CatalogItem, Organization: acme}

	check(t, access.View, enabled, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": nil,
		"approver": nil, "approver of another team": nil, "outsider": hidden})
	check(t, access.View, disabled, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": hidden,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	check(t, access.Submit, enabled, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": nil,
		"approver": nil, "approver of another team": nil, "outsider": hidden})
	check(t, access.Submit, disabled, want{"superuser": forbidden, "org admin": forbidden, "admin of another org": hidden, "requester": hidden,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	for _, a := range []access.Action{access.Update, access.Delete, access.Requests} {
		check(t, a, enabled, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": forbidden,
			"approver": forbidden, "approver of another team": forbidden, "outsider": hidden})
	}
}

func TestCheck_Requests(t *testing.T) {
	r := access.Object{Resource: access.Request, Organization: acme, Owner: requester.UserID,
		Approvers: []string{"bob"}, Deciders: []string{"carol"}}
	check(t, access.View, r, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": nil,
		"approver": nil, "approver of another team": hidden, "outsider": hidden})
	check(t, access.Act, r, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": nil,
		"approver": nil, "approver of another team": hidden, "outsider": hidden})
	check(t, access.Delete, r, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": nil,
		"approver": forbidden, "approver of another team": hidden, "outsider": hidden})

	decided := access.Principal{UserID: 8, Username: "carol", MemberOf: []int64{acme}}
	assert.NoError(t, access.Check(decided, access.View, r), "a former decider still sees the request")
}

func TestCheck_PoliciesTeamsOrganizations(t *testing.T) {
	policy := access.Object{Resource: access.Policy, Organization: acme}
	check(t, access.View, policy, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": hidden,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})

	team := access.Object{Resource: access.Team, Organization: acme}
	check(t, access.View, team, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": nil,
		"approver": nil, "approver of another team": nil, "outsider": hidden})
	check(t, access.Members, team, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": forbidden,
		"approver": forbidden, "approver of another team": forbidden, "outsider": hidden})

	org := access.Object{Resource: access.Organization, Organization: acme}
	check(t, access.Update, org, want{"superuser": nil, "org admin": forbidden, "admin of another org": hidden, "requester": forbidden,
		"approver": forbidden, "approver of another team": forbidden, "outsider": hidden})
	check(t, access.Members, org, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": forbidden,
		"approver": forbidden, "approver of another team": forbidden, "outsider": hidden})
}

func TestCheck_UsersAndTokens(t *testing.T) {
	alice := access.Object{Resource: access.User, Owner: requester.UserID, SharedOrgs: []int64{acme}}
	check(t, access.View, alice, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": nil,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	check(t, access.Update, alice, want{"superuser": nil, "org admin": forbidden, "admin of another org": hidden, "requester": nil,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	// Nobody deletes their own account, not even a superuser.
	check(t, access.Delete, alice, want{"superuser": nil, "org admin": forbidden, "admin of another org": hidden, "requester": access.ErrSelf,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	self := access.Object{Resource: access.User, Owner: superuser.UserID}
	assert.Equal(t, access.ErrSelf, access.Check(superuser, access.Delete, self))

	// Account flags are the superusers' to change, never to take from
	// themselves.
	check(t, access.Manage, alice, want{"superuser": nil, "org admin": forbidden, "admin of another org": hidden, "requester": forbidden,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	check(t, access.Demote, alice, want{"superuser": nil, "org admin": forbidden, "admin of another org": hidden, "requester": access.ErrSelf,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	assert.NoError(t, access.Check(superuser, access.Manage, self))
	assert.Equal(t, access.ErrSelf, access.Check(superuser, access.Demote, self))

	token := access.Object{Resource: access.Token, Owner: requester.UserID}
	check(t, access.Delete, token, want{"superuser": nil, "org admin": hidden, "admin of another org": hidden, "requester": nil,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
}

// A session is its owner's and the superusers' to see and revoke, not even
// an admin of the owner's organization's; nobody creates one through the
// API.
func TestCheck_Sessions(t *testing.T) {
	session := access.Object{Resource: access.Session, Owner: requester.UserID}
	for _, a := range []access.Action{access.View, access.Delete} {
		check(t, a, session, want{"superuser": nil, "org admin": hidden, "admin of another org": hidden, "requester": nil,
			"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	}
	check(t, access.Update, session, want{"superuser": nil, "org admin": hidden, "admin of another org": hidden, "requester": forbidden,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	assert.Equal(t, access.DeleteCapabilities{Delete: true}, access.DeleteCapabilitiesOf(requester, session))
	assert.Equal(t, access.DeleteCapabilities{Delete: true}, access.DeleteCapabilitiesOf(superuser, session))
	assert.Equal(t, access.DeleteCapabilities{Delete: false}, access.DeleteCapabilitiesOf(orgAdmin, session))
}

func TestCanCreateIn(t *testing.T) {
	assert.NoError(t, access.CanCreateIn(superuser, access.Organization, 0))
	assert.Equal(t, forbidden, access.CanCreateIn(orgAdmin, access.Organization, 0))
	assert.Equal(t, forbidden, access.CanCreateIn(orgAdmin, access.User, 0))
	assert.NoError(t, access.CanCreateIn(orgAdmin, access.CatalogItem, acme))
	assert.Equal(t, hidden, access.CanCreateIn(orgAdmin, access.CatalogItem, initech))
	assert.Equal(t, forbidden, access.CanCreateIn(requester, access.Team, acme))
	assert.Equal(t, hidden, access.CanCreateIn(requester, access.Team, initech))
}

// TestCanCreateSomewhere: who administers no organization may create
// nothing in any, whatever the body of their call says.
func TestCanCreateSomewhere(t *testing.T) {
	for _, r := range []access.Resource{access.Team, access.CatalogItem, access.Policy} {
		assert.NoError(t, access.CanCreateSomewhere(superuser, r))
		assert.NoError(t, access.CanCreateSomewhere(orgAdmin, r))
		assert.Equal(t, forbidden, access.CanCreateSomewhere(requester, r))
		assert.Equal(t, forbidden, access.CanCreateSomewhere(outsider, r))
		assert.Equal(t, forbidden, access.CanCreateSomewhere(access.Principal{UserID: 9}, r))
	}
	assert.NoError(t, access.CanCreateSomewhere(superuser, access.Organization))
	assert.Equal(t, forbidden, access.CanCreateSomewhere(orgAdmin, access.Organization))
	assert.Equal(t, forbidden, access.CanCreateSomewhere(orgAdmin, access.User))
}

// A user's delegations are theirs, their organizations' admins' and the
// superusers' to see, set up and take back.
func TestCheck_Delegations(t *testing.T) {
	alices := access.Object{Resource: access.Delegation, Owner: requester.UserID, SharedOrgs: []int64{acme}}
	for _, a := range []access.Action{access.View, access.Create, access.Delete} {
		check(t, a, alices, want{"superuser": nil, "org admin": nil, "admin of another org": hidden, "requester": nil,
			"approver": hidden, "approver of another team": hidden, "outsider": hidden})
	}
	check(t, access.Update, alices, want{"superuser": nil, "org admin": forbidden, "admin of another org": hidden, "requester": forbidden,
		"approver": hidden, "approver of another team": hidden, "outsider": hidden})
}
