package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// A Temporal namespace can outlive the database (a dev database wiped while
// Temporal kept its history): the next request id may then name a workflow
// that is not the request's. Submitting must neither adopt that workflow
// nor leave a row behind, and the next submission must work.
func TestAPI_SubmitRefusesAWorkflowIDTakenByAnotherRequest(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	submit := fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart)
	first := idOf(e.must(http.StatusCreated, requester, "POST", submit, restartServiceAnswers()))

	c := testkit.Dial(t, temporalAddr)
	taken := workflows.WorkflowID(first + 1)
	ctx := context.Background()
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: taken, TaskQueue: "nobody-polls-" + taken}, "SomeoneElsesWorkflow")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.TerminateWorkflow(ctx, taken, "", "test over") })

	status, body := e.call(requester, "POST", submit, restartServiceAnswers())
	require.Equal(t, http.StatusServiceUnavailable, status, "%v", body)
	assert.Contains(t, body["detail"], "already holds a workflow "+taken)
	_, err = e.stack.Store.GetRequest(ctx, first+1)
	require.ErrorIs(t, err, store.ErrNotFound, "no row may be left for a request whose workflow is not its own")
	assert.Contains(t, e.logs.String(), "workflow id collision")

	next := idOf(e.must(http.StatusCreated, requester, "POST", submit, restartServiceAnswers()))
	assert.Equal(t, first+2, next)
}

// Node answers are merged into the workflow's extra_vars, so an extra_vars
// answer to a node's question would bypass that node's survey.
func TestAPI_SubmitRefusesNodeQuestionsInExtraVars(t *testing.T) {
	e := newEnv(t)
	provision, _ := e.catalog()
	before := e.dbState()
	answers := provisionAnswers(3)
	answers["extra_vars"].(map[string]any)["replicas"] = 99
	status, body := e.call(requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", provision), answers)
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	assert.Equal(t, []any{"'replicas' is a question of node deploy-app; answer it in node_survey_data.deploy-app."}, body["extra_vars.replicas"])
	assert.Equal(t, before, e.dbState())
}

// Org admins may only offer templates of their organization's AWX
// organization; superusers choose any and link organizations.
func TestAPI_CatalogItemsStayInTheirAWXOrganization(t *testing.T) {
	e := newEnv(t)
	const foreign = 9001
	require.NoError(t, e.stack.Sim.AddJobTemplate(awxsim.JobTemplate{ID: foreign, Name: "Other team's playbook", Organization: 7}))
	item := func(org int64, name string) map[string]any {
		return map[string]any{"organization": org, "name": name, "job_template": foreign}
	}

	status, body := e.call(orgAdmin, "POST", "/api/v2/service_catalog_items/", item(e.orgID(), "foreign"))
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	assert.Equal(t, []any{`"Other team's playbook" belongs to AWX organization 7; acme may only offer templates of AWX organization 1.`}, body["job_template"])

	status, body = e.call(otherAdmin, "POST", "/api/v2/service_catalog_items/", item(e.initech.ID, "unlinked"))
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	assert.Contains(t, body["job_template"].([]any)[0], "is not linked to an AWX organization")

	// Linking is for superusers; then initech's admin may use AWX org 7.
	orgPath := fmt.Sprintf("/api/v2/organizations/%d/", e.initech.ID)
	status, _ = e.call(otherAdmin, "PATCH", orgPath, map[string]any{"awx_organization": 7})
	assert.Equal(t, http.StatusForbidden, status)
	linked := e.must(http.StatusOK, superuser, "PATCH", orgPath, map[string]any{"awx_organization": 7})
	assert.Equal(t, float64(7), linked["awx_organization"])
	e.must(http.StatusCreated, otherAdmin, "POST", "/api/v2/service_catalog_items/", item(e.initech.ID, "now linked"))

	e.must(http.StatusCreated, superuser, "POST", "/api/v2/service_catalog_items/", item(e.orgID(), "chosen by a superuser"))
}

// Team members are users of the team's organization (or, for a superuser,
// anyone); an id the caller cannot see is "Invalid pk", as if it did not
// exist, so membership edits reveal nothing about other organizations.
func TestAPI_TeamMembersMustBeVisible(t *testing.T) {
	e := newEnv(t)
	members := fmt.Sprintf("/api/v2/teams/%d/members/", e.teamID("sre"))
	oscar := e.userID(otherAdmin)
	before := e.dbState()
	status, body := e.call(orgAdmin, "POST", members, map[string]any{"id": oscar})
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	assert.Equal(t, []any{fmt.Sprintf(`Invalid pk "%d" - object does not exist.`, oscar)}, body["id"])
	status, body = e.call(orgAdmin, "POST", members, map[string]any{"id": 987654})
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	assert.Equal(t, []any{`Invalid pk "987654" - object does not exist.`}, body["id"])
	assert.Equal(t, before, e.dbState())
}

// The projection can lag the workflow: a DELETE that finds the row still
// pending_approval asks the workflow, which has moved on, and is refused.
func TestAPI_DeleteTrustsTheWorkflowOverALaggingProjection(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	id := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	e.must(http.StatusOK, approver, "POST", path+"approve/", nil)
	e.eventually(30*time.Second, "the job to finish", func() bool {
		return e.must(http.StatusOK, requester, "GET", path, nil)["status"] == "successful"
	})
	_, err := e.stack.Store.DB().ExecContext(context.Background(),
		`UPDATE service_requests SET status = 'pending_approval' WHERE id = $1`, id)
	require.NoError(t, err)
	status, body := e.call(requester, "DELETE", path, nil)
	require.Equal(t, http.StatusConflict, status, "%v", body)
	row, err := e.stack.Store.GetRequest(context.Background(), id)
	require.NoError(t, err, "a refused DELETE must keep the row")
	assert.Equal(t, id, row.ID)
}

// Lists are paged as AWX pages them: page_size is capped, previous/next
// link the pages and a page past the end is a 404.
func TestAPI_Paging(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	for range 3 {
		e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart), restartServiceAnswers())
	}
	page := e.must(http.StatusOK, requester, "GET", "/api/v2/service_requests/?page_size=2&page=2", nil)
	assert.Equal(t, float64(3), page["count"])
	assert.Len(t, page["results"], 1)
	assert.Nil(t, page["next"])
	assert.Contains(t, page["previous"], "page=1")
	status, body := e.call(requester, "GET", "/api/v2/service_requests/?page_size=2&page=3", nil)
	require.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "Invalid page.", body["detail"])
	status, body = e.call(requester, "GET", "/api/v2/service_requests/?page_size=0", nil)
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	big := e.must(http.StatusOK, requester, "GET", "/api/v2/service_requests/?page_size=100000", nil)
	assert.Len(t, big["results"], 3, "an oversized page_size is capped, not refused")
}

// A database that cannot be reached is the server's trouble, not the
// caller's: 503 with a clear message, for any call.
func TestAPI_DatabaseDownIsUnavailable(t *testing.T) {
	e := newEnv(t)
	db, err := sqlx.Open("postgres", "postgres://nobody@"+closedAddr(t)+"/countersign?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	e.url = e.serveAPI(api.Deps{Store: store.New(db), Temporal: testkit.Dial(t, temporalAddr), TaskQueue: "unused", TemporalTimeout: 2 * time.Second})
	status, body := e.call(requester, "GET", "/api/v2/service_catalog_items/", nil)
	require.Equal(t, http.StatusServiceUnavailable, status, "%v", body)
	detail, _ := body["detail"].(string)
	assert.True(t, strings.Contains(strings.ToLower(detail), "database"), "the message names the database: %q", detail)
}

// With dev tokens anyone may act as anyone, so the API answers only under
// loopback names: a page that resolves its own name here (DNS rebinding)
// gets nothing.
func TestAPI_DevModeAnswersOnlyOnLoopbackNames(t *testing.T) {
	e := newEnv(t)
	dev := e.serveAPI(api.Deps{Temporal: testkit.Dial(t, temporalAddr), TaskQueue: "unused", DevTokens: true})
	get := func(host string) int {
		req, err := http.NewRequest("GET", dev+"/api/v2/me/", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer dev-admin")
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get(""))
	assert.Equal(t, http.StatusOK, get("localhost:8080"))
	assert.Equal(t, http.StatusForbidden, get("attacker.example:8080"))
	assert.Equal(t, http.StatusForbidden, get("attacker.example"))
	// Outside dev mode the Host is the proxy's business.
	e.url = e.apiOn(testkit.Dial(t, temporalAddr), "unused", 2*time.Second)
	req, err := http.NewRequest("GET", e.url+"/api/v2/me/", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.tokens[requester])
	req.Host = "countersign.example.com"
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// An error nobody expected is a 500 with a generic message: the SQL and
// the driver's words go to the log, under the call's request id, never to
// the caller (SPEC 5).
func TestAPI_InternalErrorsDoNotLeak(t *testing.T) {
	e := newEnv(t)
	_, err := e.stack.Store.DB().ExecContext(context.Background(), `ALTER TABLE catalog_items RENAME TO catalog_items_elsewhere`)
	require.NoError(t, err)
	req := e.request("GET", "/api/v2/service_catalog_items/", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[requester])
	req.Header.Set("X-Request-Id", "leak-check-0001")
	status, raw := e.send(req)
	require.Equal(t, http.StatusInternalServerError, status, "%s", raw)
	assert.JSONEq(t, `{"detail":"A server error occurred."}`, string(raw))
	logs := e.logs.String()
	assert.Contains(t, logs, "leak-check-0001")
	assert.Contains(t, logs, "catalog_items", "the cause is logged for whoever investigates")
}

// TestAPI_DeleteRightAfterApprovalLeavesTheRequestAlone: once the last
// approval is accepted the request is approved and launches; a DELETE that
// arrives before the projection has caught up must be refused (409, SPEC 5)
// and must not cancel the approved request's workflow.
func TestAPI_DeleteRightAfterApprovalLeavesTheRequestAlone(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog() // "Restart service": one approval by sre
	for i := range 3 {
		id := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
		path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
		approved := e.must(http.StatusOK, approver, "POST", path+"approve/", nil)
		require.Equal(t, "approved", approved["status"])
		status, body := e.call(requester, "DELETE", path, nil)
		require.Equal(t, http.StatusConflict, status, "attempt %d: DELETE of an approved request: %v", i, body)
		e.eventually(30*time.Second, "the job to finish", func() bool {
			st := e.must(http.StatusOK, requester, "GET", path, nil)["status"]
			return st == "successful" || st == "canceled" || st == "failed"
		})
		final := e.must(http.StatusOK, requester, "GET", path, nil)
		require.Equal(t, "successful", final["status"], "attempt %d: a refused DELETE changed the request: %v", i, final["cancellation"])
	}
}

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
