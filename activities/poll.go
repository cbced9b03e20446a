package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/awx"
)

// Poll follows an AWX job until it ends (or, with UntilRunning, until it
// runs), heartbeating its status. The next attempt polls the same job: its
// id is in the input. A worker that stops cleanly ends the attempt at once
// (WorkerStopped), so the next worker carries on without delay; one that
// dies is noticed by the heartbeat timeout. AWX being unreachable is
// ridden out for PollOutageBudget; after that, or when AWX no longer knows
// the job, Poll fails for good with the reason.
func (a *Activities) Poll(ctx context.Context, in PollInput) (PollResult, error) {
	kind := awx.Kind(in.Job.Type)
	beat := newHeartbeater(ctx)
	var outageSince time.Time
	started := a.now()
	for {
		job, err := a.AWX.Job(ctx, kind, in.Job.ID)
		switch {
		case err == nil:
			outageSince = time.Time{}
			shown := in.UntilRunning && (job.Status == awx.StatusRunning ||
				(in.RunningWithin > 0 && a.now().Sub(started) >= in.RunningWithin.Std()))
			if awx.IsTerminal(job.Status) || shown {
				return PollResult{Status: job.Status, Explanation: job.JobExplanation}, nil
			}
			beat.record(job.Status)
		case ctx.Err() != nil:
			return PollResult{}, ctx.Err()
		case awx.IsTransient(err):
			now := a.now()
			if outageSince.IsZero() {
				outageSince = now
			}
			if down := now.Sub(outageSince); down > a.pollOutageBudget() {
				return PollResult{}, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("AWX unreachable for %s while following the job: %v", down.Round(time.Second), err), ErrTypeAWXUnavailable, nil)
			}
			beat.record("awx unreachable")
		default:
			return PollResult{}, awxFailure("reading the job", err, LaunchInput{})
		}
		if err := sleep(ctx, beat.within(a.pollInterval()), fmt.Sprintf("following AWX %s %d", in.Job.Type, in.Job.ID)); err != nil {
			return PollResult{}, err
		}
	}
}

// heartbeater heartbeats no earlier than half the heartbeat timeout into
// the attempt. Heartbeats are billed; the SDK throttles them to 80% of the
// timeout but sends the first at once, which a poll that ends soon (most
// do) does not need.
type heartbeater struct {
	ctx     context.Context
	timeout time.Duration
	after   time.Time
}

func newHeartbeater(ctx context.Context) heartbeater {
	timeout := activity.GetInfo(ctx).HeartbeatTimeout
	return heartbeater{ctx: ctx, timeout: timeout, after: time.Now().Add(timeout / 2)}
}

// within shortens a wait so that heartbeats keep up with the timeout,
// however long the poll interval is set.
func (h heartbeater) within(wait time.Duration) time.Duration {
	if h.timeout > 0 && wait > h.timeout/2 {
		return h.timeout / 2
	}
	return wait
}

func (h heartbeater) record(details string) {
	if !time.Now().Before(h.after) {
		activity.RecordHeartbeat(h.ctx, details)
	}
}

// CancelJob asks AWX to cancel a job. AWX cancels asynchronously; the job's
// end is seen by Poll. A job that already ended is not an error.
func (a *Activities) CancelJob(ctx context.Context, in CancelJobInput) error {
	err := a.AWX.CancelJob(ctx, awx.Kind(in.Job.Type), in.Job.ID)
	if err == nil || errors.Is(err, awx.ErrNotCancelable) {
		return nil
	}
	return awxFailure("canceling the job", err, LaunchInput{})
}

func (a *Activities) pollInterval() time.Duration {
	if a.PollInterval > 0 {
		return a.PollInterval
	}
	return DefaultPollInterval
}

func (a *Activities) pollOutageBudget() time.Duration {
	if a.PollOutageBudget > 0 {
		return a.PollOutageBudget
	}
	return DefaultPollOutageBudget
}

// sleep waits d within an activity. It ends early with ctx's error, or
// with WorkerStopped(doing) when the worker stops: an activity waiting on
// something outside hands it over to the next worker rather than keep the
// stop waiting.
func sleep(ctx context.Context, d time.Duration, doing string) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-activity.GetWorkerStopChannel(ctx):
		return WorkerStopped(doing)
	case <-t.C:
		return nil
	}
}
