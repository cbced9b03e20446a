package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/workflows"
)

// A request whose first roster the API resolved at submission opens its
// first stage with it, without an activity, and takes a decision at once;
// later stages resolve theirs when they open.
func TestServiceRequest_FirstRosterFromSubmission(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// The API read sre without carol: the roster it read is the one the
	// stage opens with, until a decision or a refresh brings a newer one.
	in := input(plan(
		stage("SRE", 1, sreTeam, 1, 72*time.Hour, day),
		stage("Security", 2, securityTeam, 1, 48*time.Hour, 0),
	))
	in.Roster = &approval.Roster{TeamMembers: []string{"alice", "bob", "frank"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}
	first := h.stateAt(time.Second)
	bob := h.updateAt(2*time.Second, workflows.Approve, workflows.ApproveInput{User: "bob"})
	h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "dave"})

	res := h.run(in)

	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Equal(t, 0, first.CurrentStage, "the first stage is open from the first moment")
	assert.Equal(t, []string{"bob", "frank"}, first.EligibleApprovers, "as the API read the team, less the requester")
	started, ok := workflows.StartOptions(in, "").TypedSearchAttributes.GetKeywordList(workflows.PendingApproversKey)
	require.True(t, ok, "the start sets PendingApprovers")
	assert.Equal(t, first.EligibleApprovers, started, "the start's search attribute is the state's")
	require.NoError(t, bob.err)
	require.Len(t, h.world.rosterCalls, 1, "only the second stage resolved its roster")
	assert.Equal(t, securityTeam.ID, *h.world.rosterCalls[0].TeamID)
	pending := h.world.eventsOf(notify.KindPending)
	require.Len(t, pending, 2)
	assert.Equal(t, []string{"bob", "frank"}, pending[0].Recipients)
}

// Without stages, the roster from submission is the organization admins'
// (they may still cancel or comment), and nothing is resolved.
func TestServiceRequest_NoStagesWithRosterFromSubmission(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	in := input(plan())
	in.Roster = &approval.Roster{TeamMembers: []string{}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}
	res := h.run(in)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Empty(t, h.world.rosterCalls)
}
