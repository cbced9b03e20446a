package worker_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/wiring"
	"github.com/countersign/countersign/workflows"
)

// A worker stopped cleanly (Ctrl-C on `make run`, SIGTERM) while it follows
// a job: its poll ends at once and is retried without backoff, so the next
// worker sees the job's end within a poll interval instead of when the
// heartbeat times out; and the stop logs nothing at ERROR. The workers run
// as `countersign worker` and `countersign dev` run them (wiring.Worker).
func TestWorker_StoppedWhilePolling(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: time.Hour, PendingFor: 200 * time.Millisecond})
	cfg := config.Config{
		DatabaseURL: c.DatabaseURL, TemporalAddress: temporalAddr, TaskQueue: c.taskQueue,
		AWXURL: c.SimURL, AWXToken: testkit.AWXToken, AWXPollInterval: 200 * time.Millisecond,
		PayloadKeys: testkit.PayloadKeys(),
	}
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	serve := func(ctx context.Context) chan error {
		done := make(chan error, 1)
		go func() { done <- wiring.Worker(ctx, cfg, logger) }()
		return done
	}
	ctx, stop := context.WithCancel(context.Background())
	first := serve(ctx)
	// The default heartbeat timeout (1m): a poll lost with its worker would
	// be noticed only then.
	in := c.Create(t, testkit.RestartService())
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 30*time.Second, "the poll that waits for the job's end", func() bool {
		if st := testkit.State(t, c.client, in.RequestID); st.Job == nil || st.Job.Status != awxsim.StatusRunning {
			return false
		}
		d, err := c.client.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(in.RequestID), "")
		require.NoError(t, err)
		for _, a := range d.GetPendingActivities() {
			if a.GetActivityType().GetName() == "Poll" && a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				return true
			}
		}
		return false
	})

	stop()
	require.NoError(t, <-first, "a clean stop")
	// The job ends while no worker runs.
	jobs := c.Sim.Jobs()
	require.Len(t, jobs, 1)
	require.NoError(t, c.Sim.SetJobStatus(awxsim.KindJob, jobs[0].ID, awxsim.StatusSuccessful, ""))

	ctx, stop = context.WithCancel(context.Background())
	second := serve(ctx)
	res := testkit.Result(t, run, 3*time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	stop()
	require.NoError(t, <-second)

	// The poll that saw the end is the second attempt, retried because the
	// first worker stopped, not because its heartbeat timed out.
	h := testkit.History(t, c.client, in.RequestID)
	activityType := map[int64]string{}
	var lastPoll *historypb.ActivityTaskStartedEventAttributes
	for _, ev := range h.Events {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			activityType[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && activityType[a.GetScheduledEventId()] == "Poll" {
			lastPoll = a
		}
	}
	require.NotNil(t, lastPoll)
	assert.EqualValues(t, 2, lastPoll.GetAttempt())
	assert.Nil(t, lastPoll.GetLastFailure().GetTimeoutFailureInfo(), "not noticed by a timeout: %v", lastPoll.GetLastFailure())
	assert.Equal(t, activities.ErrTypeWorkerStopped, lastPoll.GetLastFailure().GetApplicationFailureInfo().GetType())
	assert.NotContains(t, logs.String(), `"level":"ERROR"`, "two clean stops log no error")
}

// syncBuffer lets a test read what a process writes while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
