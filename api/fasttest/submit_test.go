package fasttest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/workflows"
)

// A submission starts the request's workflow with what the service
// resolved (the answers AWX accepts, the item's plan) and answers 201 once
// the workflow has published who may decide: here the mocked start plays
// the workflow's first publication.
func TestSubmit_StartsTheWorkflow(t *testing.T) {
	e := newEnv(t)
	var started workflows.Input
	e.temporal.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		return o.ID == workflows.WorkflowID(1) && o.TaskQueue == taskQueue
	}), workflows.WorkflowType, mock.AnythingOfType("workflows.Input")).
		Run(func(args mock.Arguments) {
			started = args.Get(3).(workflows.Input)
			live := approval.NewRequest(started.RequestID, started.Organization, started.CatalogItem, started.Requester,
				started.Justification, started.Plan, e.now)
			roster := approval.Roster{TeamMembers: []string{approver}, OrgAdmins: []string{orgAdmin}, Superusers: []string{superuser}}
			live.OpenStage(0, roster, e.now)
			e.record(live)
		}).
		Return(mocks.NewWorkflowRun(t), nil).Once()

	a := e.call(requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", e.item.ID),
		map[string]any{"justification": " the api is stuck ", "extra_vars": map[string]any{"service_name": "api"}})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.raw)
	assert.Equal(t, requestPath(1), a.header.Get("Location"))

	assert.Equal(t, requester, started.Requester)
	assert.Equal(t, "the api is stuck", started.Justification)
	assert.Equal(t, map[string]any{"service_name": "api", "drain_seconds": json.Number("30")}, started.ExtraVars, "the survey's defaults merged")
	require.Len(t, started.Plan.Stages, 1)
	assert.Equal(t, &approval.Ref{ID: e.sre.ID, Name: "sre"}, started.Plan.Stages[0].ApproverTeam)

	body := a.json(t)
	assert.Equal(t, "pending_approval", body["status"])
	assert.Equal(t, caps{comment: true, cancel: true, delete: true}.json(), capabilitiesOf(t, body))
	assert.Equal(t, string(approval.PlanFromItem), body["plan"].(map[string]any)["source"])
	assert.NotNil(t, e.listed(approver, "/api/v2/service_requests/pending_approvals/", 1), "in bob's inbox at once")
}
