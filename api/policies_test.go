package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// apiWith serves an API for e's stack, on e's task queue, with limits.
func (e *env) apiWith(limits approval.StageLimits) string {
	return e.serveAPI(api.Deps{Temporal: e.client, TaskQueue: e.queue, TemporalTimeout: 10 * time.Second, StageLimits: limits})
}

func stageOf(detail map[string]any, i int) map[string]any {
	return detail["stages"].([]any)[i].(map[string]any)
}

// A policy saved before the limits existed (or under lower ones) still
// applies, brought within the limits when its plan is frozen into a
// request; the plan says what was raised. The policy itself is unchanged.
func TestAPI_PlansAreFrozenWithinTheStageLimits(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	ctx := context.Background()
	sre := e.teamID("sre")
	legacy, err := e.stack.Store.CreatePolicy(ctx, store.NewPolicy{OrganizationID: e.orgID(), Name: "restarts", Priority: 1,
		Condition: `item.name == "Restart service"`,
		Stages:    []store.PolicyStage{{Name: "SRE", ApproverTeamID: &sre, MinApprovers: 1, Timeout: 5 * time.Second, ReminderInterval: time.Second}}})
	require.NoError(t, err)
	wantNotes := []any{
		"stage 1 (SRE): timeout 5s raised to the minimum stage timeout, 1m",
		"stage 1 (SRE): reminder interval 1s raised to 1h, the minimum reminder interval",
	}

	form := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/", restart), nil)
	plan := form["approval_plan"].(map[string]any)
	assert.Equal(t, wantNotes, plan["notes"], "the preview is the plan the request gets")
	assert.Equal(t, "1m0s", plan["stages"].([]any)[0].(map[string]any)["timeout"])

	created := e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}})
	assert.Equal(t, wantNotes, created["plan"].(map[string]any)["notes"])
	assert.Equal(t, "1m0s", stageOf(created, 0)["timeout"], "the stored stage")
	assert.Equal(t, "1h0m0s", stageOf(created, 0)["reminder_interval"])
	detail := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", idOf(created)), nil)
	assert.Equal(t, "workflow", detail["source"])
	assert.Equal(t, wantNotes, detail["plan"].(map[string]any)["notes"], "the workflow's plan")
	assert.Equal(t, "1m0s", stageOf(detail, 0)["timeout"])

	p, err := e.stack.Store.GetPolicy(ctx, legacy.ID)
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, p.Stages[0].Timeout, "the policy is left as saved")
}

// The fallback stage of an item that requires approval (72h, reminders
// every 24h) is bounded like any other.
func TestAPI_FallbackStageWithinTheStageLimits(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	e.url = e.apiWith(approval.StageLimits{MinTimeout: time.Minute, MaxTimeout: 48 * time.Hour, MinReminderInterval: 30 * time.Hour})
	created := e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}})
	assert.Equal(t, "item", created["plan"].(map[string]any)["source"])
	assert.Equal(t, "48h0m0s", stageOf(created, 0)["timeout"])
	assert.Equal(t, "30h0m0s", stageOf(created, 0)["reminder_interval"])
	assert.Len(t, created["plan"].(map[string]any)["notes"], 2)
}

// Lowered limits (as tests and demos set them) let stages wait seconds and
// remind every second, end to end.
func TestAPI_LoweredStageLimits(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	policy := map[string]any{"organization": e.orgID(), "name": "quick restarts", "priority": 1,
		"stages": []map[string]any{{"name": "SRE", "approver_team": e.teamID("sre"), "timeout": "3s", "reminder_interval": "1s"}}}
	out := e.must(http.StatusBadRequest, orgAdmin, "POST", "/api/v2/approval_policies/", policy)
	assert.Contains(t, out, "stages.0.timeout", "refused under the production limits")

	e.url = e.apiWith(approval.StageLimits{MinTimeout: time.Second, MaxTimeout: time.Hour, MinReminderInterval: time.Second})
	e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", policy)
	created := e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}})
	assert.Empty(t, created["plan"].(map[string]any)["notes"])
	id := idOf(created)
	e.eventually(30*time.Second, "the request to expire", func() bool {
		return e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)["status"] == "expired"
	})
	reminders := 0
	for _, n := range e.stack.Notifier.Sent() {
		if n.RequestID == id && n.Kind == "reminder" {
			reminders++
		}
	}
	assert.Equal(t, 2, reminders, "reminders at 1s and 2s, expiry at 3s")
}

// TestAPI_FailingConditionLeaksNoAnswer: CEL's error for a map looked up
// with an answer quotes the answer (`no such key: <answer>`). A policy whose
// condition fails that way on a password still fails closed, and its note
// says which policy and what kind of failure, never the password: not in
// the submit answer, the request's detail (the workflow's state query),
// the launch form's preview, the database or the logs.
func TestAPI_FailingConditionLeaksNoAnswer(t *testing.T) {
	e := newEnv(t)
	provision, _ := e.catalog()
	const secret = "pw-Zk41-in-a-condition"
	e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "known passwords", "priority": 1,
		"condition": `{"correct-horse-battery": true}[node_survey_data["create-database"].db_password]`,
		"stages":    []map[string]any{{"name": "Security review", "approver_team": e.teamID("security")}},
	})
	answers := provisionAnswers(3)
	answers["node_survey_data"].(map[string]any)["create-database"].(map[string]any)["db_password"] = secret

	checkPlan := func(what string, plan map[string]any) {
		t.Helper()
		notes := plan["notes"].([]any)
		require.Len(t, notes, 1, "%s: %v", what, plan)
		assert.Contains(t, notes[0], `policy "known passwords"`, what)
		assert.Contains(t, notes[0], "a variable or key it reads is missing", what)
	}

	q := url.Values{"node_survey_data": {fmt.Sprintf(`{"create-database": {"db_size": "small", "db_password": %q}}`, secret)},
		"extra_vars": {`{"env_name": "demo-env", "ttl_days": 3}`}}
	form := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/?%s", provision, q.Encode()), nil)
	checkPlan("launch_data", form["approval_plan"].(map[string]any))

	// The failing policy's stage and the plan had it not held (the
	// "environments" policy: two of sre) are combined.
	created := e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", provision), answers)
	checkPlan("submit", created["plan"].(map[string]any))
	path := fmt.Sprintf("/api/v2/service_requests/%d/", idOf(created))
	var detail map[string]any
	e.eventually(30*time.Second, "the detail from the workflow's state query", func() bool {
		detail = e.must(http.StatusOK, requester, "GET", path, nil)
		return detail["source"] == "workflow"
	})
	checkPlan("detail", detail["plan"].(map[string]any))
	var stages []string
	for _, st := range detail["stages"].([]any) {
		st := st.(map[string]any)
		stages = append(stages, fmt.Sprintf("%s/%v", st["name"], st["min_approvers"]))
	}
	assert.Equal(t, []string{"Security review/1", "SRE review/2"}, stages)

	bodies, logs, tables := e.bodies.String(), e.logs.String(), e.dumpDatabase()
	require.Contains(t, bodies, "known passwords")
	for what, text := range map[string]string{"response bodies": bodies, "logs": logs, "database": tables} {
		assert.NotContains(t, text, secret, what)
	}

	// Compilations are counted where operators can see them.
	resp, err := http.Get(e.url + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(metrics), "countersign_policy_condition_compiles_total ")
}

// TestAPI_PolicyLimit: an organization has at most approval.MaxPolicies
// policies, so that a plan never evaluates more conditions than the
// limits were measured for; another organization is not affected.
func TestAPI_PolicyLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, total, err := e.stack.Store.ListPolicies(ctx, store.PolicyFilter{OrganizationIDs: []int64{e.orgID()}}, store.ListOptions{})
	require.NoError(t, err)
	for i := total; i < approval.MaxPolicies; i++ {
		_, err := e.stack.Store.CreatePolicy(ctx, store.NewPolicy{OrganizationID: e.orgID(), Name: fmt.Sprint("filler ", i), Priority: 100 + i,
			Condition: "false", Stages: []store.PolicyStage{{Name: "x", MinApprovers: 1, Timeout: time.Hour}}})
		require.NoError(t, err)
	}
	body := func(org int64) map[string]any {
		return map[string]any{"organization": org, "name": "one too many", "stages": []map[string]any{{"name": "Admins"}}}
	}
	for _, user := range []string{orgAdmin, superuser} {
		status, raw := e.raw(user, "POST", "/api/v2/approval_policies/", body(e.orgID()))
		require.Equal(t, http.StatusConflict, status, "%s", raw)
		eq, got := sameJSON(t, detailErr(fmt.Sprintf(
			"This organization already has %d approval policies, the most it may have; delete or merge some first.", approval.MaxPolicies)), raw)
		assert.True(t, eq, "%s", got)
	}
	e.must(http.StatusCreated, otherAdmin, "POST", "/api/v2/approval_policies/", body(e.initech.ID))

	// Deleting one makes room again.
	policies, _, err := e.stack.Store.ListPolicies(ctx, store.PolicyFilter{OrganizationIDs: []int64{e.orgID()}}, store.ListOptions{})
	require.NoError(t, err)
	e.must(http.StatusNoContent, orgAdmin, "DELETE", fmt.Sprintf("/api/v2/approval_policies/%d/", policies[0].ID), nil)
	created := e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", body(e.orgID()))
	assert.True(t, strings.HasPrefix(fmt.Sprint(created["name"]), "one too many"))
}

// TestAPI_LaunchDataPreviewsWithTheJustification: a policy may test the
// justification, so launch_data's plan preview takes it (the query
// parameter justification, trimmed and bounded as submit does) and
// previews the plan the request then gets.
func TestAPI_LaunchDataPreviewsWithTheJustification(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog() // "Restart service": approved by sre unless a policy says otherwise
	e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "urgent restarts", "priority": 5,
		"condition": `item.name == "Restart service" && justification.contains("urgent")`,
		"stages":    []map[string]any{{"name": "Security review", "approver_team": e.teamID("security"), "min_approvers": 1}},
	})
	path := fmt.Sprintf("/api/v2/service_catalog_items/%d/", restart)
	preview := func(justification string) map[string]any {
		t.Helper()
		q := url.Values{"extra_vars": {`{"service_name":"worker"}`}}
		if justification != "" {
			q.Set("justification", justification)
		}
		out := e.must(http.StatusOK, requester, "GET", path+"launch_data/?"+q.Encode(), nil)
		return out["approval_plan"].(map[string]any)
	}
	stageNames := func(plan map[string]any) []string {
		var out []string
		for _, st := range plan["stages"].([]any) {
			out = append(out, st.(map[string]any)["name"].(string))
		}
		return out
	}

	plain := preview("")
	assert.Nil(t, plain["policy_name"], "no justification: the item's own approval")
	urgent := preview("urgent fix")
	assert.Equal(t, "urgent restarts", urgent["policy_name"])
	assert.Equal(t, []string{"Security review"}, stageNames(urgent))
	assert.NotEqual(t, stageNames(plain), stageNames(urgent))
	assert.Nil(t, preview("routine restart")["policy_name"])

	// The submitted request gets the plan the preview showed.
	answers := restartServiceAnswers()
	answers["justification"] = "  urgent fix  "
	req := e.must(http.StatusCreated, requester, "POST", path+"submit/", answers)
	assert.Equal(t, "urgent restarts", req["plan"].(map[string]any)["policy_name"])
	assert.Equal(t, urgent["policy_name"], preview("  urgent fix  ")["policy_name"], "trimmed like submit")

	// Bounded like submit's: at most 2000 bytes.
	assert.Equal(t, "urgent restarts", preview("urgent " + strings.Repeat("j", 2000-len("urgent ")))["policy_name"])
	status, body := e.call(requester, "GET", path+"launch_data/?justification="+strings.Repeat("j", 2001), nil)
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	assert.Equal(t, []any{"Use at most 2000 bytes."}, body["justification"])
	status, body = e.call(requester, "GET", path+"launch_data/?justifcation=urgent", nil)
	assert.Equal(t, http.StatusBadRequest, status, "unknown query keys are still refused: %v", body)
}

// A stage's deadline rules (max_extension, warn_before, escalations) are
// saved with the policy, shown with team names, checked like the other
// fields, and frozen into the plan of a request.
func TestAPI_PolicyDeadlineRules(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	sre := e.teamID("sre")
	created := e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "restarts", "priority": 1,
		"stages": []map[string]any{{"name": "SRE", "approver_team": sre, "timeout": "24h", "max_extension": "48h", "warn_before": "4h",
			"escalations": []map[string]any{{"after": "8h", "approver_team": sre}}}},
	})
	st := created["stages"].([]any)[0].(map[string]any)
	assert.Equal(t, "48h0m0s", st["max_extension"])
	assert.Equal(t, "4h0m0s", st["warn_before"])
	step := st["escalations"].([]any)[0].(map[string]any)
	assert.Equal(t, "8h0m0s", step["after"])
	assert.Equal(t, "sre", step["summary_fields"].(map[string]any)["approver_team"].(map[string]any)["name"])

	bad := e.must(http.StatusBadRequest, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "bad", "stages": []map[string]any{{"name": "SRE", "timeout": "24h", "warn_before": "30h",
			"escalations": []map[string]any{{"after": "8h"}}}},
	})
	assert.Contains(t, bad, "stages.0.warn_before")
	assert.Contains(t, bad, "stages.0.escalations.0.approver_team")

	form := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/", restart), nil)
	planned := form["approval_plan"].(map[string]any)["stages"].([]any)[0].(map[string]any)
	assert.Equal(t, "48h0m0s", planned["max_extension"])
	assert.Equal(t, "4h0m0s", planned["warn_before"])
	assert.Equal(t, []any{map[string]any{"after": "8h0m0s", "approver_team": map[string]any{"id": float64(sre), "name": "sre"}}}, planned["escalations"])
}

// Extending a stage's deadline through the API: who may is told by
// user_capabilities.extend, in the detail and in lists, and refused
// otherwise (before anything about the body), the deadline moves, and
// extensions add up to max_extension.
func TestAPI_Extend(t *testing.T) {
	e := newEnv(t)
	id := e.extendableRestart()
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	detail := e.must(http.StatusOK, approver, "GET", path, nil)
	mayExtend := func(user string) (inDetail, inList bool) {
		return capabilitiesOf(t, e.must(http.StatusOK, user, "GET", path, nil))["extend"], capabilitiesOf(t, e.listed(user, id))["extend"]
	}
	for user, want := range map[string]bool{approver: true, orgAdmin: true, superuser: true, requester: false} {
		inDetail, inList := mayExtend(user)
		assert.Equal(t, want, inDetail, "%s may extend: %v", user, want)
		assert.Equal(t, want, inList, "%s may extend, as the list says: %v", user, want)
	}
	deadline, err := time.Parse(time.RFC3339Nano, stageOf(detail, 0)["deadline"].(string))
	require.NoError(t, err)

	out := e.must(http.StatusForbidden, requester, "POST", path+"extend/", map[string]any{"by": "soon"})
	assert.Equal(t, "not_allowed", out["code"], "who may not extend is told so before the body is judged")
	out = e.must(http.StatusBadRequest, approver, "POST", path+"extend/", map[string]any{"by": "soon"})
	assert.Contains(t, out, "by")
	e.must(http.StatusBadRequest, approver, "POST", path+"extend/", map[string]any{"reason": "no duration"})
	out = e.must(http.StatusBadRequest, approver, "POST", path+"extend/", map[string]any{"by": "-1h"})
	assert.Equal(t, "invalid_duration", out["code"])

	out = e.must(http.StatusOK, approver, "POST", path+"extend/", map[string]any{"by": "24h", "reason": "waiting for the change window"})
	st := stageOf(out, 0)
	moved, err := time.Parse(time.RFC3339Nano, st["deadline"].(string))
	require.NoError(t, err)
	assert.Equal(t, deadline.Add(24*time.Hour), moved)
	assert.Equal(t, "24h0m0s", st["extended"])
	assert.Equal(t, "36h0m0s", st["max_extension"])
	ext := st["extensions"].([]any)[0].(map[string]any)
	assert.Equal(t, approver, ext["user"])
	assert.Equal(t, "waiting for the change window", ext["reason"])
	assert.Equal(t, "api", ext["channel"])

	out = e.must(http.StatusConflict, orgAdmin, "POST", path+"extend/", map[string]any{"by": "13h"})
	assert.Equal(t, "extension_exceeded", out["code"])
	e.must(http.StatusOK, orgAdmin, "POST", path+"extend/", map[string]any{"by": "12h"})
	out = e.must(http.StatusConflict, orgAdmin, "POST", path+"extend/", map[string]any{"by": "1m"})
	assert.Equal(t, "extension_exceeded", out["code"])
	inDetail, inList := mayExtend(orgAdmin)
	assert.False(t, inDetail, "nothing left to extend by")
	assert.False(t, inList, "nothing left to extend by, as the list says")
}

// An org admin escalates a request's open stage to another team through
// the API: who may not is told so first, a team not of the request's
// organization is refused unknown_team as by the update and the signal,
// and the team's members may then decide through the API
// (their roster read with the stage's escalation teams).
func TestAPI_Escalate(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	id := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	security := e.teamID("security")
	assert.True(t, capabilitiesOf(t, e.must(http.StatusOK, orgAdmin, "GET", path, nil))["escalate"])
	assert.False(t, capabilitiesOf(t, e.must(http.StatusOK, approver, "GET", path, nil))["escalate"])

	out := e.must(http.StatusForbidden, approver, "POST", path+"escalate/", map[string]any{"approver_team": 999999})
	assert.Equal(t, "not_allowed", out["code"], "who may not escalate is told so before the body is judged")
	out = e.must(http.StatusBadRequest, orgAdmin, "POST", path+"escalate/", map[string]any{"approver_team": 999999})
	assert.Equal(t, "unknown_team", out["code"], "the code the update and the signal answer too")
	out = e.must(http.StatusBadRequest, orgAdmin, "POST", path+"escalate/", map[string]any{"reason": "no team"})
	assert.Contains(t, out, "approver_team", "a field the body lacks")
	e.must(http.StatusNotFound, "dave", "POST", path+"approve/", map[string]any{}) // not his to see before the escalation

	out = e.must(http.StatusOK, orgAdmin, "POST", path+"escalate/", map[string]any{"approver_team": security, "reason": "sre is away"})
	esc := stageOf(out, 0)["escalated"].([]any)[0].(map[string]any)
	assert.Equal(t, "security", esc["approver_team"].(map[string]any)["name"])
	assert.Equal(t, orgAdmin, esc["user"])
	assert.Equal(t, "sre is away", esc["reason"])
	assert.Contains(t, out["pending_approvers"], "dave")
	out = e.must(http.StatusConflict, orgAdmin, "POST", path+"escalate/", map[string]any{"approver_team": security})
	assert.Equal(t, "already_escalated", out["code"])

	e.eventually(30*time.Second, "the escalation in PostgreSQL", func() bool {
		st, err := e.stack.Store.GetRequest(context.Background(), id)
		return err == nil && len(st.Stages[0].EscalationTeamIDs) == 1
	})
	out = e.must(http.StatusOK, "dave", "POST", path+"approve/", map[string]any{"comment": "fine"})
	assert.Equal(t, "dave", stageOf(out, 0)["responses"].([]any)[0].(map[string]any)["user"])
}
