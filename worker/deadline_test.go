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

// sentOf are the notifications of kind sent about request id.
func (c *cluster) sentOf(id int64, kind notify.Kind) []notify.Notification {
	var out []notify.Notification
	for _, n := range c.Notifier.Sent() {
		if n.RequestID == id && n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func recipients(n notify.Notification) []string {
	out := make([]string, len(n.Recipients))
	for i, r := range n.Recipients {
		out[i] = r.Username
	}
	return out
}

// A stage's deadline extended by an update and by a signal: its timer is
// replaced (the request expires at the new deadline, not the old one),
// the extensions are recorded and notified, what goes beyond
// max_extension is refused with the same code either way, and the
// deadline warning comes once, before the deadline that holds.
func TestWorker_DeadlineExtensionAndWarning(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	stage := c.Stage("SRE", "sre", 2, 8*time.Second, 0)
	stage.MaxExtension = approval.Duration(3 * time.Second)
	stage.WarnBefore = approval.Duration(2 * time.Second)
	in := c.Create(t, testkit.RestartService(stage))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	opened := *testkit.State(t, c.client, in.RequestID).Stages[0].OpenedAt

	_, err := testkit.Update(context.Background(), c.client, in.RequestID, workflows.Extend,
		workflows.ExtendInput{User: "bob", By: approval.Duration(4 * time.Second)})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	assert.Equal(t, string(approval.CodeExtensionExceeded), app.Type())
	_, err = testkit.Update(context.Background(), c.client, in.RequestID, workflows.Extend,
		workflows.ExtendInput{User: "dave", By: approval.Duration(time.Second)})
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	assert.Equal(t, string(approval.CodeNotAllowed), app.Type())

	st := c.update(t, in.RequestID, workflows.Extend, workflows.ExtendInput{User: "bob", By: approval.Duration(2 * time.Second), Reason: "on call elsewhere"})
	assert.Equal(t, opened.Add(10*time.Second), *st.Stages[0].Deadline)
	require.NoError(t, c.client.SignalWorkflow(context.Background(), workflows.WorkflowID(in.RequestID), "", workflows.Extend,
		workflows.ExtendInput{User: "carol", By: approval.Duration(2 * time.Second)}))
	require.NoError(t, c.client.SignalWorkflow(context.Background(), workflows.WorkflowID(in.RequestID), "", workflows.Extend,
		workflows.ExtendInput{User: "carol", By: approval.Duration(time.Second)}))
	testkit.Eventually(t, 20*time.Second, "the signals to be handled", func() bool {
		st := testkit.State(t, c.client, in.RequestID)
		return len(st.Stages[0].Extensions) == 2 && len(st.Refused) == 1
	})
	st = testkit.State(t, c.client, in.RequestID)
	assert.Equal(t, approval.CodeExtensionExceeded, st.Refused[0].Code, "the signal beyond max_extension is refused with the update's code")
	assert.Equal(t, opened.Add(11*time.Second), *st.Stages[0].Deadline)
	assert.Equal(t, approval.Duration(3*time.Second), st.Stages[0].Extended)
	assert.Equal(t, "on call elsewhere", st.Stages[0].Extensions[0].Reason)
	assert.Equal(t, "carol", st.Stages[0].Extensions[1].User)

	res := testkit.Result(t, run, 30*time.Second)
	assert.Equal(t, approval.StatusExpired, res.Status)
	st = testkit.State(t, c.client, in.RequestID)
	assert.False(t, st.Finished.Before(opened.Add(11*time.Second)), "expired at the extended deadline, not the first one")

	extended := c.sentOf(in.RequestID, notify.KindExtended)
	require.Len(t, extended, 2)
	assert.Equal(t, []string{"alice", "bob", "carol"}, recipients(extended[0]))
	assert.Contains(t, extended[0].Message, "bob extended the deadline by 2s")
	warned := c.sentOf(in.RequestID, notify.KindDeadlineWarning)
	require.Len(t, warned, 1, "one warning, before the deadline that held")
	assert.Equal(t, []string{"alice", "bob", "carol"}, recipients(warned[0]))
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "deadline_extended_and_warned")
}

// A stage with warn_before and nobody deciding: one warning to the
// requester and the approvers, then expiry at the deadline.
func TestWorker_DeadlineWarningThenExpiry(t *testing.T) {
	c := newCluster(t, awxsim.Config{})
	c.startWorker(t)
	stage := c.Stage("SRE", "sre", 1, 3*time.Second, 0)
	stage.WarnBefore = approval.Duration(time.Second)
	in := c.Create(t, testkit.RestartService(stage))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	res := testkit.Result(t, run, 30*time.Second)
	assert.Equal(t, approval.StatusExpired, res.Status)
	warned := c.sentOf(in.RequestID, notify.KindDeadlineWarning)
	require.Len(t, warned, 1)
	assert.Equal(t, []string{"alice", "bob", "carol"}, recipients(warned[0]))
	st := testkit.State(t, c.client, in.RequestID)
	require.NotNil(t, st.Stages[0].WarnedFor)
	assert.True(t, st.Stages[0].WarnedFor.Equal(*st.Stages[0].Deadline), "warned for the deadline that held")
	require.Len(t, st.Stages[0].Warnings, 1, "the warning is kept for the timeline")
	sent, deadline := st.Stages[0].Warnings[0], *st.Stages[0].Deadline
	assert.False(t, sent.Before(deadline.Add(-time.Second)), "sent once warn_before the deadline came")
	assert.True(t, sent.Before(deadline), "sent before the deadline")
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "deadline_warning_then_expired")
}
