package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// Who may decide follows PostgreSQL at the moment of the decision: a
// membership or role change holds for decisions as soon as it is made,
// before the waiting requests have heard of it.
func TestAPI_DecisionsFollowMembershipAtOnce(t *testing.T) {
	e, id := newEnvWithRequest(t)
	ctx := context.Background()
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)

	// Changed behind the workflow's back (no refresh is sent): carol leaves
	// sre, grace becomes a superuser.
	require.NoError(t, e.stack.Store.RemoveTeamMember(ctx, e.teamID("sre"), e.userID(approver2)))
	e.addUser(store.NewUser{Username: "grace", IsSuperuser: true})

	out := e.must(http.StatusForbidden, approver2, "POST", path+"approve/", nil)
	assert.Equal(t, "not_eligible", out["code"], "carol's removal holds at once")
	done := e.must(http.StatusOK, "grace", "POST", path+"approve/", map[string]any{"comment": "new here"})
	assert.NotEqual(t, "pending_approval", done["status"], "and so does grace's new role")
}

// A superuser created through the API is told to every waiting request,
// as a user made superuser is.
func TestAPI_NewSuperuserDecidesAtOnce(t *testing.T) {
	e, id := newEnvWithRequest(t)
	u := e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "heidi", "is_superuser": true})
	tok := e.must(http.StatusCreated, superuser, "POST", fmt.Sprintf("/api/v2/users/%d/tokens/", idOf(u)), nil)
	e.tokens["heidi"] = tok["token"].(string)
	assert.Contains(t, e.inbox("heidi"), id)
	e.must(http.StatusOK, "heidi", "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", id), nil)
	e.eventually(30*time.Second, "the request to know heidi", func() bool {
		st := e.must(http.StatusOK, superuser, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		return st["status"] != "pending_approval"
	})
}

// Whoever was asked to decide keeps seeing the request once it moved on,
// and a decision then is refused as too late, not as unknown.
func TestAPI_AskedApproversKeepSeeingTheRequest(t *testing.T) {
	e, id := newEnvWithRequest(t) // waits for bob and carol
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	e.must(http.StatusOK, approver2, "POST", path+"reject/", map[string]any{"reason": "not today"})
	e.eventually(30*time.Second, "the rejection in PostgreSQL", func() bool {
		return e.must(http.StatusOK, requester, "GET", path, nil)["status"] == "rejected"
	})

	assert.Equal(t, "rejected", e.must(http.StatusOK, approver, "GET", path, nil)["status"], "bob was asked: he still sees it")
	assert.Contains(t, ids(e.must(http.StatusOK, approver, "GET", "/api/v2/service_requests/?page_size=200", nil)), id)
	out := e.must(http.StatusConflict, approver, "POST", path+"approve/", nil)
	assert.Equal(t, "request_finished", out["code"])
	e.must(http.StatusNotFound, otherTeam, "GET", path, nil)
}

// rosterSuperusers is who the request's workflow holds for superusers.
func (e *env) rosterSuperusers(id int64) []string {
	e.t.Helper()
	v, err := e.client.QueryWorkflow(context.Background(), workflows.WorkflowID(id), "", workflows.StateQuery)
	require.NoError(e.t, err)
	var st approval.Request
	require.NoError(e.t, v.Get(&st))
	return st.Roster.Superusers
}

// Every change of who is a superuser reaches every waiting request's
// roster, however it is made: created a superuser, made one, activated or
// deactivated as one.
func TestAPI_SuperuserChangesRefreshEveryWaitingRequest(t *testing.T) {
	e, id := newEnvWithRequest(t)
	has := func(name string, want bool) {
		e.t.Helper()
		e.eventually(30*time.Second, fmt.Sprintf("%s in the roster's superusers: %v", name, want), func() bool {
			return slices.Contains(e.rosterSuperusers(id), name) == want
		})
	}

	e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "heidi", "is_superuser": true})
	has("heidi", true)

	ivan := e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "ivan"})
	e.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/users/%d/", idOf(ivan)), map[string]any{"is_superuser": true})
	has("ivan", true)

	judy := e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "judy", "is_superuser": true, "is_active": false})
	e.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/users/%d/", idOf(judy)), map[string]any{"is_active": true})
	has("judy", true)

	e.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/users/%d/", idOf(ivan)), map[string]any{"is_active": false})
	has("ivan", false)
}

// newEnvWithRequest is newEnv with the demo catalog and one "Restart
// service" request waiting for sre (see submitRestart).
func newEnvWithRequest(t *testing.T) (*env, int64) {
	t.Helper()
	e := newEnv(t)
	_, restart := e.catalog()
	return e, e.submitRestart(restart)
}

// submitRestart submits "Restart service" (one sre approval) as alice and
// waits for its stage to open.
func (e *env) submitRestart(item int64) int64 {
	e.t.Helper()
	id := idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", item),
		map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}}))
	e.eventually(20*time.Second, "the stage to open", func() bool { return slices.Contains(e.inbox(approver), id) })
	return id
}

func TestAPI_TeamMembershipFollowsWaitingRequests(t *testing.T) {
	e, id := newEnvWithRequest(t)
	frank := e.addUser(store.NewUser{Username: "frank"})
	members := fmt.Sprintf("/api/v2/teams/%d/members/", e.teamID("sre"))
	// Superusers bring users into an organization; its admins then place
	// them in teams.
	e.must(http.StatusNoContent, superuser, "POST", fmt.Sprintf("/api/v2/organizations/%d/users/", e.orgID()), map[string]any{"id": frank.ID})

	e.must(http.StatusNoContent, orgAdmin, "POST", members, map[string]any{"id": frank.ID})
	e.eventually(20*time.Second, "frank to be asked", func() bool { return slices.Contains(e.inbox("frank"), id) })

	carol := e.stack.Identity.Users["carol"].ID
	e.must(http.StatusNoContent, orgAdmin, "POST", members, map[string]any{"id": carol, "disassociate": true})
	e.eventually(20*time.Second, "carol to be dropped", func() bool { return !slices.Contains(e.inbox(approver2), id) })
	status, body := e.call(approver2, "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", id), nil)
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status, "carol may no longer decide: %v", body)

	done := e.must(http.StatusOK, "frank", "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", id), nil)
	assert.Equal(t, "approve", done["stages"].([]any)[0].(map[string]any)["responses"].([]any)[0].(map[string]any)["decision"])
}

// bob (team sre, with carol) asks for a restart that sre must approve
// twice. The detail says why the stage cannot be completed, to bob and to
// the org admin, until erin adds frank to sre: the request then asks him.
func TestAPI_UnreachableStage(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "restarts", "priority": 5, "condition": `item.name == "Restart service"`,
		"stages": []map[string]any{{"name": "SRE pair", "approver_team": e.teamID("sre"), "min_approvers": 2}},
	})
	id := idOf(e.must(http.StatusCreated, approver, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}}))
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	verdict := func(user string) (map[string]any, []any) {
		t.Helper()
		d := e.must(http.StatusOK, user, "GET", path, nil)
		require.Equal(t, "workflow", d["source"])
		st := d["stages"].([]any)[0].(map[string]any)
		require.Contains(t, st, "unreachable")
		u, _ := st["unreachable"].(map[string]any)
		return u, d["pending_approvers"].([]any)
	}

	e.eventually(20*time.Second, "the stage to open", func() bool { return slices.Contains(e.inbox(approver2), id) })
	for _, user := range []string{approver, orgAdmin} {
		u, pending := verdict(user)
		require.NotNil(t, u, "%s is told the stage cannot be completed", user)
		assert.Equal(t, "needs 2 more approvals but only 1 eligible approver remains (carol): bob is the requester and cannot approve their own request", u["reason"])
		assert.Equal(t, float64(2), u["needed"])
		assert.Equal(t, []any{"carol"}, pending)
	}

	e.must(http.StatusOK, approver2, "POST", path+"approve/", map[string]any{"comment": "fine by me"})
	u, pending := verdict(approver)
	require.NotNil(t, u)
	assert.Equal(t, float64(1), u["needed"])
	assert.Empty(t, pending)

	// With Temporal out of reach, the detail comes from the projection,
	// which judges the stage by the same rule from what it keeps.
	main := e.url
	e.url = e.apiOn(unreachableTemporal(t), testkit.TaskQueue(t), 2*time.Second)
	e.eventually(20*time.Second, "the projection to show carol's approval", func() bool {
		d := e.must(http.StatusOK, approver, "GET", path, nil)
		require.Equal(t, "projection", d["source"])
		st := d["stages"].([]any)[0].(map[string]any)
		return len(st["responses"].([]any)) == 1
	})
	d := e.must(http.StatusOK, approver, "GET", path, nil)
	assert.Equal(t, map[string]any{"reason": "needs 1 more approval but no eligible approver remains", "needed": float64(1), "remaining": []any{}},
		d["stages"].([]any)[0].(map[string]any)["unreachable"])
	e.url = main

	frank := e.addUser(store.NewUser{Username: "frank"})
	e.must(http.StatusNoContent, superuser, "POST", fmt.Sprintf("/api/v2/organizations/%d/users/", e.orgID()), map[string]any{"id": frank.ID})
	e.must(http.StatusNoContent, orgAdmin, "POST", fmt.Sprintf("/api/v2/teams/%d/members/", e.teamID("sre")), map[string]any{"id": frank.ID})
	e.eventually(20*time.Second, "frank to be asked", func() bool {
		u, pending := verdict(approver)
		return u == nil && slices.Equal(pending, []any{"frank"}) && slices.Contains(e.inbox("frank"), id)
	})
	done := e.must(http.StatusOK, "frank", "POST", path+"approve/", nil)
	assert.Equal(t, "approved", done["status"])
	assert.Nil(t, done["stages"].([]any)[0].(map[string]any)["unreachable"])
}

// signal sends a decision as the `temporal` CLI does, signed with a
// private decision key.
func (e *env) signalSigned(private string, d workflows.Decision) {
	e.t.Helper()
	p, err := proof.SignUser(private, d.Claims(), time.Now())
	require.NoError(e.t, err)
	require.NoError(e.t, e.client.SignalWorkflow(context.Background(), workflows.WorkflowID(d.RequestID), "", string(d.Action), d.Payload(&p)))
}

func TestAPI_DecisionKeys(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()

	first := e.must(http.StatusCreated, approver, "POST", "/api/v2/me/decision_keys/", map[string]any{"description": "old laptop"})
	private := first["private_key"].(string)
	require.True(t, strings.HasPrefix(private, "csdk_"+first["key_id"].(string)+"."), private)
	expires, err := time.Parse(time.RFC3339, first["expires"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(90*24*time.Hour), expires, time.Hour, "keys live 90 days unless asked otherwise")
	list := e.must(http.StatusOK, approver, "GET", fmt.Sprintf("/api/v2/users/%d/decision_keys/", e.userID(approver)), nil)
	require.EqualValues(t, 1, list["count"])
	assert.NotContains(t, fmt.Sprint(list), private[len(private)-20:], "the private key is shown once")
	assert.NotContains(t, fmt.Sprint(list), "private_key")

	id := e.submitRestart(restart)
	approve := workflows.Decision{RequestID: id, Action: approval.ActionApprove, User: approver}
	state := func() map[string]any {
		return e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	}

	// A revoked key proves nothing; carol's key does not prove bob.
	e.must(http.StatusNoContent, superuser, "DELETE", fmt.Sprintf("/api/v2/decision_keys/%d/", idOf(first)), nil)
	e.signalSigned(private, approve)
	carols := e.must(http.StatusCreated, approver2, "POST", "/api/v2/me/decision_keys/", nil)["private_key"].(string)
	e.signalSigned(carols, approve)
	var refused []any
	e.eventually(30*time.Second, "both signals refused", func() bool {
		refused, _ = state()["refused_signals"].([]any)
		return len(refused) == 2
	})
	assert.Contains(t, refused[0].(map[string]any)["message"], "was revoked")
	assert.Contains(t, refused[1].(map[string]any)["message"], "is not bob's")
	for _, r := range refused {
		assert.Equal(t, "proof_invalid", r.(map[string]any)["code"])
	}
	assert.Equal(t, "pending_approval", state()["status"])

	// bob's new key: his decision from the CLI is applied, recorded as such.
	e.signalSigned(e.must(http.StatusCreated, approver, "POST", "/api/v2/me/decision_keys/", nil)["private_key"].(string), approve)
	e.eventually(30*time.Second, "bob's approval", func() bool { return state()["status"] != "pending_approval" })
	st := state()
	var channel any
	for _, s := range st["stages"].([]any) {
		for _, r := range s.(map[string]any)["responses"].([]any) {
			channel = r.(map[string]any)["channel"]
		}
	}
	assert.Equal(t, "cli", channel)
	assert.NotContains(t, fmt.Sprint(st), "unverified:true")
	assert.Contains(t, e.logs.String(), `"msg":"signal refused"`)
}
