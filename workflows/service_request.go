package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
)

// a references the activities by method; the workflow never calls them
// directly, the SDK runs them on a worker.
var a *activities.Activities

// operator names the actor of a cancellation that came from Temporal itself
// (`temporal workflow cancel`, or the API deleting a pending request).
const operator = "temporal"

// ServiceRequest is the durable life of one service request (SPEC 3.4, 3.5,
// 4, 6): it opens the plan's stages in order and waits for decisions,
// reminding approvers and expiring at each stage's deadline; once approved it
// launches the AWX template exactly once and follows the job to its end.
// Every transition is published to PostgreSQL and to the search attributes.
func ServiceRequest(ctx workflow.Context, in Input) (Result, error) {
	if err := in.validate(); err != nil {
		return Result{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	s := newRequestRun(ctx, in)
	if err := s.setup(); err != nil {
		return Result{}, err
	}
	return s.run()
}

// requestRun is the private state of one ServiceRequest execution.
type requestRun struct {
	// ctx becomes a disconnected context once the workflow is canceled, so
	// that the cleanup (canceling the AWX job, the last publication) runs.
	ctx      workflow.Context
	in       Input
	settings Settings
	req      *approval.Request
	logger   log.Logger

	// version grows with every change the projection shows; wantPublished
	// is the version the main flow asked to publish and published the last
	// one the publisher wrote.
	version       int64
	wantPublished int64
	published     int64
	publishing    bool
	events        []activities.Event

	rosterStale bool
	canceled    bool
	searchAttrs searchAttrState
}

func newRequestRun(ctx workflow.Context, in Input) *requestRun {
	req := approval.NewRequest(in.RequestID, in.Organization, in.CatalogItem, in.Requester, in.Justification,
		in.Plan, workflow.Now(ctx))
	return &requestRun{
		ctx:      ctx,
		in:       in,
		settings: in.Settings.withDefaults(),
		req:      req,
		logger:   workflow.GetLogger(ctx),
		version:  1,
	}
}

func (in Input) validate() error {
	switch {
	case in.RequestID <= 0:
		return errors.New("request_id must be positive")
	case in.Requester == "":
		return errors.New("requester is required")
	case in.Organization.ID <= 0:
		return errors.New("organization.id must be positive")
	case in.Template.ID <= 0:
		return errors.New("template.id must be positive")
	case in.Template.Kind != activities.JobTemplate && in.Template.Kind != activities.WorkflowJobTemplate:
		return fmt.Errorf("template.kind must be %q or %q", activities.JobTemplate, activities.WorkflowJobTemplate)
	}
	return nil
}

func (s Settings) withDefaults() Settings {
	if s.LaunchRetryBudget <= 0 {
		s.LaunchRetryBudget = approval.Duration(15 * time.Minute)
	}
	if s.PollHeartbeatTimeout <= 0 {
		s.PollHeartbeatTimeout = approval.Duration(time.Minute)
	}
	return s
}

func (s *requestRun) run() (Result, error) {
	for s.req.Status == approval.StatusPendingApproval {
		i, ok := s.req.NextStage()
		if !ok {
			break
		}
		roster, ok := s.resolveRoster(i)
		if !ok || s.req.Status != approval.StatusPendingApproval {
			break
		}
		s.req.OpenStage(i, roster, workflow.Now(s.ctx))
		s.changed()
		s.notify(notify.KindPending, s.req.EligibleApprovers, i, 0)
		s.waitStage()
	}
	if s.req.Status == approval.StatusApproved {
		s.launchAndFollow()
	}
	return s.finish()
}

// waitStage waits until the open stage closes: by decisions (the handlers
// change the state), by expiry, or by cancellation. One timer at a time
// stands for the next reminder or the deadline; it is kept across decisions
// and canceled when the stage closes, so no stray timer outlives its use.
func (s *requestRun) waitStage() {
	var (
		timer       workflow.Future
		cancelTimer workflow.CancelFunc
		timerAt     time.Time
	)
	defer func() {
		if cancelTimer != nil {
			cancelTimer()
		}
	}()
	for s.req.Current() != nil {
		s.sync()
		wake, _ := s.req.NextWake()
		if timer == nil || !wake.Equal(timerAt) {
			if cancelTimer != nil {
				cancelTimer()
			}
			var tctx workflow.Context
			tctx, cancelTimer = workflow.WithCancel(s.ctx)
			timer = workflow.NewTimerWithOptions(tctx, wake.Sub(workflow.Now(s.ctx)), workflow.TimerOptions{Summary: s.timerSummary(wake)})
			timerAt = wake
		}
		seen := s.version
		s.await(func() bool { return timer.IsReady() || s.version != seen || s.rosterStale })
		if s.req.Current() == nil {
			return
		}
		if s.rosterStale {
			s.refreshRoster()
		}
		if timer.IsReady() {
			fired := timer.Get(s.ctx, nil) == nil
			timer, cancelTimer = nil, nil
			if fired {
				s.tick()
			}
		}
	}
}

// timerSummary names what a stage timer waits for, for the Web UI.
func (s *requestRun) timerSummary(wake time.Time) string {
	st := s.req.Current()
	what := "deadline"
	if st.NextReminder != nil && wake.Equal(*st.NextReminder) {
		what = "next reminder"
	}
	return fmt.Sprintf("stage %d (%s): %s", s.req.CurrentStage+1, st.Name, what)
}

// tick applies the timed rules: a reminder to the approvers who have not
// decided, or expiry at the deadline.
func (s *requestRun) tick() {
	stage := s.req.CurrentStage
	remind, expired := s.req.Tick(workflow.Now(s.ctx))
	switch {
	case expired:
		s.changed()
		s.notify(notify.KindExpired, []string{s.req.Requester}, stage, 0)
	case len(remind) > 0:
		s.changed()
		s.notify(notify.KindReminder, remind, stage, s.req.Stages[stage].RemindersSent)
	}
}

func (s *requestRun) resolveRoster(stage int) (approval.Roster, bool) {
	var teamID *int64
	if t := s.req.Stages[stage].ApproverTeam; t != nil {
		id := t.ID
		teamID = &id
	}
	opts := storeActivityOptions
	opts.Summary = fmt.Sprintf("approvers of stage %d (%s)", stage+1, s.req.Stages[stage].Name)
	ctx := workflow.WithActivityOptions(s.ctx, opts)
	var roster approval.Roster
	fut := workflow.ExecuteActivity(ctx, a.ResolveRoster, activities.RosterInput{OrganizationID: s.in.Organization.ID, TeamID: teamID})
	s.await(fut.IsReady)
	if s.canceled {
		return roster, false
	}
	if err := fut.Get(ctx, &roster); err != nil {
		// Only cancellation ends the retries of this activity.
		s.logger.Warn("resolving approvers failed", "error", err)
		return roster, false
	}
	return roster, true
}

// refreshRoster re-resolves who may decide the open stage after a
// refresh_approvers signal.
func (s *requestRun) refreshRoster() {
	s.rosterStale = false
	stage := s.req.CurrentStage
	roster, ok := s.resolveRoster(stage)
	if !ok || s.req.CurrentStage != stage || s.req.Current() == nil {
		return
	}
	s.req.SetRoster(roster, workflow.Now(s.ctx))
	s.changed()
}

// await blocks until cond holds. If the workflow is canceled meanwhile, the
// request is canceled (or its job is, once launched) and await returns so
// the caller re-checks the state.
func (s *requestRun) await(cond func() bool) {
	if err := workflow.Await(s.ctx, cond); err != nil {
		s.onWorkflowCanceled()
	}
}

func (s *requestRun) onWorkflowCanceled() {
	if s.canceled {
		return
	}
	s.canceled = true
	s.ctx, _ = workflow.NewDisconnectedContext(s.ctx)
	before := s.req.EligibleApprovers
	eff := s.req.Abort(operator, "the request's workflow was canceled", workflow.Now(s.ctx))
	s.afterAction(eff, before)
}

// changed marks the request as changed since the last publication.
func (s *requestRun) changed() { s.version++ }

// notify queues a notification; the next publication delivers it.
func (s *requestRun) notify(kind notify.Kind, recipients []string, stage, seq int) {
	if len(recipients) == 0 {
		return
	}
	s.events = append(s.events, activities.Event{Kind: kind, Recipients: recipients, Stage: stage, Seq: seq})
}

func (s *requestRun) finish() (Result, error) {
	s.sync()
	ctx, _ := workflow.NewDisconnectedContext(s.ctx)
	_ = workflow.Await(ctx, func() bool {
		return !s.publishing && s.published >= s.wantPublished && workflow.AllHandlersFinished(ctx)
	})
	res := Result{Status: s.req.Status, Job: s.req.Job, FailureReason: s.req.FailureReason}
	if s.canceled {
		return res, temporal.NewCanceledError(res)
	}
	return res, nil
}

// Activity options. Store activities retry until they succeed: PostgreSQL
// being down delays a request, it never fails it.
var storeActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}
