package api_test

import (
	"context"
	"fmt"
	"net/http"
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
