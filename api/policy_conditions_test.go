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

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

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
