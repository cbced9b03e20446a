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

// publishedStatuses lists each publication's status, and whether it
// carried notifications, in order.
func publishedStatuses(h *harness) []string {
	var out []string
	for _, p := range h.world.publishes {
		s := string(p.Request.Status)
		for _, ev := range p.Events {
			s += "+" + string(ev.Kind)
		}
		out = append(out, s)
	}
	return out
}

// The typical request, two stages of two approvals through the API, with
// and without RevisionLean: lean, the API records what its decisions
// change, so the approvals that open or close nothing are not published,
// and an approved request is published once its job runs, with the
// approval's notification; what each publication shows at the end is the
// same.
func TestServiceRequest_LeanPublishesLess(t *testing.T) {
	t.Parallel()
	original, lean := runTypical(t, 0, nil), runTypical(t, workflows.RevisionLean, nil)

	// Activities run on their own goroutines, so a state published while
	// the next change is made may take that change along: the original
	// publishes every decision, then the job's statuses as far as they did
	// not coalesce with the end (zero to two times running); lean, only
	// where it notifies someone.
	got := publishedStatuses(original)
	decisions := []string{"pending_approval+pending", "pending_approval", "pending_approval+pending", "pending_approval", "approved+decided"}
	require.GreaterOrEqual(t, len(got), len(decisions)+1, "%v", got)
	assert.Equal(t, decisions, got[:len(decisions)])
	assert.Equal(t, "successful+finished", got[len(got)-1])
	job := got[len(decisions) : len(got)-1]
	assert.LessOrEqual(t, len(job), 2, "%v", got)
	for _, status := range job {
		assert.Equal(t, "running", status, "%v", got)
	}
	assert.Equal(t, []string{
		"pending_approval+pending", "pending_approval+pending", "running+decided", "successful+finished",
	}, publishedStatuses(lean))

	last := func(h *harness) approval.Request { return h.world.publishes[len(h.world.publishes)-1].Request }
	assert.Equal(t, last(original).Stages, last(lean).Stages, "the end is published alike")
	assert.Equal(t, "running", lean.world.publishes[2].Request.Job.Status, "the launch is published with the job running")
	require.Len(t, lean.world.pollCalls, 2)
	assert.Equal(t, approval.Duration(30*time.Second), lean.world.pollCalls[0].RunningWithin)
	assert.Zero(t, original.world.pollCalls[0].RunningWithin)
}

// Lean, a decision that did not come through the API (the CLI) is
// published as always: nobody else records it.
func TestServiceRequest_LeanPublishesDecisionsFromTheCLI(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // trusted: an unsigned signal is applied, unverified
	h.signalAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	h.updateAt(2*time.Hour, workflows.Approve, workflows.ApproveInput{User: "carol"})
	in := input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day)))
	in.Revision = workflows.RevisionLean
	require.Equal(t, approval.StatusSuccessful, h.run(in).Status)
	assert.Equal(t, []string{"pending_approval+pending", "pending_approval", "running+decided", "successful+finished"},
		publishedStatuses(h), "bob's CLI approval is published; carol's, through the API, opens the launch")
	assert.Len(t, h.world.eventsOf(notify.KindDecided), 1)
}
