package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/workflows"
)

// A stage that requires a recent sign-in takes only approvals the API
// vouches a recent sign-in for: not one without (an API token), not one
// too old, not one from the CLI, whatever its proof.
func TestWorker_StageRequiringARecentSignIn(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	stage := c.Stage("SRE", "sre", 1, time.Hour, 0)
	stage.RequireRecentLogin = approval.Duration(15 * time.Minute)
	in := c.Create(t, testkit.RestartService(stage))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})

	refused := func(arg any) approval.Code {
		t.Helper()
		_, err := testkit.Update(context.Background(), c.client, in.RequestID, workflows.Approve, arg)
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "want an application error, got %v", err)
		return approval.Code(app.Type())
	}
	stale := time.Now().Add(-time.Hour)
	assert.Equal(t, approval.CodeRecentLoginRequired, refused(workflows.ApproveInput{User: "bob"}), "no sign-in vouched for")
	assert.Equal(t, approval.CodeRecentLoginRequired, refused(workflows.ApproveInput{User: "bob", SignedInAt: &stale}), "an hour-old sign-in")
	assert.Equal(t, approval.CodeNotEligible, refused(workflows.ApproveInput{User: "dave"}), "who may not decide at all is told so first")

	// carol approves from the CLI with her own decision key and claims a
	// sign-in of now: only the API's proof vouches for one.
	now := time.Now()
	d := workflows.Decision{RequestID: in.RequestID, Action: approval.ActionApprove, User: "carol", SignedInAt: &now}
	p, err := proof.SignUser(c.decisionKey(t, "carol"), d.Claims(), time.Now())
	require.NoError(t, err)
	require.NoError(t, c.client.SignalWorkflow(context.Background(), workflows.WorkflowID(in.RequestID), "", workflows.Approve, d.Payload(&p)))
	testkit.Eventually(t, 20*time.Second, "carol's signal to be refused", func() bool {
		return len(testkit.State(t, c.client, in.RequestID).Refused) == 1
	})
	st := testkit.State(t, c.client, in.RequestID)
	assert.Equal(t, approval.CodeRecentLoginRequired, st.Refused[0].Code)
	assert.Equal(t, approval.StatusPendingApproval, st.Status)

	signedIn := time.Now().Add(-2 * time.Minute).UTC()
	st = c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob", Comment: "checked", SignedInAt: &signedIn})
	require.Len(t, st.Stages[0].Responses, 1)
	resp := st.Stages[0].Responses[0]
	require.NotNil(t, resp.SignedInAt, "the approval keeps the sign-in it was judged by")
	assert.True(t, signedIn.Equal(*resp.SignedInAt))

	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "stage_requiring_recent_sign_in")
}
