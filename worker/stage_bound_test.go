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
	"github.com/countersign/countersign/workflows"
)

// A decision meant for a stage (a mail's decision link) is refused, by
// update and by signal alike, once that stage is no longer the open one,
// and taken while it is.
func TestWorker_DecisionBoundToAStage(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0), c.Stage("SRE again", "sre", 1, time.Hour, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	ctx := context.Background()
	first, second := 0, 1

	_, err := testkit.Update(ctx, c.client, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob", Stage: &second})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	assert.Equal(t, string(approval.CodeStageNotOpen), app.Type(), "stage 2 is not open yet")

	st := c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob", Stage: &first, Comment: "from my mail"})
	assert.Equal(t, approval.StageApproved, st.Stages[0].Status)
	testkit.Eventually(t, 20*time.Second, "the second stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 1
	})

	// carol's link of the first stage arrives after it closed: refused, not
	// taken as an approval of the second.
	require.NoError(t, c.client.SignalWorkflow(ctx, workflows.WorkflowID(in.RequestID), "", workflows.Approve,
		workflows.ApproveInput{User: "carol", Stage: &first}))
	testkit.Eventually(t, 20*time.Second, "the refused signal to be recorded", func() bool {
		return len(testkit.State(t, c.client, in.RequestID).Refused) == 1
	})
	refused := testkit.State(t, c.client, in.RequestID).Refused[0]
	assert.Equal(t, approval.CodeStageNotOpen, refused.Code)
	assert.Equal(t, 0, testkit.State(t, c.client, in.RequestID).Stages[1].Approvals)
	_, err = testkit.Update(ctx, c.client, in.RequestID, workflows.Reject, workflows.RejectInput{User: "carol", Reason: "no", Stage: &first})
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	assert.Equal(t, string(approval.CodeStageNotOpen), app.Type())

	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "carol", Stage: &second})
	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "decision_bound_to_stage")
}
