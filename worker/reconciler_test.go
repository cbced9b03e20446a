package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/worker"
	"github.com/countersign/countersign/workflows"
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

// A request whose workflow an operator terminated, or that hit a workflow
// timeout, is settled by the next pass, however recently it changed: it
// leaves the inboxes, and a job launched for it is reported as no longer
// followed.
func TestReconciler_SettlesTerminatedAndTimedOutWorkflows(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: time.Hour})
	c.startWorker(t)
	ctx := context.Background()
	stageOpen := func(id int64) {
		testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
			row, err := c.Store.GetRequest(ctx, id)
			return err == nil && row.CurrentStage != nil && len(row.PendingApprovers) > 0
		})
	}

	terminated := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	testkit.StartRequest(t, c.client, c.taskQueue, terminated)
	stageOpen(terminated.RequestID)
	require.NoError(t, c.client.TerminateWorkflow(ctx, workflows.WorkflowID(terminated.RequestID), "", "stuck, says the operator"))

	timedOut := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	opts := workflows.StartOptions(timedOut, c.taskQueue)
	opts.WorkflowRunTimeout = 3 * time.Second
	_, err := c.client.ExecuteWorkflow(ctx, opts, workflows.WorkflowType, timedOut)
	require.NoError(t, err)
	stageOpen(timedOut.RequestID)

	running := c.Create(t, testkit.RestartService())
	testkit.StartRequest(t, c.client, c.taskQueue, running)
	testkit.Eventually(t, 20*time.Second, "the job to run", func() bool {
		row, err := c.Store.GetRequest(ctx, running.RequestID)
		return err == nil && row.Status == "running"
	})
	require.NoError(t, c.client.TerminateWorkflow(ctx, workflows.WorkflowID(running.RequestID), "", ""))

	// A request waiting normally, which the pass leaves alone.
	waiting := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	testkit.StartRequest(t, c.client, c.taskQueue, waiting)
	stageOpen(waiting.RequestID)

	query := fmt.Sprintf(`TaskQueue = %q AND ExecutionStatus != "Running"`, c.taskQueue)
	testkit.Eventually(t, 30*time.Second, "Temporal to list the three closed workflows", func() bool {
		resp, err := c.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.Executions) == 3
	})
	d, err := c.client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(timedOut.RequestID), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, d.GetWorkflowExecutionInfo().GetStatus())

	rec := &worker.Reconciler{Store: c.Store, Client: c.client, TaskQueue: c.taskQueue}
	stats, err := rec.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, worker.ReconcileStats{Settled: 3}, stats, "one pass, although the rows changed moments ago")

	for _, tc := range []struct {
		in             workflows.Input
		status, reason string
	}{
		{terminated, "canceled", "its workflow was terminated in Temporal before anything was launched"},
		{timedOut, "canceled", "its workflow timed out in Temporal before anything was launched"},
		{running, "failed", "its workflow was terminated in Temporal after a launch was sent to AWX; " +
			"Countersign no longer follows the job, which may still be running: check it in AWX"},
	} {
		row, err := c.Store.GetRequest(ctx, tc.in.RequestID)
		require.NoError(t, err)
		assert.Equal(t, tc.status, row.Status, "request %d", tc.in.RequestID)
		assert.Equal(t, tc.reason, row.FailureReason)
		assert.NotNil(t, row.Finished)
		assert.Nil(t, row.CurrentStage)
		assert.Empty(t, row.PendingApprovers)
	}
	row, err := c.Store.GetRequest(ctx, running.RequestID)
	require.NoError(t, err)
	require.NotNil(t, row.Job, "the job stays linked")
	inbox, _, err := c.Store.ListPendingFor(ctx, "bob", 0, 0)
	require.NoError(t, err)
	assert.Equal(t, []int64{waiting.RequestID}, requestIDs(inbox), "only the live request is left in bob's inbox")

	stats, err = rec.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, worker.ReconcileStats{}, stats, "nothing left to settle")
}

// noVisibility is a Temporal client whose visibility is unavailable.
type noVisibility struct{ client.Client }

func (noVisibility) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return nil, serviceerror.NewUnavailable("visibility is down")
}

// A closed workflow that the visibility scan does not list (visibility
// down, or lagging) is settled when the walk over unchanged rows reaches
// it, without a query; the scan's failure is reported after the walk.
func TestReconciler_SettlesTerminatedWorkflowsOnTheWalk(t *testing.T) {
	c := newCluster(t, awxsim.Config{})
	c.startWorker(t)
	ctx := context.Background()
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		row, err := c.Store.GetRequest(ctx, in.RequestID)
		return err == nil && row.CurrentStage != nil
	})
	require.NoError(t, c.client.TerminateWorkflow(ctx, workflows.WorkflowID(in.RequestID), "", ""))

	rec := &worker.Reconciler{Store: c.Store, Client: noVisibility{c.client}, TaskQueue: c.taskQueue, Settle: time.Nanosecond}
	stats, err := rec.Pass(ctx)
	require.ErrorContains(t, err, "visibility is down")
	assert.Equal(t, worker.ReconcileStats{Checked: 1, Settled: 1}, stats)
	row, err := c.Store.GetRequest(ctx, in.RequestID)
	require.NoError(t, err)
	assert.Equal(t, "canceled", row.Status)
}

func requestIDs(reqs []store.Request) []int64 {
	ids := make([]int64, len(reqs))
	for i, r := range reqs {
		ids[i] = r.ID
	}
	return ids
}

// stoppingClient is a Temporal client whose describe calls last until the
// worker stops.
type stoppingClient struct {
	client.Client
	describing chan struct{}
}

func (c *stoppingClient) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return &workflowservice.ListWorkflowExecutionsResponse{}, nil
}

func (c *stoppingClient) DescribeWorkflowExecution(ctx context.Context, _, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	select {
	case c.describing <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// oneRowStore has one unsettled request.
type oneRowStore struct{ worker.ReconcilerStore }

func (oneRowStore) UnsettledRequests(context.Context, time.Time, int64, int) ([]store.Request, error) {
	return []store.Request{{ID: 1, Status: "pending_approval"}}, nil
}

// A pass that the worker's stop interrupts is no failure: a clean stop
// logs no warning or error.
func TestReconciler_StopsQuietly(t *testing.T) {
	var logs syncBuffer
	c := &stoppingClient{describing: make(chan struct{}, 1)}
	rec := &worker.Reconciler{Store: oneRowStore{}, Client: c, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Interval: time.Millisecond}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	<-c.describing
	stop()
	<-done
	assert.Empty(t, logs.String())
}
