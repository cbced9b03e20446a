package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/workflows"
)

// bob (team sre) asks for something sre must approve twice: only carol may
// decide. The state says the stage cannot be completed, the org admins are
// told once, and adding a member to the team makes it reachable again.
func TestServiceRequest_UnreachableStage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.setTeam(sreTeam.ID, "bob", "carol")
	opened := h.stateAt(time.Minute)
	h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "carol"})
	afterCarol := h.stateAt(2 * time.Hour)
	h.env.RegisterDelayedCallback(func() { h.world.setTeam(sreTeam.ID, "bob", "carol", "frank") }, 3*time.Hour)
	h.signalAt(3*time.Hour+time.Minute, workflows.RefreshApprovers, workflows.RefreshApproversInput{Reason: "team sre changed"})
	afterRefresh := h.stateAt(4 * time.Hour)
	frank := h.updateAt(5*time.Hour, workflows.Approve, workflows.ApproveInput{User: "frank"})

	in := input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day)))
	in.Requester = "bob"
	res := h.run(in)

	require.NotNil(t, opened.Stages[0].Unreachable, "the stage cannot be completed from the start")
	assert.Equal(t, "needs 2 more approvals but only 1 eligible approver remains (carol): bob is the requester and cannot approve their own request",
		opened.Stages[0].Unreachable.Reason)
	require.NotNil(t, afterCarol.Stages[0].Unreachable)
	assert.Equal(t, 1, afterCarol.Stages[0].Unreachable.Needed)
	assert.Empty(t, afterCarol.EligibleApprovers)
	assert.Nil(t, afterRefresh.Stages[0].Unreachable, "frank joined the team")
	assert.Equal(t, []string{"frank"}, afterRefresh.EligibleApprovers)
	require.NoError(t, frank.err)
	assert.Equal(t, approval.StatusSuccessful, res.Status)

	// One notice for the stage, to the org admins, however often it was
	// judged unreachable again.
	assert.Equal(t, []activities.Event{{Kind: notify.KindUnreachable, Recipients: []string{"erin"}, Stage: 0}},
		h.world.eventsOf(notify.KindUnreachable))
	// The projection showed it: the notice went with the publication of
	// the state that carries the verdict.
	for _, p := range h.world.publishes {
		for _, ev := range p.Events {
			if ev.Kind == notify.KindUnreachable {
				assert.False(t, p.NotifyOnly)
				require.NotNil(t, p.Request.Stages[0].Unreachable)
			}
		}
	}
}

// A stage that becomes unreachable later (its last possible approver left
// the team) is noticed then; with no org admins, the superusers are told.
func TestServiceRequest_StageBecomesUnreachable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.orgAdmins = nil
	h.env.RegisterDelayedCallback(func() { h.world.setTeam(sreTeam.ID, "alice", "bob") }, time.Hour)
	h.signalAt(time.Hour+time.Minute, workflows.RefreshApprovers, workflows.RefreshApproversInput{Reason: "team sre changed"})
	h.updateAt(2*time.Hour, workflows.Cancel, workflows.CancelInput{User: "alice", Reason: "nobody can approve it"})

	res := h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day))))

	assert.Equal(t, approval.StatusCanceled, res.Status)
	assert.Equal(t, []activities.Event{{Kind: notify.KindUnreachable, Recipients: []string{"admin"}, Stage: 0}},
		h.world.eventsOf(notify.KindUnreachable))
}
