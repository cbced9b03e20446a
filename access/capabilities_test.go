package access_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/access"
)

// caps is a persona's expected capabilities: edit, delete.
type caps [2]bool

func capabilities(t *testing.T, o access.Object, expected map[string]caps) {
	t.Helper()
	for name, p := range allPersonas {
		exp, ok := expected[name]
		if !ok {
			t.Fatalf("no expectation for %s", name)
		}
		got := access.CapabilitiesOf(p, o)
		assert.Equal(t, access.Capabilities{Edit: exp[0], Delete: exp[1]}, got, "%s on %s", name, o.Resource)
		// A capability is exactly what Check lets through.
		assert.Equal(t, access.Check(p, access.Update, o) == nil, got.Edit, "%s edit %s", name, o.Resource)
		assert.Equal(t, access.Check(p, access.Delete, o) == nil, got.Delete, "%s delete %s", name, o.Resource)
	}
}

var (
	both    = caps{true, true}
	neither = caps{false, false}
)

func TestCapabilities_AdminsManageTheirOrganizationsObjects(t *testing.T) {
	for _, r := range []access.Resource{access.Team, access.Policy, access.CatalogItem} {
		capabilities(t, access.Object{Resource: r, Organization: acme, Enabled: true}, map[string]caps{
			"superuser": both, "org admin": both, "admin of another org": neither, "requester": neither,
			"approver": neither, "approver of another team": neither, "outsider": neither,
		})
	}
}

func TestCapabilities_OnlySuperusersEditOrganizations(t *testing.T) {
	capabilities(t, access.Object{Resource: access.Organization, Organization: acme}, map[string]caps{
		"superuser": both, "org admin": neither, "admin of another org": neither, "requester": neither,
		"approver": neither, "approver of another team": neither, "outsider": neither,
	})
}

func TestCapabilities_Users(t *testing.T) {
	alice := access.Object{Resource: access.User, Owner: requester.UserID, SharedOrgs: []int64{acme}}
	capabilities(t, alice, map[string]caps{
		"superuser": both, "org admin": neither, "admin of another org": neither, "requester": {true, false},
		"approver": neither, "approver of another team": neither, "outsider": neither,
	})
	assert.Equal(t, access.Capabilities{Edit: true, Delete: false},
		access.CapabilitiesOf(superuser, access.Object{Resource: access.User, Owner: superuser.UserID}),
		"a superuser edits but does not delete their own account")
}

func TestItemCapabilities_SubmitNeedsAnEnabledItemOfOnesOrganization(t *testing.T) {
	enabled := access.Object{Resource: access.CatalogItem, Organization: acme, Enabled: true}
	disabled := access.Object{Resource: access.CatalogItem, Organization: acme}
	for name, p := range allPersonas {
		member := p.Member(acme)
		assert.Equal(t, member, access.ItemCapabilitiesOf(p, enabled).Submit, name)
		assert.False(t, access.ItemCapabilitiesOf(p, disabled).Submit, "%s: disabled items are never submitted", name)
	}
}

func TestListScope(t *testing.T) {
	assert.Equal(t, access.Scope{}, access.ListScope(superuser, access.CatalogItem), "superusers see everything")
	for _, tc := range []struct {
		persona access.Principal
		r       access.Resource
		want    access.Scope
	}{
		{orgAdmin, access.Organization, access.Scope{Organizations: []int64{acme}}},
		{requester, access.Team, access.Scope{Organizations: []int64{acme}}},
		{outsider, access.Team, access.Scope{Organizations: []int64{initech}}},
		{orgAdmin, access.CatalogItem, access.Scope{Organizations: []int64{acme}, DisabledIn: []int64{acme}}},
		{requester, access.CatalogItem, access.Scope{Organizations: []int64{acme}, DisabledIn: []int64{}}},
		{orgAdmin, access.Policy, access.Scope{Organizations: []int64{acme}}},
		{requester, access.Policy, access.Scope{Organizations: []int64{}}},
		{orgAdmin, access.User, access.Scope{Organizations: []int64{acme}, Self: orgAdmin.UserID}},
		{requester, access.User, access.Scope{Organizations: []int64{}, Self: requester.UserID}},
	} {
		assert.Equal(t, tc.want, access.ListScope(tc.persona, tc.r), "%s %s", tc.persona.Username, tc.r)
	}
	narrowed := access.ListScope(requester, access.Team).Within(initech)
	assert.Equal(t, []int64{}, narrowed.Organizations, "a filter cannot widen what is seen")
	assert.Equal(t, []int64{initech}, access.ListScope(superuser, access.Team).Within(initech).Organizations)
}

func TestCanPlace(t *testing.T) {
	acmeUser, initechUser, both := []int64{acme}, []int64{initech}, []int64{acme, initech}
	assert.True(t, access.CanPlace(superuser, initechUser, acme, false), "superusers place anyone")
	assert.True(t, access.CanPlace(orgAdmin, acmeUser, acme, false))
	assert.False(t, access.CanPlace(orgAdmin, initechUser, acme, false), "not a member of the organization")
	assert.False(t, access.CanPlace(orgAdmin, initechUser, acme, true), "not in an organization erin administers")
	assert.True(t, access.CanPlace(otherAdmin, initechUser, acme, true), "from an organization oscar administers")
	assert.True(t, access.CanPlace(otherAdmin, both, acme, false))
	assert.False(t, access.CanPlace(otherAdmin, nil, initech, true), "in no organization")
}
