package testkit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/worker"
	"github.com/countersign/countersign/workflows"
)

// Dial connects to a Temporal server. Extra gRPC dial options (a counting
// interceptor, say) may be added.
func Dial(t testing.TB, hostPort string, opts ...grpc.DialOption) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:          hostPort,
		Logger:            sdklog.NewStructuredLogger(quietLogger()),
		ConnectionOptions: client.ConnectionOptions{DialOptions: opts},
		DataConverter:     codec.DataConverter(PayloadRing()),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// TaskQueue is a task queue of the test's own, so that workers of other
// tests never take its tasks.
func TaskQueue(t testing.TB) string {
	return fmt.Sprintf("test-%d", rand.Int64())
}

// StartWorker runs the production worker (worker.Run) in this process on
// taskQueue; the returned function stops it, as does the end of the test.
func StartWorker(t testing.TB, c client.Client, taskQueue string, acts *activities.Activities) (stop func()) {
	t.Helper()
	return StartWorkerWithOptions(t, c, taskQueue, acts, sdkworker.Options{})
}

// StartWorkerWithOptions is StartWorker with the SDK's worker options
// opts (a second to stop unless they say otherwise).
func StartWorkerWithOptions(t testing.TB, c client.Client, taskQueue string, acts *activities.Activities, opts sdkworker.Options) (stop func()) {
	t.Helper()
	if opts.WorkerStopTimeout == 0 {
		opts.WorkerStopTimeout = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- worker.Run(ctx, c, taskQueue, acts, opts)
	}()
	var stopped atomic.Bool
	stop = func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		require.NoError(t, <-done)
	}
	t.Cleanup(stop)
	return stop
}

// StartRequest starts the workflow of in as the API does.
func StartRequest(t testing.TB, c client.Client, taskQueue string, in workflows.Input) client.WorkflowRun {
	t.Helper()
	run, err := c.ExecuteWorkflow(context.Background(), workflows.StartOptions(in, taskQueue), workflows.WorkflowType, in)
	require.NoError(t, err)
	return run
}

// Update sends an update as the API does (a decision without a proof is
// signed for the api channel) and waits for its result.
func Update(ctx context.Context, c client.Client, requestID int64, name string, arg any) (approval.Request, error) {
	h, err := updateAsAPI(ctx, c, requestID, name, arg)
	if err != nil {
		return approval.Request{}, err
	}
	var st approval.Request
	err = h.Get(ctx, &st)
	return st, err
}

// State queries the request's state.
func State(t testing.TB, c client.Client, requestID int64) approval.Request {
	t.Helper()
	v, err := c.QueryWorkflow(context.Background(), workflows.WorkflowID(requestID), "", workflows.StateQuery)
	require.NoError(t, err)
	var st approval.Request
	require.NoError(t, v.Get(&st))
	return st
}

// Result waits for the workflow's result.
func Result(t testing.TB, run client.WorkflowRun, within time.Duration) workflows.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var res workflows.Result
	require.NoError(t, run.Get(ctx, &res))
	return res
}

// History fetches the whole event history of a request's workflow.
func History(t testing.TB, c client.Client, requestID int64) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflows.WorkflowID(requestID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	return h
}

// Eventually polls cond every 50ms until it holds or within passes.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Replay replays a history with the current workflow code; an error means
// the code no longer reproduces what the history recorded.
func Replay(h *historypb.History) error {
	r, err := Replayer()
	if err != nil {
		return err
	}
	return r.ReplayWorkflowHistory(sdklog.NewStructuredLogger(quietLogger()), h)
}

// Replayer replays the ServiceRequest workflow as workers run it, reading
// payloads encrypted with PayloadRing (and plain ones). Update validators
// do not run on replay, so it needs no Guard.
func Replayer() (sdkworker.WorkflowReplayer, error) {
	r, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{DataConverter: codec.DataConverter(PayloadRing())})
	if err != nil {
		return nil, err
	}
	r.RegisterWorkflowWithOptions(workflows.Guard{}.ServiceRequest, workflow.RegisterOptions{Name: workflows.WorkflowType})
	return r, nil
}
