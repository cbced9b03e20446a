package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/workflows"
)

// bob (team sre, with carol) asks for a restart that sre must approve
// twice. Only carol may decide, so the stage says it cannot be completed,
// and erin (the org admin) is told once; after carol approves it still
// cannot. erin adds frank to sre, the request resolves its approvers
// again, frank approves and the job runs.
func TestWorker_UnreachableStageEndToEnd(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	r := testkit.RestartService(c.Stage("SRE review", "sre", 2, time.Hour, 0))
	r.Requester = "bob"
	in := c.Create(t, r)
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)

	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	st := testkit.State(t, c.client, in.RequestID)
	require.NotNil(t, st.Stages[0].Unreachable, "the stage cannot be completed from the start")
	assert.Equal(t, []string{"carol"}, st.Stages[0].Unreachable.Remaining)
	assert.Contains(t, st.Stages[0].Unreachable.Reason, "bob is the requester")

	st = c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "carol"})
	require.NotNil(t, st.Stages[0].Unreachable)
	assert.Equal(t, "needs 1 more approval but no eligible approver remains: bob is the requester and cannot approve their own request; carol already decided on this request",
		st.Stages[0].Unreachable.Reason)
	assert.Empty(t, st.EligibleApprovers)

	notices := func() []notify.Notification {
		var out []notify.Notification
		for _, n := range c.Notifier.Sent() {
			if n.RequestID == in.RequestID && n.Kind == "unreachable" {
				out = append(out, n)
			}
		}
		return out
	}
	testkit.Eventually(t, 20*time.Second, "the org admins to be told", func() bool { return len(notices()) > 0 })
	n := notices()[0]
	require.Len(t, n.Recipients, 1)
	assert.Equal(t, "erin", n.Recipients[0].Username)
	assert.Equal(t, "SRE review", n.Stage)
	assert.Contains(t, n.Message, "bob is the requester")

	c.AddUser(t, "frank", "sre")
	require.NoError(t, c.client.SignalWorkflow(context.Background(), workflows.WorkflowID(in.RequestID), "", workflows.RefreshApprovers,
		workflows.RefreshApproversInput{Reason: "team sre changed"}))
	testkit.Eventually(t, 20*time.Second, "frank to become an approver", func() bool {
		st := testkit.State(t, c.client, in.RequestID)
		return st.Stages[0].Unreachable == nil && len(st.EligibleApprovers) == 1 && st.EligibleApprovers[0] == "frank"
	})
	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "frank"})
	res := testkit.Result(t, run, 30*time.Second)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Len(t, notices(), 1, "one notice for the stage")
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "unreachable_stage_then_member_added")
}
