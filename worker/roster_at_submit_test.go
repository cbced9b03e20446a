package worker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/workflows"
)

// A request started with the roster the API read at submission can be
// decided the moment its start is answered: its first stage opens in the
// first workflow task, with no activity, and the start's search
// attributes already hold its approvers.
func TestWorker_FirstRosterFromSubmission(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	in := c.AsSubmitted(t, c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0))))
	in.Revision = 0 // the roster alone
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)

	st := c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob", Comment: "at once"})
	assert.Equal(t, approval.StatusApproved, st.Status, "decided without waiting for the stage to open")
	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)

	h := testkit.History(t, c.client, in.RequestID)
	actions := testkit.CountActions(h)
	t.Logf("one stage, one approver, roster from submission: %s", actions)
	assert.Zero(t, actions.ByActivity["ResolveRoster"], "the first stage opened with the submitted roster")
	// approved, running, successful: the start set the rest.
	assert.Equal(t, 3, actions.Upserts, "search-attribute upserts")
	testkit.RecordHistory(t, h, "roster_resolved_at_submission")
}
