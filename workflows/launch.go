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
// the job until it ends. The launch and the following run on disconnected
// contexts: once a launch may have reached AWX, canceling the workflow must
// cancel the job, never abandon it.
func (s *requestRun) launchAndFollow() {
	s.sync()
	ctx, _ := workflow.NewDisconnectedContext(s.ctx)
	budget := s.settings.LaunchRetryBudget.Std()
	lctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:                fmt.Sprintf("launch AWX %s %d", s.in.Template.Kind, s.in.Template.ID),
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: budget,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
	in := activities.LaunchInput{
		RequestID:      s.in.RequestID,
		TemplateKind:   s.in.Template.Kind,
		TemplateID:     s.in.Template.ID,
		ExtraVars:      s.in.ExtraVars,
		NodeSurveyData: s.in.NodeSurveyData,
		ApprovedAt:     s.req.Modified,
	}
	fut := workflow.ExecuteActivity(lctx, a.Launch, in)
	s.await(fut.IsReady)
	var res activities.LaunchResult
	if err := fut.Get(ctx, &res); err != nil {
		if job, ok := jobOfFailedLaunch(err); ok {
			s.req.MarkLaunched(job, workflow.Now(s.ctx))
		}
		s.req.Fail(launchFailure(err, budget), workflow.Now(s.ctx))
		s.changed()
		s.notify(notify.KindFinished, []string{s.req.Requester}, -1, 0)
		return
	}
	s.req.MarkLaunched(res.Job, workflow.Now(s.ctx))
	s.changed()
	s.follow(ctx)
	s.notify(notify.KindFinished, []string{s.req.Requester}, -1, 0)
}

// follow polls the job until it ends, canceling it in AWX when the request
// is canceled meanwhile. The first poll returns once the job runs, so the
// request shows AWX's progress; the second waits for the end.
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
	cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:                fmt.Sprintf("cancel AWX %s %d", s.req.Job.Type, s.req.Job.ID),
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
	})
	cancelSent := false
	untilRunning := s.req.Job.Status != "running"
	for !s.req.Status.Terminal() {
		s.sync()
		poll := workflow.ExecuteActivity(pctx, a.Poll, activities.PollInput{Job: *s.req.Job, UntilRunning: untilRunning})
		untilRunning = false
		for !poll.IsReady() {
			seen := s.version
			s.await(func() bool {
				return poll.IsReady() || (s.req.Cancellation != nil && !cancelSent) || s.version != seen
			})
			if s.req.Cancellation != nil && !cancelSent {
				cancelSent = true
				// AWX cancels asynchronously; the poll sees the job end.
				if err := workflow.ExecuteActivity(cctx, a.CancelJob, activities.CancelJobInput{Job: *s.req.Job}).Get(ctx, nil); err != nil {
					s.logger.Error("canceling the AWX job failed", "job", s.req.Job.ID, "error", err)
				}
			}
			s.sync()
		}
		var res activities.PollResult
		if err := poll.Get(ctx, &res); err != nil {
			s.req.Fail(fmt.Sprintf("lost track of AWX %s %d: %s", s.req.Job.Type, s.req.Job.ID, failureMessage(err)), workflow.Now(s.ctx))
			s.changed()
			return
		}
		s.req.UpdateJob(res.Status, res.Explanation, workflow.Now(s.ctx))
		s.changed()
	}
}

// launchFailure explains why a launch failed: AWX refused it (its own
// message), or AWX stayed unreachable for the whole retry budget.
func launchFailure(err error, budget time.Duration) string {
	// Launch fails for good only with a non-retryable error; anything else
	// means the retry budget ran out, either while an attempt ran (a
	// timeout) or because the next retry would not fit in it (the last,
	// retryable, failure).
	var timeout *temporal.TimeoutError
	var app *temporal.ApplicationError
	if errors.As(err, &timeout) || (errors.As(err, &app) && !app.NonRetryable()) {
		msg := fmt.Sprintf("AWX could not be reached within the launch retry budget of %s", budget)
		if last := failureMessage(err); last != "" {
			msg += "; last error: " + last
		}
		return msg
	}
	if errors.As(err, &app) && app.Type() == activities.ErrTypeLaunchMisconfigured {
		return "launch misconfigured: " + app.Message()
	}
	return "AWX refused the launch: " + failureMessage(err)
}

// jobOfFailedLaunch finds the job a failed launch created anyway (AWX
// ignored some of its values and it was canceled), so the request shows it.
func jobOfFailedLaunch(err error) (approval.Job, bool) {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeLaunchMisconfigured || !app.HasDetails() {
		return approval.Job{}, false
	}
	var res activities.LaunchResult
	if app.Details(&res) != nil || res.Job.ID == 0 {
		return approval.Job{}, false
	}
	return res.Job, true
}

// failureMessage digs the innermost application error's message out of an
// activity failure.
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
