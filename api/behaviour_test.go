package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/worker"
	"github.com/countersign/countersign/workflows"
)

func TestAPI_WithoutWorkers(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	id := e.submitRestart(restart)

	// An API whose task queue no worker polls: its requests wait, and
	// decisions are refused at once, surely not applied.
	idle := e.apiOn(testkit.Dial(t, temporalAddr), testkit.TaskQueue(t), 2*time.Second)
	main := e.url
	e.url = idle
	waiting := idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "no worker", "extra_vars": map[string]any{"service_name": "web"}}))
	out := e.must(http.StatusServiceUnavailable, approver, "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", id), nil)
	assert.Contains(t, out["detail"], "No Countersign worker is running")

	// The detail falls back to the projection, and says so.
	detail := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", waiting), nil)
	assert.Equal(t, "projection", detail["source"])
	assert.Equal(t, "pending_approval", detail["status"])
	assert.Len(t, detail["stages"], 1)

	e.url = main
	assert.Equal(t, "workflow", e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)["source"])
}

func TestAPI_SubmitWhileTemporalIsDown(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	e.url = e.apiOn(unreachableTemporal(t), testkit.TaskQueue(t), 2*time.Second)

	count := func() int {
		var n int
		require.NoError(t, e.stack.Store.DB().Get(&n, `SELECT count(*) FROM service_requests`))
		return n
	}
	before := count()
	out := e.must(http.StatusServiceUnavailable, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "temporal down", "extra_vars": map[string]any{"service_name": "api"}})
	assert.Contains(t, out["detail"], "the request was not submitted")
	assert.Equal(t, before, count(), "nothing is left half-created")
}

func TestAPI_TokensMetricsAndRequestIDs(t *testing.T) {
	e := newEnv(t)
	alice := e.stack.Identity.Users["alice"].ID

	issued := e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/users/%d/tokens/", alice), map[string]any{"description": "ci"})
	plain := issued["token"].(string)
	require.True(t, strings.HasPrefix(plain, "cs_"))
	e.tokens["alice-ci"] = plain
	me := e.must(http.StatusOK, "alice-ci", "GET", "/api/v2/me/", nil)
	assert.Equal(t, "alice", me["username"])
	orgs := me["organizations"].([]any)
	require.Len(t, orgs, 1)
	assert.Equal(t, "member", orgs[0].(map[string]any)["role"])

	list := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/users/%d/tokens/", alice), nil)
	assert.Equal(t, float64(2), list["count"])
	_, raw := e.raw(requester, "GET", fmt.Sprintf("/api/v2/users/%d/tokens/", alice), nil)
	assert.NotContains(t, string(raw), plain, "a token is shown once, when issued")
	assert.NotNil(t, list["results"].([]any)[0].(map[string]any)["last_used"], "the token in use has a last-used time")

	e.must(http.StatusNoContent, requester, "DELETE", fmt.Sprintf("/api/v2/tokens/%d/", idOf(issued)), nil)
	e.must(http.StatusUnauthorized, "alice-ci", "GET", "/api/v2/me/", nil)

	req, err := http.NewRequest("GET", e.url+"/api/v2/ping/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Request-Id", "trace-me-42")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "trace-me-42", resp.Header.Get("X-Request-Id"))
	assert.Contains(t, e.logs.String(), `"request_id":"trace-me-42"`)

	metrics, err := http.Get(e.url + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(body), `countersign_http_request_duration_seconds_bucket{method="GET",route="/api/v2/me/",status="200"`)
	assert.Contains(t, string(body), `route="/api/v2/me/",status="401"`)
}

func TestAPI_AWXUnavailable(t *testing.T) {
	e := newEnv(t)
	jt := awxsim.DemoHealthCheckID
	item, err := e.stack.Store.CreateCatalogItem(context.Background(), store.NewCatalogItem{
		OrganizationID: e.orgID(), Name: "Health check", JobTemplateID: &jt})
	require.NoError(t, err)
	path := fmt.Sprintf("/api/v2/service_catalog_items/%d/", item.ID)
	e.stack.Sim.InjectFault(awxsim.Fault{Kind: awxsim.FaultStatus, Status: 503})

	out := e.must(http.StatusServiceUnavailable, requester, "GET", path+"launch_data/", nil)
	assert.Equal(t, "AWX is unavailable; try again shortly.", out["detail"])
	e.must(http.StatusServiceUnavailable, requester, "POST", path+"submit/", map[string]any{"justification": "check"})
	// Another template is checked with AWX (the same one, sent back, is no
	// change and is not).
	e.must(http.StatusServiceUnavailable, orgAdmin, "PATCH", path, map[string]any{"job_template": awxsim.DemoRestartServiceID})
	e.must(http.StatusOK, orgAdmin, "PATCH", path, map[string]any{"job_template": jt})

	// A failure is remembered briefly so that a struggling AWX is not
	// hammered; then AWX is asked again.
	e.stack.Sim.ClearFaults()
	e.eventually(15*time.Second, "launch_data to recover", func() bool {
		status, _ := e.call(requester, "GET", path+"launch_data/", nil)
		return status == http.StatusOK
	})
}

func TestAPI_PolicyEditsNeverTouchRequestsInFlight(t *testing.T) {
	e := newEnv(t)
	provision, _ := e.catalog()
	id := idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", provision), provisionAnswers(9)))
	policies := e.must(http.StatusOK, orgAdmin, "GET", "/api/v2/approval_policies/?order_by=priority", nil)
	long := idOf(policies["results"].([]any)[0].(map[string]any))
	e.must(http.StatusOK, orgAdmin, "PATCH", fmt.Sprintf("/api/v2/approval_policies/%d/", long), map[string]any{
		"stages": []map[string]any{{"name": "Only admins", "min_approvers": 1}},
	})
	e.must(http.StatusNoContent, orgAdmin, "DELETE", fmt.Sprintf("/api/v2/approval_policies/%d/", long), nil)

	e.eventually(20*time.Second, "the request to open", func() bool { return slices.Contains(e.inbox(approver), id) })
	st := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	stages := st["stages"].([]any)
	require.Len(t, stages, 2, "the plan frozen at submission stays")
	assert.Equal(t, "SRE review", stages[0].(map[string]any)["name"])
	assert.Equal(t, "Security review", stages[1].(map[string]any)["name"])
}

// A request whose workflow an operator terminated is settled by the
// worker's reconciler; from then on the API shows the settled request, not
// the workflow's last state, and it can be deleted (nothing was launched).
func TestAPI_TerminatedRequestIsSettled(t *testing.T) {
	e, id := newEnvWithRequest(t)
	ctx := context.Background()
	require.NoError(t, e.client.TerminateWorkflow(ctx, workflows.WorkflowID(id), "", "operator cleanup"))
	testkit.Eventually(t, 30*time.Second, "Temporal to list it as terminated", func() bool {
		resp, err := e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf(`WorkflowId = %q AND ExecutionStatus = "Terminated"`, workflows.WorkflowID(id))})
		return err == nil && len(resp.Executions) == 1
	})

	rec := &worker.Reconciler{Store: e.stack.Store, Client: e.client, TaskQueue: e.queue}
	stats, err := rec.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, stats.Settled)

	detail := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	assert.Equal(t, "canceled", detail["status"])
	assert.Equal(t, "projection", detail["source"], "the workflow's state stopped before the request was settled")
	assert.Equal(t, "its workflow was terminated in Temporal before anything was launched", detail["failure_reason"])
	assert.NotContains(t, e.inbox(approver), id)
	out := e.must(http.StatusConflict, requester, "POST", fmt.Sprintf("/api/v2/service_requests/%d/comment/", id), map[string]any{"text": "still there?"})
	assert.Contains(t, out["detail"], "has finished")
	e.must(http.StatusNoContent, requester, "DELETE", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
}

// A decision never gets a 503 that is applied later. Sent to a worker that
// was killed a moment ago (it still counts as alive), it is a 202: applied
// if a worker takes it before the time the answer names, and never after.
func TestAPI_DecisionsWhileTheWorkerIsKilled(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	queue := testkit.TaskQueue(t)
	workerEnv := map[string]string{
		"DATABASE_URL": e.stack.DatabaseURL, "TEMPORAL_ADDRESS": temporalAddr, "TASK_QUEUE": queue,
		"AWX_URL": e.stack.SimURL, "AWX_TOKEN": testkit.AWXToken, "PAYLOAD_KEYS": testkit.PayloadKeys(),
	}
	startWorker := func() func() {
		w := testkit.WorkerProcess(workerEnv)
		require.NoError(t, w.Start())
		kill := func() { _ = w.Process.Kill(); _ = w.Wait() }
		t.Cleanup(kill)
		return kill
	}
	var clock time.Duration // how far the API's clock is ahead of the others
	apiAt := func() string {
		return e.serveAPI(api.Deps{Temporal: testkit.Dial(t, temporalAddr), TaskQueue: queue, TemporalTimeout: 2 * time.Second,
			Now: func() time.Time { return time.Now().Add(clock) }})
	}
	e.url = apiAt()
	submit := func() int64 {
		return idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
			map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}}))
	}
	status := func(id int64) (string, int) {
		r := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		return r["status"].(string), len(r["stages"].([]any)[0].(map[string]any)["responses"].([]any))
	}

	kill := startWorker()
	first, second := submit(), submit()
	assert.Subset(t, e.inbox(approver), []int64{first, second}, "both requests in bob's inbox")
	e.awaitRecorded(first)
	e.awaitRecorded(second)
	kill()

	// The worker is gone but polled a moment ago: the decision is sent,
	// nobody answers, and the answer says it may still be applied.
	sent := time.Now()
	out := e.must(http.StatusAccepted, approver, "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", first), nil)
	assert.Equal(t, "decision_in_flight", out["code"])
	assert.Equal(t, fmt.Sprintf("/api/v2/service_requests/%d/", first), out["url"])
	assert.Contains(t, out["detail"], "may still be applied")
	until, err := time.Parse(time.RFC3339, out["applies_until"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, sent.Add(proof.ServiceMaxAge), until, 5*time.Second)

	// The same for a decision whose window the API's clock puts almost
	// behind it: by the time a worker is back, it has passed.
	clock = -proof.ServiceMaxAge + 3*time.Second
	e.url = apiAt()
	late := e.must(http.StatusAccepted, approver, "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", second), nil)
	assert.Equal(t, "decision_in_flight", late["code"])
	time.Sleep(4 * time.Second)

	startWorker()
	e.eventually(60*time.Second, "the first decision applied by the next worker", func() bool {
		st, responses := status(first)
		return st != "pending_approval" && responses == 1
	})
	// The second's window closed before any worker took it: refused, for
	// good, without a trace; carol can still decide.
	e.must(http.StatusOK, approver2, "POST", fmt.Sprintf("/api/v2/service_requests/%d/comment/", second), map[string]any{"text": "checking"})
	st, responses := status(second)
	assert.Equal(t, "pending_approval", st)
	assert.Zero(t, responses, "a decision answered 202 is never applied after the time the answer named")
}
