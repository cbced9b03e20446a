package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/workflows"
)

// The typical request as the API submits it today (the first roster from
// submission, RevisionLean): two stages of two approvals through the API,
// a short job. Its billable actions, against the real server.
func TestWorker_LeanTypicalRequest(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 2 * time.Second, PendingFor: 300 * time.Millisecond})
	c.AddUser(t, "eve", "security")
	c.startWorker(t)
	in := c.AsSubmitted(t, c.Create(t, testkit.ProvisionEnvironment(c.Stage("SRE", "sre", 2, time.Hour, 24*time.Hour), c.Stage("Security", "security", 2, time.Hour, 0))))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)

	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob"})
	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "carol"})
	testkit.Eventually(t, 20*time.Second, "stage 2 to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 1
	})
	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "dave"})
	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "eve"})
	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)

	// The projection ends as the workflow did.
	testkit.Eventually(t, 10*time.Second, "the projection to show the end", func() bool {
		row, err := c.Store.GetRequest(context.Background(), in.RequestID)
		return err == nil && row.Status == "successful" && row.Job != nil && row.Job.Status == "successful"
	})

	h := testkit.History(t, c.client, in.RequestID)
	actions := testkit.CountActions(h)
	t.Logf("lean two-stage request, two approvers per stage, 2s job: %s", actions)
	assert.Equal(t, 1, actions.ByActivity["ResolveRoster"], "stage 2 only")
	assert.LessOrEqual(t, actions.ByActivity["Publish"], 4, "publications")
	assert.LessOrEqual(t, actions.Upserts, 5, "search-attribute upserts")
	assert.LessOrEqual(t, actions.Total(), 20, "billable actions with a job too short to heartbeat")
	testkit.RecordHistory(t, h, "lean_two_stage_successful")
}
