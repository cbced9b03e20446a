package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
)

// matrixPersonas are the columns of the authorization matrix.
var matrixPersonas = []string{personaAnonymous, personaBadToken, requester, otherTeam, approver, otherAdmin, orgAdmin, superuser}

// codes is a row's expected statuses for alice, dave, bob, oscar, erin and
// admin; personaAnonymous callers and bad tokens get 401.
func azCodes(alice, dave, bob, oscar, erin, admin int) map[string]int {
	return map[string]int{
		personaAnonymous: http.StatusUnauthorized, personaBadToken: http.StatusUnauthorized,
		requester: alice, otherTeam: dave, approver: bob, otherAdmin: oscar, orgAdmin: erin, superuser: admin,
	}
}

// azRow is one endpoint of the matrix.
type azRow struct {
	name   string
	method string
	// path is the endpoint; fresh, when set, instead makes a new object for
	// each persona's call (DELETE, decisions that change state) and returns
	// its path and how to remove what is left of it.
	path  string
	fresh func(persona string) (path string, cleanup func())
	body  any
	want  map[string]int
	// lists holds, for list endpoints, the ids each persona must see.
	lists map[string][]int64
	// has holds, per status, a text the answer must contain: it proves the
	// call failed at the expected check (after authorization for a 400).
	has map[int]string
	// hasFor overrides has for one persona.
	hasFor map[string]string
	// compiles, when set, is how many policy conditions each persona's
	// call may compile: it proves a refusal came before the compiler.
	compiles map[string]uint64
	// capability, when set, names the summary_fields.user_capabilities
	// entry of the object at capabilityOf (the path when empty), read by
	// the persona just before the call, that must be true exactly when the
	// call is accepted (see accepted); an object the persona cannot see
	// has none.
	capability   string
	capabilityOf string
}

// azCompiles is a row's expected compilations for alice, dave, bob, oscar,
// erin and admin; anonymous callers and bad tokens compile nothing.
func azCompiles(alice, dave, bob, oscar, erin, admin uint64) map[string]uint64 {
	return map[string]uint64{
		personaAnonymous: 0, personaBadToken: 0,
		requester: alice, otherTeam: dave, approver: bob, otherAdmin: oscar, orgAdmin: erin, superuser: admin,
	}
}

// hostileCondition is 170 `.map()` calls nested in each other: 2.7 KB that
// once took the type checker minutes. The limits refuse it before the
// checker runs, and only after the caller was found to be an admin.
func hostileCondition() string {
	inner := "x0"
	for i := 170; i >= 1; i-- {
		inner = fmt.Sprintf("[x%d].map(x%d, %s)", i-1, i, inner)
	}
	return "[1].map(x0, " + inner + ") == []"
}

// azFixture is the world the matrix runs in.
type azFixture struct {
	acme, initech                             int64
	provision, restart, disabled, initechItem int64
	sre, security, ops                        int64
	envPolicy, longPolicy, initechPolicy      int64
	request                                   int64
}

func (e *env) authzFixture() azFixture {
	e.t.Helper()
	f := azFixture{acme: e.orgID(), initech: e.initech.ID, sre: e.teamID("sre"), security: e.teamID("security")}
	f.provision, f.restart = e.catalog()
	f.disabled = idOf(e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": f.acme, "name": "Health check", "job_template": awxsim.DemoHealthCheckID, "enabled": false,
	}))
	for _, p := range e.must(http.StatusOK, orgAdmin, "GET", "/api/v2/approval_policies/?order_by=priority", nil)["results"].([]any) {
		switch p.(map[string]any)["name"] {
		case "long-lived environments":
			f.longPolicy = idOf(p.(map[string]any))
		case "environments":
			f.envPolicy = idOf(p.(map[string]any))
		}
	}
	require.NotZero(e.t, f.longPolicy)
	require.NotZero(e.t, f.envPolicy)

	// initech's own objects, made by its admin, once a superuser linked
	// initech to its AWX organization.
	e.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/organizations/%d/", f.initech), map[string]any{"awx_organization": 1})
	f.ops = idOf(e.must(http.StatusCreated, otherAdmin, "POST", "/api/v2/teams/", map[string]any{"organization": f.initech, "name": "ops"}))
	// A stage of a team without members could never be completed.
	e.must(http.StatusNoContent, otherAdmin, "POST", fmt.Sprintf("/api/v2/teams/%d/members/", f.ops), map[string]any{"id": e.userID(otherAdmin)})
	f.initechItem = idOf(e.must(http.StatusCreated, otherAdmin, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": f.initech, "name": "Health check", "job_template": awxsim.DemoHealthCheckID,
	}))
	f.initechPolicy = idOf(e.must(http.StatusCreated, otherAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": f.initech, "name": "everything", "stages": []map[string]any{{"name": "Ops", "approver_team": f.ops}},
	}))

	// alice's request, waiting for sre.
	f.request = e.submitAndWait(requester, f.restart, restartServiceAnswers(), approver)
	return f
}

var azFreshSeq atomic.Int64

func azFreshName(prefix string) string { return fmt.Sprintf("%s-%d", prefix, azFreshSeq.Add(1)) }

func TestAPI_AuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	f := e.authzFixture()
	ctx := context.Background()
	st := e.stack.Store
	uid := map[string]int64{}
	for _, u := range []string{superuser, orgAdmin, requester, approver, approver2, otherTeam, otherAdmin} {
		uid[u] = e.userID(u)
	}
	var aliceTokens []int64
	require.NoError(t, st.DB().SelectContext(ctx, &aliceTokens, `SELECT id FROM api_tokens WHERE user_id = $1`, uid[requester]))
	require.Len(t, aliceTokens, 1)
	aliceKey := proof.NewUserKey()
	aliceDecisionKey, err := st.CreateDecisionKey(ctx, store.DecisionKey{UserID: uid[requester], KeyID: aliceKey.ID, PublicKey: aliceKey.Public, Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)

	const (
		ok        = http.StatusOK
		created   = http.StatusCreated
		gone      = http.StatusNoContent
		bad       = http.StatusBadRequest
		forbidden = http.StatusForbidden
		notFound  = http.StatusNotFound
		conflict  = http.StatusConflict
	)
	acmeCatalog := []int64{f.provision, f.restart}
	acmeTeams := []int64{f.sre, f.security}
	none := []int64{}
	p := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	ignoreMissing := func(err error) {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	}
	// freshRequest submits a "Restart service" request as alice and waits
	// until bob may decide it; what is left pending is deleted afterwards.
	freshRequest := func(suffix string) func(string) (string, func()) {
		return func(string) (string, func()) {
			id := e.submitAndWait(requester, f.restart, restartServiceAnswers(), approver)
			path := p("/api/v2/service_requests/%d/%s", id, suffix)
			return path, func() {
				// The live state says whether it still waits (the
				// projection may lag behind an approval).
				status, live := e.call(superuser, "GET", p("/api/v2/service_requests/%d/", id), nil)
				if status == notFound {
					return
				}
				require.Equal(t, ok, status)
				if live["status"] == "pending_approval" {
					e.must(gone, superuser, "DELETE", p("/api/v2/service_requests/%d/", id), nil)
				}
			}
		}
	}

	rows := []azRow{
		{name: "ping", method: "GET", path: "/api/v2/ping/",
			want: map[string]int{personaAnonymous: ok, personaBadToken: ok, requester: ok, otherTeam: ok, approver: ok, otherAdmin: ok, orgAdmin: ok, superuser: ok},
			has:  map[int]string{ok: `"ping":"pong"`}},
		{name: "me", method: "GET", path: "/api/v2/me/", want: azCodes(ok, ok, ok, ok, ok, ok)},

		// Organizations.
		{name: "organizations list", method: "GET", path: "/api/v2/organizations/?page_size=200", want: azCodes(ok, ok, ok, ok, ok, ok),
			lists: map[string][]int64{requester: {f.acme}, otherTeam: {f.acme}, approver: {f.acme}, otherAdmin: {f.initech}, orgAdmin: {f.acme}, superuser: {f.acme, f.initech}}},
		{name: "organizations create", method: "POST", path: "/api/v2/organizations/", body: map[string]any{"name": ""},
			want: azCodes(forbidden, forbidden, forbidden, forbidden, forbidden, bad), has: map[int]string{bad: `"name":[`}},
		{name: "organization detail (acme)", method: "GET", path: p("/api/v2/organizations/%d/", f.acme), want: azCodes(ok, ok, ok, notFound, ok, ok)},
		{name: "organization detail (initech)", method: "GET", path: p("/api/v2/organizations/%d/", f.initech), want: azCodes(notFound, notFound, notFound, ok, notFound, ok)},
		{name: "organization patch", method: "PATCH", path: p("/api/v2/organizations/%d/", f.acme), body: map[string]any{"name": ""}, capability: "edit",
			want: azCodes(forbidden, forbidden, forbidden, notFound, forbidden, bad), has: map[int]string{bad: `"name":[`}},
		{name: "organization delete (acme, still has items)", method: "DELETE", path: p("/api/v2/organizations/%d/", f.acme),
			want: azCodes(forbidden, forbidden, forbidden, notFound, forbidden, conflict), has: map[int]string{conflict: "still has catalog items"}},
		{name: "organization delete (fresh)", method: "DELETE", fresh: func(string) (string, func()) {
			o, err := st.CreateOrganization(ctx, azFreshName("fresh-org"), "")
			require.NoError(t, err)
			require.NoError(t, st.AddOrgAdmin(ctx, o.ID, uid[orgAdmin]))
			require.NoError(t, st.AddOrgMember(ctx, o.ID, uid[requester]))
			return p("/api/v2/organizations/%d/", o.ID), func() { ignoreMissing(st.DeleteOrganization(ctx, o.ID)) }
		}, want: azCodes(forbidden, notFound, notFound, notFound, forbidden, gone), capability: "delete"},
		{name: "organization admins list", method: "GET", path: p("/api/v2/organizations/%d/admins/", f.acme), want: azCodes(ok, ok, ok, notFound, ok, ok),
			lists: map[string][]int64{requester: {uid[orgAdmin]}, otherTeam: {uid[orgAdmin]}, approver: {uid[orgAdmin]}, orgAdmin: {uid[orgAdmin]}, superuser: {uid[orgAdmin]}}},
		{name: "organization admins add", method: "POST", path: p("/api/v2/organizations/%d/admins/", f.acme), body: map[string]any{},
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: map[int]string{bad: `"id":["Give the id of a user."]`}},
		{name: "organization users list", method: "GET", path: p("/api/v2/organizations/%d/users/", f.acme), want: azCodes(ok, ok, ok, notFound, ok, ok),
			lists: map[string][]int64{requester: {uid[requester]}, otherTeam: {uid[requester]}, approver: {uid[requester]}, orgAdmin: {uid[requester]}, superuser: {uid[requester]}}},
		{name: "organization users add", method: "POST", path: p("/api/v2/organizations/%d/users/", f.acme), body: map[string]any{},
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: map[int]string{bad: `"id":["Give the id of a user."]`}},

		// Users and tokens.
		{name: "users list", method: "GET", path: "/api/v2/users/?page_size=200", want: azCodes(ok, ok, ok, ok, ok, ok),
			lists: map[string][]int64{
				requester: {uid[requester]}, otherTeam: {uid[otherTeam]}, approver: {uid[approver]}, otherAdmin: {uid[otherAdmin]},
				orgAdmin:  {uid[orgAdmin], uid[requester], uid[approver], uid[approver2], uid[otherTeam]},
				superuser: {uid[superuser], uid[orgAdmin], uid[requester], uid[approver], uid[approver2], uid[otherTeam], uid[otherAdmin]},
			}},
		{name: "users create", method: "POST", path: "/api/v2/users/", body: map[string]any{"username": ""},
			want: azCodes(forbidden, forbidden, forbidden, forbidden, forbidden, bad), has: map[int]string{bad: `"username":[`}},
		{name: "user detail (alice)", method: "GET", path: p("/api/v2/users/%d/", uid[requester]), want: azCodes(ok, notFound, notFound, notFound, ok, ok),
			has: map[int]string{ok: `"username":"alice"`}},
		{name: "user detail (oscar)", method: "GET", path: p("/api/v2/users/%d/", uid[otherAdmin]), want: azCodes(notFound, notFound, notFound, ok, notFound, ok)},
		{name: "user patch (alice)", method: "PATCH", path: p("/api/v2/users/%d/", uid[requester]), body: map[string]any{"email": "not-an-email"}, capability: "edit",
			want: azCodes(bad, notFound, notFound, notFound, forbidden, bad), has: map[int]string{bad: `"email":["Enter a valid email address."]`}},
		{name: "user delete (fresh acme member)", method: "DELETE", fresh: func(string) (string, func()) {
			u, err := st.CreateUser(ctx, store.NewUser{Username: azFreshName("fresh-user")})
			require.NoError(t, err)
			require.NoError(t, st.AddOrgMember(ctx, f.acme, u.ID))
			return p("/api/v2/users/%d/", u.ID), func() { ignoreMissing(st.DeleteUser(ctx, u.ID)) }
		}, want: azCodes(notFound, notFound, notFound, notFound, forbidden, gone), capability: "delete"},
		// Account flags are the superusers' to change, never to take from
		// themselves; a value sent as it is changes nothing.
		{name: "user patch (self, not a superuser)", method: "PATCH", fresh: func(persona string) (string, func()) {
			return p("/api/v2/users/%d/", uid[persona]), func() {}
		}, body: map[string]any{"is_superuser": false},
			want: azCodes(ok, ok, ok, ok, ok, bad), has: map[int]string{bad: `{"is_superuser":["You cannot demote or deactivate yourself."]}`},
			capability: "edit"},
		{name: "user patch (self, inactive)", method: "PATCH", fresh: func(persona string) (string, func()) {
			return p("/api/v2/users/%d/", uid[persona]), func() {}
		}, body: map[string]any{"is_active": false},
			want: azCodes(forbidden, forbidden, forbidden, forbidden, forbidden, bad), has: map[int]string{bad: `{"is_superuser":["You cannot demote or deactivate yourself."]}`}},
		// Nobody deletes their own account, not even a superuser.
		{name: "user delete (self)", method: "DELETE", fresh: func(persona string) (string, func()) {
			return p("/api/v2/users/%d/", uid[persona]), func() {}
		}, want: azCodes(conflict, conflict, conflict, conflict, conflict, conflict), has: map[int]string{conflict: "You cannot delete yourself."},
			capability: "delete"},
		{name: "user tokens list (alice)", method: "GET", path: p("/api/v2/users/%d/tokens/", uid[requester]), want: azCodes(ok, notFound, notFound, notFound, forbidden, ok),
			lists: map[string][]int64{requester: aliceTokens, superuser: aliceTokens}},
		{name: "user tokens create (alice)", method: "POST", path: p("/api/v2/users/%d/tokens/", uid[requester]), body: map[string]any{"description": strings.Repeat("x", 513)},
			want: azCodes(bad, notFound, notFound, notFound, forbidden, bad), has: map[int]string{bad: `"description":["Use at most 512 characters."]`}},
		{name: "token delete (fresh token of alice)", method: "DELETE", fresh: func(string) (string, func()) {
			_, tok, err := st.CreateToken(ctx, uid[requester], "fresh")
			require.NoError(t, err)
			return p("/api/v2/tokens/%d/", tok.ID), func() { ignoreMissing(st.RevokeToken(ctx, tok.ID)) }
		}, want: azCodes(gone, notFound, notFound, notFound, notFound, gone)},
		{name: "user decision keys list (alice)", method: "GET", path: p("/api/v2/users/%d/decision_keys/", uid[requester]),
			want:  azCodes(ok, notFound, notFound, notFound, forbidden, ok),
			lists: map[string][]int64{requester: {aliceDecisionKey.ID}, superuser: {aliceDecisionKey.ID}}},
		// A decision key decides as its owner: not even a superuser gets one
		// for someone else, whatever the body.
		{name: "user decision keys create (alice)", method: "POST", path: p("/api/v2/users/%d/decision_keys/", uid[requester]),
			body: map[string]any{"description": strings.Repeat("x", 513)},
			want: azCodes(bad, notFound, notFound, notFound, forbidden, forbidden), has: map[int]string{bad: `"description":["Use at most 512 characters."]`}},
		{name: "my decision keys create", method: "POST", path: "/api/v2/me/decision_keys/", body: map[string]any{"expires": "2020-01-01T00:00:00Z"},
			want: azCodes(bad, bad, bad, bad, bad, bad), has: map[int]string{bad: `"expires":["Give a time in the next 366 days`}},
		{name: "decision key delete (fresh key of alice)", method: "DELETE", fresh: func(string) (string, func()) {
			k := proof.NewUserKey()
			dk, err := st.CreateDecisionKey(ctx, store.DecisionKey{UserID: uid[requester], KeyID: k.ID, PublicKey: k.Public, Expires: time.Now().Add(time.Hour)})
			require.NoError(t, err)
			return p("/api/v2/decision_keys/%d/", dk.ID), func() { ignoreMissing(st.RevokeDecisionKey(ctx, dk.ID)) }
		}, want: azCodes(gone, notFound, notFound, notFound, notFound, gone)},

		// Teams.
		{name: "teams list", method: "GET", path: "/api/v2/teams/?page_size=200", want: azCodes(ok, ok, ok, ok, ok, ok),
			lists: map[string][]int64{requester: acmeTeams, otherTeam: acmeTeams, approver: acmeTeams, otherAdmin: {f.ops}, orgAdmin: acmeTeams, superuser: {f.sre, f.security, f.ops}}},
		{name: "teams create (name taken)", method: "POST", path: "/api/v2/teams/", body: map[string]any{"organization": f.acme, "name": "sre"},
			want:   azCodes(forbidden, forbidden, forbidden, bad, bad, bad),
			has:    map[int]string{bad: `"name":["This organization already has a team with this name."]`},
			hasFor: map[string]string{otherAdmin: p(`"organization":["Invalid pk \"%d\" - object does not exist."]`, f.acme)}},
		{name: "team detail (sre)", method: "GET", path: p("/api/v2/teams/%d/", f.sre), want: azCodes(ok, ok, ok, notFound, ok, ok)},
		{name: "team detail (initech ops)", method: "GET", path: p("/api/v2/teams/%d/", f.ops), want: azCodes(notFound, notFound, notFound, ok, notFound, ok)},
		{name: "team patch", method: "PATCH", path: p("/api/v2/teams/%d/", f.sre), body: map[string]any{"name": ""}, capability: "edit",
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: map[int]string{bad: `"name":[`}},
		{name: "team delete (fresh)", method: "DELETE", fresh: func(string) (string, func()) {
			tm, err := st.CreateTeam(ctx, f.acme, azFreshName("fresh-team"), "")
			require.NoError(t, err)
			return p("/api/v2/teams/%d/", tm.ID), func() { ignoreMissing(st.DeleteTeam(ctx, tm.ID)) }
		}, want: azCodes(forbidden, forbidden, forbidden, notFound, gone, gone), capability: "delete"},
		{name: "team members list", method: "GET", path: p("/api/v2/teams/%d/members/", f.sre), want: azCodes(ok, ok, ok, notFound, ok, ok),
			lists: map[string][]int64{requester: {uid[approver], uid[approver2]}, otherTeam: {uid[approver], uid[approver2]}, approver: {uid[approver], uid[approver2]},
				orgAdmin: {uid[approver], uid[approver2]}, superuser: {uid[approver], uid[approver2]}}},
		{name: "team members add", method: "POST", path: p("/api/v2/teams/%d/members/", f.sre), body: map[string]any{},
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: map[int]string{bad: `"id":["Give the id of a user."]`}},

		// Catalog items.
		{name: "catalog list", method: "GET", path: "/api/v2/service_catalog_items/?page_size=200", want: azCodes(ok, ok, ok, ok, ok, ok),
			lists: map[string][]int64{requester: acmeCatalog, otherTeam: acmeCatalog, approver: acmeCatalog, otherAdmin: {f.initechItem},
				orgAdmin: {f.provision, f.restart, f.disabled}, superuser: {f.provision, f.restart, f.disabled, f.initechItem}}},
		{name: "catalog create (name taken)", method: "POST", path: "/api/v2/service_catalog_items/",
			body:   map[string]any{"organization": f.acme, "name": "Restart service", "job_template": awxsim.DemoRestartServiceID},
			want:   azCodes(forbidden, forbidden, forbidden, bad, bad, bad),
			has:    map[int]string{bad: `"name":["This organization already has a catalog item with this name."]`},
			hasFor: map[string]string{otherAdmin: p(`"organization":["Invalid pk \"%d\" - object does not exist."]`, f.acme)}},
		{name: "catalog detail (enabled)", method: "GET", path: p("/api/v2/service_catalog_items/%d/", f.restart), want: azCodes(ok, ok, ok, notFound, ok, ok)},
		{name: "catalog detail (disabled)", method: "GET", path: p("/api/v2/service_catalog_items/%d/", f.disabled), want: azCodes(notFound, notFound, notFound, notFound, ok, ok)},
		{name: "catalog detail (initech)", method: "GET", path: p("/api/v2/service_catalog_items/%d/", f.initechItem), want: azCodes(notFound, notFound, notFound, ok, notFound, ok)},
		{name: "catalog patch", method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", f.restart), body: map[string]any{"name": ""}, capability: "edit",
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: map[int]string{bad: `"name":[`}},
		{name: "catalog delete (fresh)", method: "DELETE", fresh: func(string) (string, func()) {
			jt := awxsim.DemoHealthCheckID
			it, err := st.CreateCatalogItem(ctx, store.NewCatalogItem{OrganizationID: f.acme, Name: azFreshName("fresh-item"), JobTemplateID: &jt})
			require.NoError(t, err)
			return p("/api/v2/service_catalog_items/%d/", it.ID), func() { ignoreMissing(st.DeleteCatalogItem(ctx, it.ID)) }
		}, want: azCodes(forbidden, forbidden, forbidden, notFound, gone, gone), capability: "delete"},
		{name: "catalog launch_data (enabled)", method: "GET", path: p("/api/v2/service_catalog_items/%d/launch_data/", f.restart),
			want: azCodes(ok, ok, ok, notFound, ok, ok), has: map[int]string{ok: `"approval_plan"`}},
		// Admins see a disabled item's form, to check it before enabling it.
		{name: "catalog launch_data (disabled)", method: "GET", path: p("/api/v2/service_catalog_items/%d/launch_data/", f.disabled),
			want: azCodes(notFound, notFound, notFound, notFound, ok, ok)},
		{name: "catalog item requests", method: "GET", path: p("/api/v2/service_catalog_items/%d/requests/", f.restart),
			want:  azCodes(forbidden, forbidden, forbidden, notFound, ok, ok),
			lists: map[string][]int64{orgAdmin: {f.request}, superuser: {f.request}}},
		{name: "catalog submit (no justification)", method: "POST", path: p("/api/v2/service_catalog_items/%d/submit/", f.restart),
			body: map[string]any{"extra_vars": map[string]any{"service_name": "api"}},
			want: azCodes(bad, bad, bad, notFound, bad, bad), has: map[int]string{bad: `"justification":["Say why this is needed."]`},
			capability: "submit", capabilityOf: p("/api/v2/service_catalog_items/%d/", f.restart)},
		// SPEC 3.2: disabled items cannot be submitted, whoever asks.
		{name: "catalog submit (disabled item)", method: "POST", path: p("/api/v2/service_catalog_items/%d/submit/", f.disabled),
			body:       map[string]any{},
			want:       azCodes(notFound, notFound, notFound, notFound, forbidden, forbidden),
			capability: "submit", capabilityOf: p("/api/v2/service_catalog_items/%d/", f.disabled)},

		// Approval policies.
		{name: "policies list", method: "GET", path: "/api/v2/approval_policies/?page_size=200", want: azCodes(ok, ok, ok, ok, ok, ok),
			lists: map[string][]int64{requester: none, otherTeam: none, approver: none, otherAdmin: {f.initechPolicy},
				orgAdmin: {f.longPolicy, f.envPolicy}, superuser: {f.longPolicy, f.envPolicy, f.initechPolicy}}},
		{name: "policies create (name taken)", method: "POST", path: "/api/v2/approval_policies/",
			body:   map[string]any{"organization": f.acme, "name": "environments", "stages": []map[string]any{{"name": "x"}}},
			want:   azCodes(forbidden, forbidden, forbidden, bad, bad, bad),
			has:    map[int]string{bad: `"name":["This organization already has a policy with this name."]`},
			hasFor: map[string]string{otherAdmin: p(`"organization":["Invalid pk \"%d\" - object does not exist."]`, f.acme)}},
		// Authorized before validated: who is not an admin of the
		// organization learns nothing of the body and costs no compilation.
		{name: "policies create (hostile condition)", method: "POST", path: "/api/v2/approval_policies/",
			body:     map[string]any{"organization": f.acme, "name": "", "condition": hostileCondition(), "stages": []any{}},
			want:     azCodes(forbidden, forbidden, forbidden, bad, bad, bad),
			has:      map[int]string{bad: `"condition":["condition `},
			hasFor:   map[string]string{otherAdmin: p(`{"organization":["Invalid pk \"%d\" - object does not exist."]}`, f.acme)},
			compiles: azCompiles(0, 0, 0, 0, 1, 1)},
		{name: "policies create (no organization)", method: "POST", path: "/api/v2/approval_policies/",
			body:     map[string]any{"name": "", "condition": hostileCondition()},
			want:     azCodes(forbidden, forbidden, forbidden, bad, bad, bad),
			has:      map[int]string{bad: `{"organization":["This field is required."]}`},
			compiles: azCompiles(0, 0, 0, 0, 0, 0)},
		{name: "policies create (malformed JSON)", method: "POST", path: "/api/v2/approval_policies/",
			body:     `{"condition": "item.name ==`,
			want:     azCodes(forbidden, forbidden, forbidden, bad, bad, bad),
			has:      map[int]string{bad: `"detail":"JSON parse error`},
			compiles: azCompiles(0, 0, 0, 0, 0, 0)},
		{name: "policy detail", method: "GET", path: p("/api/v2/approval_policies/%d/", f.envPolicy), want: azCodes(notFound, notFound, notFound, notFound, ok, ok)},
		{name: "policy detail (initech)", method: "GET", path: p("/api/v2/approval_policies/%d/", f.initechPolicy), want: azCodes(notFound, notFound, notFound, ok, notFound, ok)},
		{name: "policy patch", method: "PATCH", path: p("/api/v2/approval_policies/%d/", f.envPolicy), body: map[string]any{"name": ""}, capability: "edit",
			want: azCodes(notFound, notFound, notFound, notFound, bad, bad), has: map[int]string{bad: `"name":[`}},
		{name: "policy patch (hostile condition)", method: "PATCH", path: p("/api/v2/approval_policies/%d/", f.envPolicy),
			body: map[string]any{"name": "", "condition": hostileCondition()},
			want: azCodes(notFound, notFound, notFound, notFound, bad, bad), has: map[int]string{bad: `"condition":["condition `},
			compiles: azCompiles(0, 0, 0, 0, 1, 1)},
		{name: "policy delete (fresh)", method: "DELETE", fresh: func(string) (string, func()) {
			pol, err := st.CreatePolicy(ctx, store.NewPolicy{OrganizationID: f.acme, Name: azFreshName("fresh-policy"), Priority: 500,
				Condition: "false", Stages: []store.PolicyStage{{Name: "x", MinApprovers: 1, Timeout: time.Hour, ReminderInterval: 0}}})
			require.NoError(t, err)
			return p("/api/v2/approval_policies/%d/", pol.ID), func() { ignoreMissing(st.DeletePolicy(ctx, pol.ID)) }
		}, want: azCodes(notFound, notFound, notFound, notFound, gone, gone), capability: "delete"},

		// Service requests.
		{name: "requests list", method: "GET", path: "/api/v2/service_requests/?page_size=200", want: azCodes(ok, ok, ok, ok, ok, ok),
			lists: map[string][]int64{requester: {f.request}, otherTeam: none, approver: {f.request}, otherAdmin: none, orgAdmin: {f.request}, superuser: {f.request}}},
		// Superusers may decide every stage: every waiting request they did
		// not submit or decide is in their inbox.
		{name: "pending approvals", method: "GET", path: "/api/v2/service_requests/pending_approvals/", want: azCodes(ok, ok, ok, ok, ok, ok),
			lists: map[string][]int64{requester: none, otherTeam: none, approver: {f.request}, otherAdmin: none, orgAdmin: none, superuser: {f.request}}},
		{name: "request detail", method: "GET", path: p("/api/v2/service_requests/%d/", f.request), want: azCodes(ok, notFound, ok, notFound, ok, ok),
			has: map[int]string{ok: `"status":"pending_approval"`}},
		{name: "request delete (fresh, pending)", method: "DELETE", fresh: freshRequest(""),
			want: azCodes(gone, notFound, forbidden, notFound, gone, gone)},
		{name: "request approve (fresh)", method: "POST", fresh: freshRequest("approve/"), body: map[string]any{"comment": "fine"},
			want:   azCodes(forbidden, notFound, ok, notFound, forbidden, ok),
			hasFor: map[string]string{requester: `"code":"self_decision"`, orgAdmin: `"code":"not_eligible"`, approver: `"approvals":1`, superuser: `"approvals":1`}},
		{name: "request reject (no reason)", method: "POST", path: p("/api/v2/service_requests/%d/reject/", f.request), body: map[string]any{},
			want: azCodes(forbidden, notFound, bad, notFound, forbidden, bad),
			hasFor: map[string]string{requester: `"code":"self_decision"`, orgAdmin: `"code":"not_eligible"`,
				approver: `"code":"reason_required"`, superuser: `"code":"reason_required"`}},
		{name: "request comment", method: "POST", path: p("/api/v2/service_requests/%d/comment/", f.request), body: map[string]any{"text": "a note"},
			want: azCodes(ok, notFound, ok, notFound, ok, ok), has: map[int]string{ok: `"text":"a note"`}},
		{name: "request cancel (fresh)", method: "POST", fresh: freshRequest("cancel/"), body: map[string]any{"reason": "not needed"},
			want: azCodes(ok, notFound, forbidden, notFound, ok, ok),
			has:  map[int]string{ok: `"status":"canceled"`}, hasFor: map[string]string{approver: `"code":"not_allowed"`}},
	}

	rows = append(rows, invalidBodyRows(f, uid)...)

	cells := 0
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			for _, persona := range matrixPersonas {
				want, ok := row.want[persona]
				require.True(t, ok, "row %q has no expectation for %s", row.name, personaLabel(persona))
				cells++
				path := row.path
				if row.fresh != nil {
					var cleanup func()
					path, cleanup = row.fresh(persona)
					defer cleanup()
				}
				capable, checkCapability := e.capability(persona, row, path)
				compiled := approval.ConditionCompiles()
				status, raw := e.raw(persona, row.method, path, row.body)
				compiled = approval.ConditionCompiles() - compiled
				what := fmt.Sprintf("%s %s as %s", row.method, path, personaLabel(persona))
				if want, ok := row.compiles[persona]; ok && compiled != want {
					t.Errorf("%s: %d conditions compiled, want %d", what, compiled, want)
				}
				if checkCapability && capable != accepted(status) {
					t.Errorf("%s: answered %d, but user_capabilities.%s was %v", what, status, row.capability, capable)
				}
				if status != want {
					t.Errorf("%s: status %d, want %d; body: %s", what, status, want, raw)
					continue
				}
				switch status {
				case http.StatusUnauthorized:
					if eq, got := sameJSON(t, map[string]any{"detail": "Authentication credentials were not provided or are not valid."}, raw); !eq {
						t.Errorf("%s: 401 body %s", what, got)
					}
				case http.StatusNotFound:
					if eq, got := sameJSON(t, map[string]any{"detail": "Not found."}, raw); !eq {
						t.Errorf("%s: 404 body %s, want {\"detail\":\"Not found.\"}", what, got)
					}
				case http.StatusForbidden:
					if _, special := row.hasFor[persona]; !special {
						if eq, got := sameJSON(t, map[string]any{"detail": "You do not have permission to perform this action."}, raw); !eq {
							t.Errorf("%s: 403 body %s", what, got)
						}
					}
				}
				if needle, ok := row.hasFor[persona]; ok {
					if !strings.Contains(string(raw), needle) {
						t.Errorf("%s: body %s does not contain %s", what, raw, needle)
					}
				} else if needle, ok := row.has[status]; ok && !strings.Contains(string(raw), needle) {
					t.Errorf("%s: body %s does not contain %s", what, raw, needle)
				}
				if status == http.StatusOK && persona != personaAnonymous && persona != personaBadToken {
					checkOKBody(t, e, row, persona, what, raw)
				}
			}
		})
	}
	t.Logf("%d endpoints × %d personas = %d cells", len(rows), len(matrixPersonas), cells)
	require.Equal(t, len(rows)*len(matrixPersonas), cells)

	// The fixture survived the matrix.
	req := e.must(ok, requester, "GET", p("/api/v2/service_requests/%d/", f.request), nil)
	require.Equal(t, "pending_approval", req["status"])
	require.Len(t, req["comments"], 4, "alice, bob, erin and admin commented")
	for path, name := range map[string]string{
		p("/api/v2/organizations/%d/", f.acme): "acme", p("/api/v2/teams/%d/", f.sre): "sre",
		p("/api/v2/service_catalog_items/%d/", f.restart): "Restart service", p("/api/v2/approval_policies/%d/", f.envPolicy): "environments",
	} {
		require.Equal(t, name, e.must(ok, superuser, "GET", path, nil)["name"], path)
	}
}
