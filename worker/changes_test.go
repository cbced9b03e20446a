package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/workflows"
)

// An approver asks for changes: refused to the requester by update and by
// signal alike, accepted from an approver, the request ends
// changes_requested with the reason shown in the state and the projection,
// and its requester is told.
func TestWorker_RequestChanges(t *testing.T) {
	c := newCluster(t, awxsim.Config{})
	c.startWorker(t)
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 2, time.Hour, 0), c.Stage("SRE again", "sre", 1, time.Hour, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	ctx := context.Background()

	_, err := testkit.Update(ctx, c.client, in.RequestID, workflows.RequestChanges, workflows.RequestChangesInput{User: "alice", Reason: "mine"})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	assert.Equal(t, string(approval.CodeSelfDecision), app.Type())
	_, err = testkit.Update(ctx, c.client, in.RequestID, workflows.RequestChanges, workflows.RequestChangesInput{User: "bob"})
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	assert.Equal(t, string(approval.CodeReasonRequired), app.Type())

	require.NoError(t, c.client.SignalWorkflow(ctx, workflows.WorkflowID(in.RequestID), "", workflows.RequestChanges,
		workflows.RequestChangesInput{User: "alice", Reason: "mine"}))
	testkit.Eventually(t, 20*time.Second, "the refused signal to be recorded", func() bool {
		return len(testkit.State(t, c.client, in.RequestID).Refused) == 1
	})
	refused := testkit.State(t, c.client, in.RequestID).Refused[0]
	assert.Equal(t, approval.ActionRequestChanges, refused.Action)
	assert.Equal(t, approval.CodeSelfDecision, refused.Code)

	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob"})
	st := c.update(t, in.RequestID, workflows.RequestChanges, workflows.RequestChangesInput{User: "carol", Reason: "restart the staging one instead"})
	assert.Equal(t, approval.StatusChangesRequested, st.Status)
	require.NotNil(t, st.ChangesRequested)
	assert.Equal(t, "restart the staging one instead", st.ChangesRequested.Reason)
	assert.Equal(t, approval.StageSkipped, st.Stages[1].Status)

	res := testkit.Result(t, run, 30*time.Second)
	assert.Equal(t, approval.StatusChangesRequested, res.Status)
	assert.Nil(t, res.Job)

	testkit.Eventually(t, 20*time.Second, "the projection to show it", func() bool {
		r, err := c.Store.GetRequest(ctx, in.RequestID)
		return err == nil && r.Status == string(approval.StatusChangesRequested)
	})
	r, err := c.Store.GetRequest(ctx, in.RequestID)
	require.NoError(t, err)
	var shown approval.ChangeRequest
	require.NoError(t, json.Unmarshal(r.ChangesRequested, &shown))
	assert.Equal(t, "carol", shown.User)
	assert.Equal(t, "SRE", shown.Stage)
	assert.Equal(t, "restart the staging one instead", shown.Reason)
	assert.Equal(t, "changes_requested", r.Stages[0].Status)
	assert.Equal(t, "request_changes", r.Responses[len(r.Responses)-1].Kind)
	assert.Contains(t, r.Deciders, "carol")

	var told *notify.Notification
	for _, n := range c.Notifier.Sent() {
		if n.Kind == notify.KindChangesRequested {
			told = &n
		}
	}
	require.NotNil(t, told, "the requester is told")
	require.Len(t, told.Recipients, 1)
	assert.Equal(t, "alice", told.Recipients[0].Username)
	assert.Contains(t, told.Message, "restart the staging one instead")
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "changes_requested")
}
