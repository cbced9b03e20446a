package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
)

// Requests for a template that carries no request marker, launched at the
// same time, with every launch answer lost: each request's recovery sees
// the same unowned jobs with the same answers, and several race to claim
// the same one. A claim lost to another request must move on to the next
// job, so that every request ends with a job of its own and no job is left
// without an owner.
func TestWorker_ConcurrentLostLaunchAnswers(t *testing.T) {
	const n = 8
	for _, tc := range []struct {
		name    string
		request func() testkit.Request
	}{
		{"health check: no survey", func() testkit.Request { return testkit.HealthCheck() }},
		{"restart service: equal answers", func() testkit.Request { return testkit.RestartService() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
			c.startWorker(t)
			r := tc.request()
			path := fmt.Sprintf("/api/v2/job_templates/%d/launch/", r.Template.ID)
			c.Sim.InjectFault(awxsim.Fault{Method: "POST", Path: path, Kind: awxsim.FaultDropResponse, Times: n})
			ids := make([]int64, n)
			runs := make([]client.WorkflowRun, n)
			for i := range runs {
				in := c.Create(t, tc.request())
				ids[i] = in.RequestID
				runs[i] = testkit.StartRequest(t, c.client, c.taskQueue, in)
			}

			owned := map[int64]int64{}
			for i, run := range runs {
				res := testkit.Result(t, run, 2*time.Minute)
				require.Equal(t, approval.StatusSuccessful, res.Status, "request %d: %s", ids[i], res.FailureReason)
				require.NotNil(t, res.Job)
				other, taken := owned[res.Job.ID]
				assert.False(t, taken, "request %d ended with job %d, which request %d has too", ids[i], res.Job.ID, other)
				owned[res.Job.ID] = ids[i]
			}
			assert.Equal(t, n, c.Sim.LaunchCount(awxsim.KindJob, r.Template.ID), "one launch per request")
			for _, j := range c.Sim.Jobs() {
				owner, err := c.Store.JobOwner(context.Background(), store.JobTypeJob, j.ID)
				require.NoError(t, err, "AWX job %d has no owner", j.ID)
				assert.Equal(t, owned[j.ID], owner, "AWX job %d", j.ID)
			}
		})
	}
}
