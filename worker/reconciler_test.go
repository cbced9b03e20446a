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
	"github.com/countersign/countersign/worker"
)

func TestReconciler_RepairsDriftedRows(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	ctx := context.Background()

	// A request that finished, whose row missed the end (a lost publication).
	finished := c.Create(t, testkit.RestartService())
	res := testkit.Result(t, testkit.StartRequest(t, c.client, c.taskQueue, finished), 30*time.Second)
	require.Equal(t, approval.StatusSuccessful, res.Status)
	testkit.Eventually(t, 10*time.Second, "the projection", func() bool {
		row, err := c.Store.GetRequest(ctx, finished.RequestID)
		return err == nil && row.Status == "successful"
	})
	_, err := c.Store.DB().ExecContext(ctx, `UPDATE service_requests SET status = 'running', finished = NULL, state_seq = 1 WHERE id = $1`, finished.RequestID)
	require.NoError(t, err)

	// A request whose workflow never started (the API died in between).
	orphan := c.Create(t, testkit.RestartService())

	// A request waiting for approval, in sync.
	waiting := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	testkit.StartRequest(t, c.client, c.taskQueue, waiting)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		row, err := c.Store.GetRequest(ctx, waiting.RequestID)
		return err == nil && row.CurrentStage != nil
	})
	before, err := c.Store.GetRequest(ctx, waiting.RequestID)
	require.NoError(t, err)

	rec := &worker.Reconciler{Store: c.Store, Client: c.client, Settle: time.Nanosecond}
	stats, err := rec.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, worker.ReconcileStats{Checked: 3, Repaired: 1, Failed: 1}, stats)

	row, err := c.Store.GetRequest(ctx, finished.RequestID)
	require.NoError(t, err)
	assert.Equal(t, "successful", row.Status, "repaired from the workflow's state")
	assert.NotNil(t, row.Finished)

	row, err = c.Store.GetRequest(ctx, orphan.RequestID)
	require.NoError(t, err)
	assert.Equal(t, "failed", row.Status)
	assert.Contains(t, row.FailureReason, "does not exist in Temporal")

	after, err := c.Store.GetRequest(ctx, waiting.RequestID)
	require.NoError(t, err)
	assert.Equal(t, before.StateSeq, after.StateSeq, "a row in sync is left alone")

	stats, err = rec.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, worker.ReconcileStats{Checked: 1}, stats, "the next pass finds only the waiting request, in sync")
}
