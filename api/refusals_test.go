package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/temporaltest"
	"github.com/countersign/countersign/workflows"
)

// holdRequestRow locks the request's row in PostgreSQL until release is
// called (at the latest when the test ends): the workflow's publications
// and its launch wait for it, so the workflow stays open in the state the
// test brought it to, while the API, which only reads the row, answers.
func (e *env) holdRequestRow(id int64) (release func()) {
	e.t.Helper()
	ctx := context.Background()
	tx, err := e.stack.Store.DB().BeginTxx(ctx, nil)
	require.NoError(e.t, err)
	_, err = tx.ExecContext(ctx, `SELECT 1 FROM service_requests WHERE id = $1 FOR UPDATE`, id)
	require.NoError(e.t, err)
	released := false
	release = func() {
		if !released {
			released = true
			_ = tx.Rollback()
		}
	}
	e.t.Cleanup(release)
	return release
}

// awaitClosed waits until the request's workflow has closed.
func (e *env) awaitClosed(id int64) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := e.client.GetWorkflow(ctx, workflows.WorkflowID(id), "").Get(ctx, nil)
	var canceled *temporal.CanceledError
	if err != nil && !errors.As(err, &canceled) {
		require.NoError(e.t, err)
	}
}

// refusal is the body every refusal of the README's table answers with.
func refusal(t *testing.T, status int, body map[string]any, wantStatus int, code approval.Code) {
	t.Helper()
	require.Equal(t, wantStatus, status, "%v", body)
	assert.Equal(t, string(code), body["code"], "%v", body)
	detail, _ := body["detail"].(string)
	assert.NotEmpty(t, detail, "a refusal says why: %v", body)
	assert.Len(t, body, 2, "a refusal is {detail, code}: %v", body)
}

// TestAPI_RefusalsCarryTheirCode: every refusal code of the README's table
// that a call to the API can meet answers {"detail", "code"}, whatever
// produced it: the workflow's rules, the workflow having closed or been
// deleted, or the API's own delete rule. Codes the API cannot produce
// (user_required, unknown_action, malformed_payload: the API always names
// its caller and sends well-formed updates; the proof_* codes and
// temporal_decisions_off: the API signs its decisions) and the transient
// stage_not_open, roster_pending and deadline_passed are checked through
// the one mapping in TestErrorResponse_Refusals.
func TestAPI_RefusalsCarryTheirCode(t *testing.T) {
	e := newEnv(t)
	provision, restart := e.catalog()
	ctx := context.Background()
	p := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	act := func(id int64, action string) string { return p("/api/v2/service_requests/%d/%s/", id, action) }
	detailOf := func(id int64) map[string]any {
		return e.must(http.StatusOK, requester, "GET", p("/api/v2/service_requests/%d/", id), nil)
	}

	// Canceled and its workflow deleted, as Temporal does after its
	// retention; deleting takes Temporal a while, so it starts first.
	gone := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	e.must(http.StatusOK, requester, "POST", act(gone, "cancel"), map[string]any{"reason": "not needed"})
	e.awaitClosed(gone)
	_, err := e.client.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(gone)},
	})
	require.NoError(t, err)

	waiting := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	twoApprovals := e.submitAndWait(requester, provision, provisionAnswers(9), approver)
	e.must(http.StatusOK, approver, "POST", act(twoApprovals, "approve"), map[string]any{"comment": "one of two"})
	crowded := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	for i := range approval.MaxComments {
		e.must(http.StatusOK, requester, "POST", act(crowded, "comment"), map[string]any{"text": p("note %d", i)})
	}

	// Approved, its launch held: approvals are closed, nothing runs yet, and
	// the projection still shows it waiting.
	approved := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	releaseApproved := e.holdRequestRow(approved)
	require.Equal(t, "approved", e.must(http.StatusOK, approver, "POST", act(approved, "approve"), nil)["status"])

	// Running a long job whose cancel AWX does not take yet: a cancel was
	// requested and the job runs on.
	require.NoError(t, e.stack.Sim.AddJobTemplate(awxsim.JobTemplate{ID: 901, Name: "Long job", Duration: time.Hour}))
	longItem := idOf(e.must(http.StatusCreated, superuser, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": "Long job", "job_template": 901,
	}))
	running := idOf(e.must(http.StatusCreated, requester, "POST", p("/api/v2/service_catalog_items/%d/submit/", longItem), map[string]any{"justification": "j"}))
	e.eventually(30*time.Second, "the long job to run", func() bool {
		d := detailOf(running)
		return d["status"] == "running" && d["job"] != nil
	})
	cancelFault := e.stack.Sim.InjectFault(awxsim.Fault{Method: "POST", Path: "/api/v2/jobs/", Kind: awxsim.FaultStatus, Status: 503})
	require.Equal(t, "running", e.must(http.StatusOK, requester, "POST", act(running, "cancel"), map[string]any{"reason": "too long"})["status"])

	// Rejected, its last publication held: finished, its workflow still open.
	rejected := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	releaseRejected := e.holdRequestRow(rejected)
	require.Equal(t, "rejected", e.must(http.StatusOK, approver, "POST", act(rejected, "reject"), map[string]any{"reason": "no"})["status"])

	cases := []struct {
		name       string
		user       string
		method     string
		path       string
		body       any
		wantStatus int
		code       approval.Code
	}{
		{"self_decision", requester, "POST", act(waiting, "approve"), nil, http.StatusForbidden, approval.CodeSelfDecision},
		{"not_eligible", orgAdmin, "POST", act(waiting, "approve"), nil, http.StatusForbidden, approval.CodeNotEligible},
		{"not_allowed", approver, "POST", act(waiting, "cancel"), map[string]any{"reason": "mine"}, http.StatusForbidden, approval.CodeNotAllowed},
		{"reason_required", approver, "POST", act(waiting, "reject"), map[string]any{}, http.StatusBadRequest, approval.CodeReasonRequired},
		{"text_required", approver, "POST", act(waiting, "comment"), map[string]any{"text": " "}, http.StatusBadRequest, approval.CodeTextRequired},
		{"too_long", approver, "POST", act(waiting, "comment"), map[string]any{"text": strings.Repeat("x", approval.MaxTextLength+1)}, http.StatusBadRequest, approval.CodeTooLong},
		{"already_decided", approver, "POST", act(twoApprovals, "approve"), nil, http.StatusConflict, approval.CodeAlreadyDecided},
		{"too_many_comments", requester, "POST", act(crowded, "comment"), map[string]any{"text": "one more"}, http.StatusConflict, approval.CodeTooManyComments},
		{"not_pending", approver2, "POST", act(approved, "approve"), nil, http.StatusConflict, approval.CodeNotPending},
		{"cancel_requested", requester, "POST", act(running, "cancel"), map[string]any{"reason": "again"}, http.StatusConflict, approval.CodeCancelRequested},
		{"request_finished (workflow open)", approver2, "POST", act(rejected, "approve"), nil, http.StatusConflict, approval.CodeFinished},
		{"request_finished (workflow open, comment)", requester, "POST", act(rejected, "comment"), map[string]any{"text": "why?"}, http.StatusConflict, approval.CodeFinished},
		// Deleting: the projection shows it waiting, its workflow refuses to
		// withdraw it; and a request the projection shows running.
		{"request_launched (approved a moment ago)", requester, "DELETE", p("/api/v2/service_requests/%d/", approved), nil, http.StatusConflict, approval.CodeLaunched},
		{"request_launched (running)", requester, "DELETE", p("/api/v2/service_requests/%d/", running), nil, http.StatusConflict, approval.CodeLaunched},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := e.call(c.user, c.method, c.path, c.body)
			refusal(t, status, body, c.wantStatus, c.code)
		})
	}

	// What a `temporal` CLI user meets, through a client without the payload
	// codec: the stock CLI sends plain JSON.
	cli, err := client.Dial(client.Options{HostPort: temporalAddr})
	require.NoError(t, err)
	t.Cleanup(cli.Close)
	cliUpdate := func(id int64) error {
		h, err := cli.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.WorkflowID(id), UpdateName: workflows.Approve,
			Args: []any{workflows.ApproveInput{User: approver2}}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		return err
	}
	t.Run("CLI: an update to a finished request whose workflow is open", func(t *testing.T) {
		err := cliUpdate(rejected)
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "an application error, not %v", err)
		assert.Equal(t, string(approval.CodeFinished), app.Type())
		assert.Contains(t, app.Error(), "is already rejected; it accepts no more actions")
	})
	t.Run("CLI: a signal to a finished request whose workflow is open", func(t *testing.T) {
		require.NoError(t, cli.SignalWorkflow(ctx, workflows.WorkflowID(rejected), "", workflows.Approve, workflows.ApproveInput{User: approver2}))
		e.eventually(20*time.Second, "the refused signal to be recorded", func() bool {
			refused, _ := detailOf(rejected)["refused_signals"].([]any)
			return len(refused) == 1 && refused[0].(map[string]any)["code"] == string(approval.CodeFinished)
		})
	})

	releaseRejected()
	e.awaitClosed(rejected)
	releaseApproved()
	e.stack.Sim.RemoveFault(cancelFault)

	t.Run("closed workflow: every action is request_finished", func(t *testing.T) {
		for _, a := range []struct {
			user, action string
			body         any
		}{
			{approver, "approve", nil},
			{approver, "reject", map[string]any{"reason": "late"}},
			{requester, "comment", map[string]any{"text": "late"}},
			{orgAdmin, "cancel", map[string]any{"reason": "late"}},
		} {
			status, body := e.call(a.user, "POST", act(rejected, a.action), a.body)
			refusal(t, status, body, http.StatusConflict, approval.CodeFinished)
		}
	})
	t.Run("closed workflow: through the portal", func(t *testing.T) {
		alice := e.session(requester)
		status, body := e.cookieCall(alice, "POST", act(rejected, "comment"), map[string]any{"text": "late"}, alice.csrf, true)
		refusal(t, status, body, http.StatusConflict, approval.CodeFinished)
	})
	t.Run("CLI: an update to a closed workflow", func(t *testing.T) {
		// Temporal refuses it itself: no worker, hence no rule, sees it.
		err := cliUpdate(rejected)
		var notFound *serviceerror.NotFound
		require.True(t, errors.As(err, &notFound), "%T %v", err, err)
		assert.Equal(t, "workflow execution already completed", notFound.Error())
		err = cli.SignalWorkflow(ctx, workflows.WorkflowID(rejected), "", workflows.Approve, workflows.ApproveInput{User: approver2})
		require.True(t, errors.As(err, &notFound), "%T %v", err, err)
		assert.Equal(t, "workflow execution already completed", notFound.Error())
	})
	t.Run("CLI: the temporal command on a closed workflow", func(t *testing.T) {
		bin, err := temporaltest.Binary()
		require.NoError(t, err)
		out, err := exec.Command(bin, "workflow", "update", "execute", "--address", temporalAddr,
			"--workflow-id", workflows.WorkflowID(rejected), "--name", workflows.Approve,
			"--input", `{"user":"carol"}`).CombinedOutput()
		require.Error(t, err, "%s", out)
		assert.Contains(t, string(out), "unable to update workflow: workflow execution already completed")
	})

	t.Run("deleted workflow: request_finished", func(t *testing.T) {
		e.eventually(90*time.Second, "the workflow to be deleted", func() bool {
			_, err := e.client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(gone), "")
			var notFound *serviceerror.NotFound
			return errors.As(err, &notFound)
		})
		for _, user := range []string{requester, orgAdmin} {
			status, body := e.call(user, "POST", act(gone, "comment"), map[string]any{"text": "still there?"})
			refusal(t, status, body, http.StatusConflict, approval.CodeFinished)
		}
	})
}
