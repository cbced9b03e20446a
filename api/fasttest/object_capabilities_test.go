package fasttest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

// objectCaps are an object's user_capabilities: edit and delete, and for
// catalog items submit.
type objectCaps struct {
	edit, delete bool
	// submit is nil for objects other than catalog items.
	submit *bool
}

func (c objectCaps) json() map[string]any {
	out := map[string]any{"edit": c.edit, "delete": c.delete}
	if c.submit != nil {
		out["submit"] = *c.submit
	}
	return out
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
)

// object is one object of a collection as the personas see it.
type object struct {
	name string
	// collection is the list's path, e.g. "/api/v2/teams/".
	collection string
	// id picks the object in e.
	id func(e *env) int64
	// want is each persona's capabilities; a persona left out does not
	// see the object.
	want map[string]objectCaps
}

// objects are acme's (and one of initech's) objects of every kind with
// capabilities.
var objects = []object{{
	name: "catalog item", collection: "/api/v2/service_catalog_items/",
	id: func(e *env) int64 { return e.item.ID },
	want: map[string]objectCaps{
		superuser: {edit: true, delete: true, submit: yes},
		orgAdmin:  {edit: true, delete: true, submit: yes},
		requester: {submit: yes},
		approver:  {submit: yes},
	},
}, {
	name: "disabled catalog item", collection: "/api/v2/service_catalog_items/",
	id: func(e *env) int64 { return e.disabledItem().ID },
	want: map[string]objectCaps{
		// Nobody submits a disabled item, superusers included.
		superuser: {edit: true, delete: true, submit: no},
		orgAdmin:  {edit: true, delete: true, submit: no},
	},
}, {
	name: "approval policy", collection: "/api/v2/approval_policies/",
	id: func(e *env) int64 { return e.policy().ID },
	want: map[string]objectCaps{
		superuser: {edit: true, delete: true},
		orgAdmin:  {edit: true, delete: true},
	},
}, {
	name: "team", collection: "/api/v2/teams/",
	id: func(e *env) int64 { return e.sre.ID },
	want: map[string]objectCaps{
		superuser: {edit: true, delete: true},
		orgAdmin:  {edit: true, delete: true},
		requester: {},
		approver:  {},
	},
}, {
	name: "organization", collection: "/api/v2/organizations/",
	id: func(e *env) int64 { return e.acme.ID },
	want: map[string]objectCaps{
		// Only superusers rename or delete organizations; their admins
		// name other admins.
		superuser: {edit: true, delete: true},
		orgAdmin:  {},
		requester: {},
		approver:  {},
	},
}, {
	name: "another organization", collection: "/api/v2/organizations/",
	id: func(e *env) int64 { return e.initech.ID },
	want: map[string]objectCaps{
		superuser: {edit: true, delete: true},
		outsider:  {},
	},
}, {
	name: "user", collection: "/api/v2/users/",
	id: func(e *env) int64 { return e.users[requester].ID },
	want: map[string]objectCaps{
		superuser: {edit: true, delete: true},
		// acme's admin sees its members, but only superusers manage
		// accounts.
		orgAdmin: {},
		// alice edits her own profile.
		requester: {edit: true},
	},
}}

// disabledItem adds a disabled catalog item to acme.
func (e *env) disabledItem() store.CatalogItem {
	e.t.Helper()
	template, off := int64(7), false
	item, err := e.store.CreateCatalogItem(context.Background(), store.NewCatalogItem{OrganizationID: e.acme.ID,
		Name: "Retired job", JobTemplateID: &template, Enabled: &off})
	require.NoError(e.t, err)
	return item
}

// policy adds a policy to acme: two approvals by sre.
func (e *env) policy() store.Policy {
	e.t.Helper()
	p, err := e.store.CreatePolicy(context.Background(), store.NewPolicy{OrganizationID: e.acme.ID, Name: "two by sre",
		Condition: "true", Stages: []store.PolicyStage{{Name: "sre", ApproverTeamID: &e.sre.ID, ApproverTeamName: e.sre.Name,
			MinApprovers: 2, Timeout: 48 * time.Hour}}})
	require.NoError(e.t, err)
	return p
}

// TestObjectCapabilities checks what each persona may do to each kind of
// object, in its detail and in its collection's list, and that who does
// not see an object finds it in neither.
func TestObjectCapabilities(t *testing.T) {
	for _, o := range objects {
		t.Run(o.name, func(t *testing.T) {
			e := newEnv(t)
			id := o.id(e)
			path := fmt.Sprintf("%s%d/", o.collection, id)
			for _, user := range personas {
				want, visible := o.want[user]
				if !visible {
					assert.Equal(t, detail(notFound), e.must(http.StatusNotFound, user, "GET", path, nil), user)
					assert.Nil(t, e.listed(user, o.collection, id), "%s lists %s %d", user, o.name, id)
					continue
				}
				got := e.must(http.StatusOK, user, "GET", path, nil)
				assert.Equal(t, want.json(), capabilitiesOf(t, got), "%s's capabilities on the %s", user, o.name)
				if listed := e.listed(user, o.collection, id); assert.NotNil(t, listed, "%s lists %s %d", user, o.name, id) {
					assert.Equal(t, want.json(), capabilitiesOf(t, listed), "%s's capabilities on the %s in the list", user, o.name)
				}
			}
		})
	}
}

// TestObjectCapabilities_KeptByTheCalls holds each capability to its call:
// an edit or delete shown true gets past access (the object's state may
// still refuse it: a team in use, an organization with items), one shown
// false is refused: 403, or 409 where the rule is about the object (no
// one deletes themselves). Each call runs on a server of its own, since
// a delete changes what the next one would find.
func TestObjectCapabilities_KeptByTheCalls(t *testing.T) {
	for _, o := range objects {
		for _, user := range personas {
			want, visible := o.want[user]
			if !visible {
				continue
			}
			for _, call := range []struct {
				method  string
				allowed bool
			}{{"PATCH", want.edit}, {"DELETE", want.delete}} {
				t.Run(fmt.Sprintf("%s/%s/%s", o.name, user, call.method), func(t *testing.T) {
					e := newEnv(t)
					path := fmt.Sprintf("%s%d/", o.collection, o.id(e))
					var body any
					if call.method == "PATCH" {
						body = map[string]any{}
					}
					a := e.call(user, call.method, path, body)
					if call.allowed {
						assert.Contains(t, []int{http.StatusOK, http.StatusNoContent, http.StatusConflict}, a.status,
							"%s may %s the %s: %s", user, call.method, o.name, a.raw)
						return
					}
					require.Contains(t, []int{http.StatusForbidden, http.StatusConflict}, a.status,
						"%s may not %s the %s: %s", user, call.method, o.name, a.raw)
					if a.status == http.StatusForbidden {
						assert.Equal(t, detail(forbidden), a.json(t))
					}
				})
			}
		}
	}
}
