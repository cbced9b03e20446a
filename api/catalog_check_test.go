package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

// A workflow whose nodes' saved prompts AWX rejects (node_prompts_rejected)
// is refused as a catalog item, with what AWX shows of each node: which
// node, which template, and what its prompts fail, in AWX's words.
func TestAPI_CatalogItemRefusesRejectedWorkflowNodes(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.stack.Sim.AddWorkflowJobTemplate(awxsim.WorkflowJobTemplate{
		ID: 811, Name: "Provision, as first drawn", AskVariablesOnLaunch: true,
		Nodes: []awxsim.WorkflowNode{
			{ID: 8111, Identifier: "create-database", UnifiedJobTemplate: awxsim.DemoCreateDatabaseID,
				ExtraData: map[string]any{"db_password": "saved-node-password"}, SuccessNodes: []int64{8112}},
			{ID: 8112, Identifier: "restart", UnifiedJobTemplate: awxsim.DemoRestartServiceID,
				ExtraData: map[string]any{"service_name": "db"}, SuccessNodes: []int64{8113}},
			{ID: 8113, Identifier: "check", UnifiedJobTemplate: awxsim.DemoHealthCheckID, ExtraData: map[string]any{"channel": "#ops"}},
			{ID: 8114, Identifier: "deploy-app", UnifiedJobTemplate: awxsim.DemoDeployAppID},
		},
	}))
	status, body := e.call(superuser, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": "Provision", "workflow_job_template": 811,
	})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, map[string]any{"workflow_job_template": []any{
		`AWX rejects the saved prompts of node 8111 "create-database" (job template "Create database") of "Provision, as first drawn" (node_prompts_rejected): 'db_size' value missing. AWX requires a node's own answers to its template's required questions, defaults or not: answer them in the node's prompts in AWX, or make them optional.`,
		`AWX rejects the saved prompts of node 8112 "restart" (job template "Restart service") of "Provision, as first drawn" (node_prompts_rejected): Value db for 'service_name' expected to be one of ['api', 'web', 'worker'].`,
		`AWX rejects the saved prompts of node 8113 "check" (job template "Health check") of "Provision, as first drawn" (node_prompts_rejected): 'channel' is not a survey question, and the template does not prompt for other variables (ask_variables_on_launch is off).`,
	}}, body)

	e.must(http.StatusCreated, superuser, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": "Provision environment", "workflow_job_template": awxsim.DemoProvisionEnvironmentID,
	})
}
