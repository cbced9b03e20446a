package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"

	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/workflows"
)

// A delegation's start and end reach a waiting stage on time, with no
// signal: the stage wakes when its roster says one starts or ends and
// resolves the roster again.
func TestDelegation_StartAndEndReachAWaitingStage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.delegations = []approval.Delegation{{Delegator: "bob", Delegate: "dave", Starts: epoch.Add(2 * time.Hour), Ends: epoch.Add(5 * time.Hour)}}
	before, during, after := h.stateAt(time.Hour), h.stateAt(3*time.Hour), h.stateAt(6*time.Hour)
	h.updateAt(7*time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	h.updateAt(7*time.Hour+time.Minute, workflows.Approve, workflows.ApproveInput{User: "carol"})
	res := h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, 0))))
	assert.Equal(t, approval.StatusSuccessful, res.Status)

	assert.Equal(t, []string{"bob", "carol", "frank"}, before.EligibleApprovers)
	require.NotNil(t, before.Roster.NextDelegationChange)
	assert.Equal(t, epoch.Add(2*time.Hour), *before.Roster.NextDelegationChange)
	assert.Equal(t, []string{"bob", "carol", "dave", "frank"}, during.EligibleApprovers, "dave, from the delegation's start")
	assert.Equal(t, []string{"bob", "carol", "frank"}, after.EligibleApprovers, "and no longer after its end")
	assert.Nil(t, after.Roster.NextDelegationChange)
	assert.Len(t, h.world.rosterCalls, 3, "the stage's opening, the start, the end")
}

// The database's clock a little behind the workflow's: the roster read
// when the delegation's timer fires still names its start, and the stage
// looks again a moment later instead of never.
func TestDelegation_StartSeenLateByTheDatabase(t *testing.T) {
	t.Parallel()
	during := eligibleWhenStartSeenLate(t, newHarness(t))
	assert.Equal(t, []string{"bob", "carol", "dave", "frank"}, during, "dave, once the database saw the start")
}

// A request whose history was recorded before a delegation's timer was
// set again for a start the database saw late replays as it ran: the
// timer is not set again, and the delegate never joins the stage.
func TestDelegation_StartSeenLateReplaysAsBefore(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env.OnGetVersion(workflows.DelegationTimerRearm, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	during := eligibleWhenStartSeenLate(t, h)
	assert.Equal(t, []string{"bob", "carol", "frank"}, during, "as before: the start seen late is never looked at again")
}

// eligibleWhenStartSeenLate runs, on h, a one-stage request while bob has
// delegated to dave from 2h to 5h and the database sees changes 300 ms
// late; bob approves at 4h and the request succeeds. It returns who may
// decide at 3h.
func eligibleWhenStartSeenLate(t *testing.T, h *harness) []string {
	t.Helper()
	h.world.rosterLag = 300 * time.Millisecond
	h.world.delegations = []approval.Delegation{{Delegator: "bob", Delegate: "dave", Starts: epoch.Add(2 * time.Hour), Ends: epoch.Add(5 * time.Hour)}}
	during := h.stateAt(3 * time.Hour)
	h.updateAt(4*time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	res := h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, 0))))
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	return during.EligibleApprovers
}

// Without delegations no roster names a change, and no timer beyond the
// stage's own is set: requests recorded before delegations replay.
func TestDelegation_NoneSetsNoTimer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.updateAt(3*time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	res := h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, 0))))
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Len(t, h.world.rosterCalls, 1)
}

// A delegate decides on the delegator's behalf; the decision, and the Web
// UI's summary, say so, and the delegator's seat is used.
func TestDelegation_DelegateDecidesOnBehalf(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.delegations = []approval.Delegation{{Delegator: "bob", Delegate: "dave", Starts: epoch, Ends: epoch.Add(24 * time.Hour)}}
	byDave := h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "dave", Comment: "for bob"})
	byBob := h.updateAt(2*time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	var summary string
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow("__temporal_workflow_metadata")
		require.NoError(t, err)
		var meta sdkpb.WorkflowMetadata
		require.NoError(t, v.Get(&meta))
		summary = meta.GetCurrentDetails()
	}, 3*time.Hour)
	h.updateAt(4*time.Hour, workflows.Approve, workflows.ApproveInput{User: "carol"})
	res := h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, 0))))
	assert.Equal(t, approval.StatusSuccessful, res.Status)

	require.True(t, byDave.done)
	require.NoError(t, byDave.err)
	assert.Equal(t, "bob", byDave.state.Stages[0].Responses[0].OnBehalfOf)
	require.True(t, byBob.done)
	assert.ErrorContains(t, byBob.rejected, string(approval.CodeAlreadyDecided), "bob's seat is used: the validator refuses")
	assert.Contains(t, summary, "dave on behalf of bob approved via api")
}
