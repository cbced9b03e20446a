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
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/workflows"
)

// A security stage that needs two approvals from its one member escalates
// to sre after its step's time: dave's approval stays, sre's members are
// asked, and one of them completes the stage.
func TestWorker_EscalationByTime(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	stage := c.Stage("Security", "security", 2, time.Minute, 0)
	stage.Escalations = []approval.Escalation{{After: approval.Duration(2 * time.Second), ApproverTeam: *c.Stage("", "sre", 1, 0, 0).ApproverTeam}}
	in := c.Create(t, testkit.RestartService(stage))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	st := c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "dave"})
	require.NotNil(t, st.Stages[0].Unreachable, "dave alone cannot give two approvals")
	_, err := testkit.Update(context.Background(), c.client, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob"})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	assert.Equal(t, string(approval.CodeNotEligible), app.Type(), "not before the escalation")

	testkit.Eventually(t, 20*time.Second, "the escalation", func() bool {
		return len(testkit.State(t, c.client, in.RequestID).Stages[0].Escalated) == 1
	})
	st = testkit.State(t, c.client, in.RequestID)
	esc := st.Stages[0].Escalated[0]
	assert.Equal(t, "sre", esc.ApproverTeam.Name)
	require.NotNil(t, esc.Step)
	assert.Equal(t, 0, *esc.Step)
	assert.Equal(t, []string{"bob", "carol"}, st.EligibleApprovers)
	assert.Nil(t, st.Stages[0].Unreachable)
	assert.Equal(t, 1, st.Stages[0].Approvals, "dave's approval stays")
	testkit.Eventually(t, 20*time.Second, "sre to be asked", func() bool {
		for _, n := range c.sentOf(in.RequestID, notify.KindPending) {
			if len(n.Recipients) == 2 && recipients(n)[0] == "bob" {
				return true
			}
		}
		return false
	})

	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "carol"})
	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "escalated_by_time")
}

// An org admin escalates a stage nobody can complete to another team, by
// update and (refused, for a team of no organization) by signal; who is
// not an admin may not.
func TestWorker_EscalateOnDemand(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	in := c.Create(t, testkit.RestartService(c.Stage("Security", "security", 2, time.Minute, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	sre := c.Identity.Teams["sre"].ID
	refused := func(arg workflows.EscalateInput) string {
		t.Helper()
		_, err := testkit.Update(context.Background(), c.client, in.RequestID, workflows.Escalate, arg)
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "want an application error, got %v", err)
		return app.Type()
	}
	assert.Equal(t, string(approval.CodeNotAllowed), refused(workflows.EscalateInput{User: "dave", ApproverTeam: sre}))
	assert.Equal(t, string(approval.CodeTeamRequired), refused(workflows.EscalateInput{User: "erin"}))
	assert.Equal(t, string(approval.CodeUnknownTeam), refused(workflows.EscalateInput{User: "erin", ApproverTeam: 999999}))

	st := c.update(t, in.RequestID, workflows.Escalate, workflows.EscalateInput{User: "erin", ApproverTeam: sre, Reason: "security is one person"})
	require.Len(t, st.Stages[0].Escalated, 1)
	esc := st.Stages[0].Escalated[0]
	assert.Equal(t, approval.Ref{ID: sre, Name: "sre"}, esc.ApproverTeam)
	assert.Nil(t, esc.Step)
	assert.Equal(t, "erin", esc.User)
	assert.Equal(t, "security is one person", esc.Reason)
	assert.Equal(t, []string{"bob", "carol", "dave"}, st.EligibleApprovers)
	assert.Nil(t, st.Stages[0].Unreachable)
	assert.Equal(t, string(approval.CodeAlreadyEscalated), refused(workflows.EscalateInput{User: "erin", ApproverTeam: sre}))

	require.NoError(t, c.client.SignalWorkflow(context.Background(), workflows.WorkflowID(in.RequestID), "", workflows.Escalate,
		workflows.EscalateInput{User: "erin", ApproverTeam: 999999}))
	testkit.Eventually(t, 20*time.Second, "the signal to be refused", func() bool {
		return len(testkit.State(t, c.client, in.RequestID).Refused) == 1
	})
	assert.Equal(t, approval.CodeUnknownTeam, testkit.State(t, c.client, in.RequestID).Refused[0].Code)

	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob"})
	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "dave"})
	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "escalated_on_demand")
}
