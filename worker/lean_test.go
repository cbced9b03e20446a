package worker_test

import (
	"context"
	"errors"
	"sync"
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

// The typical request as the API submits it (the first roster from
// submission, RevisionLean, and now RevisionLocalPublish): two stages of
// two approvals through the API, a short job. Its billable actions,
// against the real server, at each revision.
func TestWorker_LeanTypicalRequest(t *testing.T) {
	for _, tc := range []struct {
		revision int
		history  string
	}{
		{workflows.RevisionLean, "lean_two_stage_successful"},
		{workflows.RevisionLocalPublish, "local_publish_two_stage_successful"},
	} {
		t.Run(tc.history, func(t *testing.T) {
			c := newCluster(t, awxsim.Config{JobDuration: 2 * time.Second, PendingFor: 300 * time.Millisecond})
			c.AddUser(t, "eve", "security")
			c.startWorker(t)
			in := c.AsSubmitted(t, c.Create(t, testkit.ProvisionEnvironment(c.Stage("SRE", "sre", 2, time.Hour, 24*time.Hour), c.Stage("Security", "security", 2, time.Hour, 0))))
			in.Revision = tc.revision
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
			t.Logf("revision %d, two-stage request, two approvers per stage, 2s job: %s", tc.revision, actions)
			assert.Equal(t, 1, actions.ByActivity["ResolveRoster"], "stage 2 only")
			publications := actions.ByActivity["Publish"]
			if tc.revision >= workflows.RevisionLocalPublish {
				assert.Zero(t, publications, "every publication is local while PostgreSQL and the receivers answer")
				publications = actions.LocalActivities
			}
			assert.Positive(t, publications)
			assert.LessOrEqual(t, publications, 4, "publications")
			assert.LessOrEqual(t, actions.Upserts, 5, "search-attribute upserts")
			assert.LessOrEqual(t, actions.Total(), 20, "billable actions with a job too short to heartbeat")
			testkit.RecordHistory(t, h, tc.history)
		})
	}
}

// At RevisionLocalPublish, a notification the local publication could
// not deliver is retried by the Publish activity, and only it: against
// the real server, the receiver failing the first delivery of each kind
// once.
func TestWorker_LocalPublishRetriesDeliveriesInAnActivity(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: time.Second})
	var mu sync.Mutex
	failed := map[notify.Kind]bool{}
	c.Notifier.Fail = func(n notify.Notification) error {
		mu.Lock()
		defer mu.Unlock()
		if n.Kind == notify.KindPending && !failed[n.Kind] {
			failed[n.Kind] = true
			return errors.New("webhook answered 503")
		}
		return nil
	}
	c.startWorker(t)
	in := c.AsSubmitted(t, c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0))))
	require.Equal(t, workflows.RevisionLocalPublish, in.Revision)
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the pending notification to be delivered", func() bool {
		for _, n := range c.Notifier.Sent() {
			if n.Kind == notify.KindPending {
				return true
			}
		}
		return false
	})
	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob"})
	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)

	var pending int
	for _, n := range c.Notifier.Sent() {
		if n.Kind == notify.KindPending {
			pending++
		}
	}
	assert.Equal(t, 1, pending, "delivered once, by the activity")
	h := testkit.History(t, c.client, in.RequestID)
	actions := testkit.CountActions(h)
	assert.Equal(t, 1, actions.ByActivity["Publish"], "only the failed delivery goes through an activity")
	assert.Positive(t, actions.LocalActivities)
	testkit.RecordHistory(t, h, "local_publish_delivery_retried")
}
