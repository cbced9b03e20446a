package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
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
// Workers register it through a Guard (Guard.ServiceRequest).
func serviceRequest(ctx workflow.Context, in Input, guard Guard) (Result, error) {
	if err := in.validate(); err != nil {
		return Result{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	s := newRequestRun(ctx, in, guard)
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

	// version grows with every change; wantPublished is the version the
	// main flow asked to publish and published the last one the publisher
	// wrote. shown is the version of the last change the projection shows
	// (reminders change nothing it shows) and recorded the last version
	// written to it.
	version       int64
	wantPublished int64
	published     int64
	shown         int64
	recorded      int64
	publishing    bool
	events        []activities.Event
	// apiRecorded is the version of the last change made by a decision
	// through the API, which the API records itself (RevisionLean).
	apiRecorded int64

	// rosterWanted counts refresh_approvers signals; rosterAsked is the
	// count when the roster was last resolved, so a refresh that arrives
	// while a stage opens is not lost.
	rosterWanted int
	rosterAsked  int
	canceled     bool
	searchAttrs  searchAttrState
	// unreachableNoticed are the stages whose admins were told that the
	// stage cannot be completed; each is told once.
	unreachableNoticed map[int]bool

	// guard is the worker's trust settings, for update validators only;
	// usedProofs are the proofs of decisions seen, by signature, with
	// their issue times.
	guard      Guard
	usedProofs map[string]time.Time
}

func newRequestRun(ctx workflow.Context, in Input, guard Guard) *requestRun {
	// With the roster from submission the first stage is open before the
	// handlers are registered: a decision sent the moment the start was
	// answered arrives with the first workflow task and finds it open.
	req := in.Starting(workflow.Now(ctx))
	run := &requestRun{
		ctx:        ctx,
		in:         in,
		settings:   in.Settings.withDefaults(),
		req:        req,
		logger:     workflow.GetLogger(ctx),
		version:    1,
		guard:      guard,
		usedProofs: map[string]time.Time{},
		shown:      1,

		unreachableNoticed: map[int]bool{},
	}
	run.req.Seq = run.version
	if in.Roster != nil {
		// The start set every search attribute as the request starts
		// (StartOptions): the first sync has nothing to upsert.
		pending := slices.Clone(req.EligibleApprovers)
		if pending == nil {
			pending = []string{}
		}
		run.searchAttrs = searchAttrState{done: true, status: approval.StatusPendingApproval, pendingApprovers: pending}
	}
	return run
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
	case !in.Template.Kind.Valid():
		return fmt.Errorf("template.kind must be %q or %q", awx.JobTemplate, awx.WorkflowJobTemplate)
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
	switch {
	case s.in.Roster != nil:
		// Opened with the roster from submission (newRequestRun).
		s.changed()
		if s.req.Current() != nil {
			s.notify(notify.KindPending, s.req.EligibleApprovers, s.req.CurrentStage, 0)
			s.waitStage()
		}
	case s.req.Status == approval.StatusApproved:
		// No stages: the org admins may still cancel or comment.
		if roster, ok := s.resolveRoster(nil, "organization admins"); ok {
			s.req.SetRoster(roster, workflow.Now(s.ctx))
			s.changed()
		}
	}
	for s.req.Status == approval.StatusPendingApproval {
		i, ok := s.req.NextStage()
		if !ok {
			break
		}
		roster, ok := s.resolveRoster(s.req.Stages[i].ApproverTeam, fmt.Sprintf("approvers of stage %d (%s)", i+1, s.req.Stages[i].Name))
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

// await blocks until cond holds. If the workflow is canceled meanwhile, the
// request is canceled (or its job is, once launched) and await returns so
// the caller re-checks the state.
func (s *requestRun) await(cond func() bool) {
	// The condition may hold because cancellation itself readied a future
	// (a timer, an activity) on the workflow's context, so the context is
	// checked whatever Await returns.
	if err := workflow.Await(s.ctx, cond); err != nil || s.ctx.Err() != nil {
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
func (s *requestRun) changed() {
	s.version++
	s.req.Seq = s.version
	s.shown = s.version
}

// lean reports whether the request shares publishing with the API
// (RevisionLean).
func (s *requestRun) lean() bool { return s.in.Revision >= RevisionLean }

// recordedByAPI reports whether the latest change is one the API records
// itself: then, with nothing to notify, it needs no publication.
func (s *requestRun) recordedByAPI() bool { return s.lean() && s.version == s.apiRecorded }

// reminded marks a change the projection does not show (a reminder went
// out): the next publication, if nothing else changed meanwhile, only
// delivers the notifications.
func (s *requestRun) reminded() {
	s.version++
	s.req.Seq = s.version
}

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
