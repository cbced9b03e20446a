package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
)

// launchAndFollow launches the approved request's AWX template and follows
// the job until it ends. It runs on a disconnected context: once a launch
// may have reached AWX, canceling the workflow must cancel the job, never
// abandon it.
func (s *requestRun) launchAndFollow() {
	// Approved through the API, the request shows as approved already; its
	// next publication waits for the job to run (RevisionLean).
	if !s.recordedByAPI() {
		s.sync()
	}
	ctx, _ := workflow.NewDisconnectedContext(s.ctx)
	if job, ok := s.launch(ctx); ok {
		s.req.MarkLaunched(job, workflow.Now(s.ctx))
		s.changed()
		s.follow(ctx)
	}
	s.notify(notify.KindFinished, []string{s.req.Requester}, -1, 0)
}

func (s *requestRun) launchInput() activities.LaunchInput {
	return activities.LaunchInput{
		RequestID:       s.in.RequestID,
		TemplateKind:    s.in.Template.Kind,
		TemplateID:      s.in.Template.ID,
		ExtraVars:       s.in.ExtraVars,
		NodeSurveyData:  s.in.NodeSurveyData,
		SecretVariables: s.in.SecretVariables,
	}
}

// launch returns the launched job, or false when the request ended without
// one: AWX refused it, AWX stayed unreachable for the retry budget, or the
// request was canceled first. A launch canceled or out of budget may still
// have reached AWX, so RecoverLaunch settles whether it created a job; if
// it did, the job is followed (and canceled, if the request was).
func (s *requestRun) launch(ctx workflow.Context) (approval.Job, bool) {
	budget := s.settings.LaunchRetryBudget.Std()
	in := s.launchInput()
	lctx, stop := workflow.WithCancel(ctx)
	lctx = workflow.WithActivityOptions(lctx, workflow.ActivityOptions{
		Summary:                fmt.Sprintf("launch AWX %s %d", s.in.Template.Kind, s.in.Template.ID),
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: budget,
		WaitForCancellation:    true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
	fut := workflow.ExecuteActivity(lctx, a.Launch, in)
	s.await(func() bool { return fut.IsReady() || s.req.Cancellation != nil })
	if !fut.IsReady() {
		// Canceled while the launch retries: stop it, and wait until it has
		// stopped so that no attempt is left running.
		stop()
		_ = workflow.Await(ctx, fut.IsReady)
	}
	var res activities.LaunchResult
	err := fut.Get(ctx, &res)
	if err == nil {
		return res.Job, true
	}
	if s.endWithoutLaunch(err, budget) {
		return approval.Job{}, false
	}

	opts := storeActivityOptions
	opts.StartToCloseTimeout = 2 * time.Minute
	opts.RetryPolicy = &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute}
	opts.Summary = "find out whether the launch created a job"
	var rec activities.RecoverResult
	if rerr := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.RecoverLaunch, in).Get(ctx, &rec); rerr != nil {
		s.endWithoutLaunch(rerr, budget)
		return approval.Job{}, false
	}
	switch {
	case rec.Found:
		return rec.Job, true
	case s.req.Cancellation != nil:
		s.req.CancelBeforeLaunch(workflow.Now(s.ctx))
	default:
		s.req.Fail(launchFailure(err, budget), workflow.Now(s.ctx))
	}
	s.changed()
	return approval.Job{}, false
}

// endWithoutLaunch fails the request when a launch error is final (AWX
// refused it, or its job was canceled for ignoring variables) and reports
// whether it did; other errors leave the question open.
func (s *requestRun) endWithoutLaunch(err error, budget time.Duration) bool {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() {
		return false
	}
	if job, ok := jobOfFailedLaunch(app); ok {
		s.req.MarkLaunched(job, workflow.Now(s.ctx))
	}
	s.req.Fail(launchFailure(err, budget), workflow.Now(s.ctx))
	s.changed()
	return true
}

// follow polls the job until it ends, asking AWX to cancel it when the
// request is canceled meanwhile. The first poll returns once the job runs,
// so the request shows AWX's progress; the second waits for the end.
// Lean (RevisionLean), the launch is published with that first progress.
func (s *requestRun) follow(ctx workflow.Context) {
	pctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary: fmt.Sprintf("follow AWX %s %d", s.req.Job.Type, s.req.Job.ID),
		// A long job outlives one attempt; the next attempt picks up the
		// same job, since its id is in the input.
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    s.settings.PollHeartbeatTimeout.Std(),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
	var cancelJob workflow.Future
	var stopCancel workflow.CancelFunc
	untilRunning := s.req.Job.Status != "running"
	// Lean, the launched job is published with its first progress, once
	// it runs or has waited runningWithin to.
	first := s.lean()
	for !s.req.Status.Terminal() {
		in := activities.PollInput{Job: *s.req.Job, UntilRunning: untilRunning}
		if first && untilRunning {
			in.RunningWithin = runningWithin
		} else {
			s.sync()
		}
		poll := workflow.ExecuteActivity(pctx, a.Poll, in)
		untilRunning, first = false, false
		for !poll.IsReady() {
			seen := s.version
			s.await(func() bool {
				return poll.IsReady() || (s.req.Cancellation != nil && cancelJob == nil) || s.version != seen
			})
			if s.req.Cancellation != nil && cancelJob == nil {
				// AWX cancels asynchronously: the poll sees the job end. The
				// cancel is retried until it lands or the job has ended.
				var cctx workflow.Context
				cctx, stopCancel = workflow.WithCancel(ctx)
				cancelJob = workflow.ExecuteActivity(workflow.WithActivityOptions(cctx, workflow.ActivityOptions{
					Summary:             fmt.Sprintf("cancel AWX %s %d", s.req.Job.Type, s.req.Job.ID),
					StartToCloseTimeout: 30 * time.Second,
					RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
				}), a.CancelJob, activities.CancelJobInput{Job: *s.req.Job})
			}
			// Lean, the poll's answer is published with the job's new
			// status, at the next turn of the loop.
			if !s.lean() || !poll.IsReady() {
				s.sync()
			}
		}
		var res activities.PollResult
		if err := poll.Get(ctx, &res); err != nil {
			s.req.Fail(fmt.Sprintf("lost track of AWX %s %d: %s", s.req.Job.Type, s.req.Job.ID, failureMessage(err)), workflow.Now(s.ctx))
			s.changed()
			break
		}
		s.req.UpdateJob(res.Status, res.Explanation, workflow.Now(s.ctx))
		s.changed()
		if s.lean() {
			// Still queued after runningWithin: shown so, then once it runs.
			untilRunning = res.Status != "running"
		}
	}
	if cancelJob != nil && !cancelJob.IsReady() {
		stopCancel()
	} else if cancelJob != nil {
		if err := cancelJob.Get(ctx, nil); err != nil {
			s.logger.Error("canceling the AWX job failed", "job", s.req.Job.ID, "error", err)
		}
	}
}

// launchFailure explains why a launch failed: AWX refused it (its own
// message), AWX ignored its variables, or the retry budget ran out (the
// last error says on what).
func launchFailure(err error, budget time.Duration) string {
	var app *temporal.ApplicationError
	errors.As(err, &app)
	switch {
	case app != nil && app.Type() == activities.ErrTypeLaunchMisconfigured:
		return "launch misconfigured: " + app.Message()
	case app != nil && app.Type() == activities.ErrTypeAWXRefused:
		return "AWX refused the launch: " + app.Message()
	case app != nil && app.NonRetryable():
		return "the launch failed: " + app.Message()
	case app != nil && app.Type() == activities.ErrTypeStoreUnavailable:
		return fmt.Sprintf("the launch could not be recorded within the launch retry budget of %s; last error: %s", budget, app.Message())
	}
	msg := fmt.Sprintf("AWX could not be reached within the launch retry budget of %s", budget)
	if last := failureMessage(err); last != "" {
		msg += "; last error: " + last
	}
	return msg
}

// jobOfFailedLaunch finds the job a failed launch created anyway (AWX
// ignored some of its values and it was canceled), so the request shows it.
func jobOfFailedLaunch(app *temporal.ApplicationError) (approval.Job, bool) {
	if app.Type() != activities.ErrTypeLaunchMisconfigured || !app.HasDetails() {
		return approval.Job{}, false
	}
	var res activities.LaunchResult
	if app.Details(&res) != nil || res.Job.ID == 0 {
		return approval.Job{}, false
	}
	return res.Job, true
}

// failureMessage is the message of the first application error in an
// activity failure's chain: the activity's own.
func failureMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
