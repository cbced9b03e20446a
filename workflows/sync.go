package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
)

// publishOptions: a publication retries until PostgreSQL takes it; newer
// states coalesce meanwhile, so a long outage costs one retrying activity,
// not one per transition.
func publishOptions(in activities.PublishInput) workflow.ActivityOptions {
	opts := storeActivityOptions
	opts.Summary = fmt.Sprintf("publish %s (seq %d)", in.Request.Status, in.Seq)
	for _, ev := range in.Events {
		opts.Summary += ", notify " + string(ev.Kind)
	}
	return opts
}

// sync brings the outside world up to date at a point where the request
// waits: the search attributes and Web UI details at once, the projection
// and notifications through the publisher. Transitions between two such
// points are published together.
func (s *requestRun) sync() {
	s.noticeUnreachable()
	s.upsertSearchAttributes()
	workflow.SetCurrentDetails(s.ctx, s.details())
	if s.version > s.wantPublished && (len(s.events) > 0 || !s.recordedByAPI()) {
		s.wantPublished = s.version
	}
}

// noticeUnreachable tells the organization's admins, once per stage, that
// the open stage cannot be completed. It runs where the request waits, so
// the notice goes out with the publication of the state that says why,
// and a verdict that held only in the middle of a change is never sent.
// It adds an event to a publication that happens anyway, never a command.
func (s *requestRun) noticeUnreachable() {
	st := s.req.Current()
	if st == nil || st.Unreachable == nil || s.unreachableNoticed[s.req.CurrentStage] {
		return
	}
	s.unreachableNoticed[s.req.CurrentStage] = true
	s.notify(notify.KindUnreachable, s.req.Admins(), s.req.CurrentStage, 0)
}

// startPublisher runs the coroutine that writes the request's state to
// PostgreSQL and delivers its notifications, one publication at a time and
// in order. It runs on a disconnected context: the last state of a canceled
// request must still be written.
func (s *requestRun) startPublisher() {
	ctx, _ := workflow.NewDisconnectedContext(s.ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			_ = workflow.Await(ctx, func() bool { return s.wantPublished > s.published })
			in := activities.PublishInput{Seq: s.req.Seq, Request: *s.req, Events: s.events}
			if s.recorded >= s.shown {
				in.NotifyOnly, in.Request = true, notificationView(s.req, s.events)
			} else {
				s.recorded = in.Seq
			}
			s.events = nil
			s.publishing = true
			var err error
			if s.publishesLocally() {
				err = s.publishLocally(ctx, in)
			} else {
				err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, publishOptions(in)), a.Publish, in).Get(ctx, nil)
			}
			s.publishing = false
			if err != nil {
				s.logger.Error("publishing the request's state failed", "seq", in.Seq, "error", err)
			}
			s.published = in.Seq
		}
	})
}

// publishesLocally reports whether publications run as local activities
// first (RevisionLocalPublish).
func (s *requestRun) publishesLocally() bool { return s.in.Revision >= RevisionLocalPublish }

// publishLocally publishes in through the local activity PublishLocally,
// which costs the server no activity task and the workflow no task of
// its own to hear of the result; what it could not do (recording, or
// some deliveries) goes to the Publish activity, which retries until it
// is done as every publication did before.
func (s *requestRun) publishLocally(ctx workflow.Context, in activities.PublishInput) error {
	// A local activity is handed its input as it is, not a serialized
	// copy: the request's stages must not change under it.
	in = in.Clone()
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		Summary:             publishOptions(in).Summary,
		StartToCloseTimeout: localPublishTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var out activities.PublishOutcome
	err := workflow.ExecuteLocalActivity(lctx, a.PublishLocally, in).Get(ctx, &out)
	switch {
	case err != nil:
		s.logger.Warn("publishing locally failed; publishing through an activity", "seq", in.Seq, "error", err)
	case !out.Pending:
		return nil
	case in.NotifyOnly:
		in.Delivered = out.Delivered
	default:
		in.NotifyOnly, in.Request, in.Delivered = true, notificationView(&in.Request, in.Events), out.Delivered
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, publishOptions(in)), a.Publish, in).Get(ctx, nil)
}

// localPublishTimeout bounds a local publication, well within a workflow
// task's timeout: a slow receiver's notification is left to the activity.
const localPublishTimeout = 5 * time.Second

// notificationView is the part of the request that the notifications of
// events need (see activities' notification): who asked for what, its
// status and outcome, and the name, deadline and progress of the stages
// the events are about. A publication that only notifies carries it
// instead of the whole state, so that reminders, which come by the clock,
// add little to the history however large the request grew (comments,
// responses, refused signals, stage texts).
func notificationView(r *approval.Request, events []activities.Event) approval.Request {
	v := approval.Request{
		ID: r.ID, Organization: r.Organization, CatalogItem: r.CatalogItem, Requester: r.Requester,
		Justification: r.Justification, Status: r.Status, CurrentStage: r.CurrentStage,
		Stages: make([]approval.StageState, len(r.Stages)), Denial: r.Denial, ChangesRequested: r.ChangesRequested, Cancellation: r.Cancellation,
		Job: r.Job, FailureReason: r.FailureReason, Created: r.Created, Modified: r.Modified, Finished: r.Finished, Seq: r.Seq,
	}
	for _, ev := range events {
		if ev.Stage < 0 || ev.Stage >= len(r.Stages) {
			continue
		}
		st := r.Stages[ev.Stage]
		v.Stages[ev.Stage] = approval.StageState{
			Stage:  approval.Stage{Name: st.Name, Order: st.Order, ApproverTeam: st.ApproverTeam, MinApprovers: st.MinApprovers},
			Status: st.Status, OpenedAt: st.OpenedAt, Deadline: st.Deadline, NextReminder: st.NextReminder,
			RemindersSent: st.RemindersSent, Approvals: st.Approvals,
		}
		if ev.Kind == notify.KindUnreachable {
			v.Stages[ev.Stage].Unreachable = st.Unreachable
		}
	}
	return v
}

// searchAttrState remembers what was last upserted, so unchanged values
// cost nothing.
type searchAttrState struct {
	done             bool
	status           approval.Status
	pendingApprovers []string
}

func (s *requestRun) upsertSearchAttributes() {
	pending := s.req.EligibleApprovers
	if pending == nil {
		pending = []string{}
	}
	var updates []temporal.SearchAttributeUpdate
	if !s.searchAttrs.done {
		updates = append(updates,
			RequesterKey.ValueSet(s.in.Requester),
			CatalogItemKey.ValueSet(s.in.CatalogItem.Name),
			OrganizationKey.ValueSet(s.in.Organization.Name))
	}
	if !s.searchAttrs.done || s.searchAttrs.status != s.req.Status {
		updates = append(updates, RequestStatusKey.ValueSet(string(s.req.Status)))
	}
	if !s.searchAttrs.done || !slices.Equal(s.searchAttrs.pendingApprovers, pending) {
		updates = append(updates, PendingApproversKey.ValueSet(pending))
	}
	if len(updates) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(s.ctx, updates...); err != nil {
		s.logger.Error("upserting search attributes failed", "error", err)
		return
	}
	s.searchAttrs = searchAttrState{done: true, status: s.req.Status, pendingApprovers: slices.Clone(pending)}
}

// details is the one-paragraph summary the Temporal Web UI shows for the
// request.
func (s *requestRun) details() string {
	r := s.req
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** for %s, requested by %s: **%s**", r.CatalogItem.Name, r.Organization.Name, r.Requester, r.Status)
	if st := r.Current(); st != nil {
		fmt.Fprintf(&b, "\n\nStage %d of %d (%s): %d of %d approvals, deadline %s.",
			r.CurrentStage+1, len(r.Stages), st.Name, st.Approvals, st.MinApprovers, st.Deadline.UTC().Format(time.RFC3339))
		if len(r.EligibleApprovers) > 0 {
			fmt.Fprintf(&b, " Waiting for: %s.", strings.Join(r.EligibleApprovers, ", "))
		}
		if st.Extended > 0 {
			fmt.Fprintf(&b, " Deadline extended by %s.", approval.ShortDuration(st.Extended.Std()))
		}
		if len(st.Escalated) > 0 {
			teams := make([]string, len(st.Escalated))
			for i, e := range st.Escalated {
				teams[i] = e.ApproverTeam.Name
			}
			fmt.Fprintf(&b, " Escalated to team %s.", strings.Join(teams, ", "))
		}
		if st.Unreachable != nil {
			fmt.Fprintf(&b, " **This stage cannot be completed**: %s.", st.Unreachable.Reason)
		}
	}
	if decisions := decisionsSummary(r); decisions != "" {
		fmt.Fprintf(&b, "\n\nDecisions: %s.", decisions)
	}
	if r.Job != nil {
		fmt.Fprintf(&b, "\n\nAWX %s %d: %s (%s)", r.Job.Type, r.Job.ID, r.Job.Status, r.Job.URL)
	}
	if r.Denial != nil {
		fmt.Fprintf(&b, "\n\nRejected by %s: %s", r.Denial.User, r.Denial.Reason)
	}
	if r.ChangesRequested != nil {
		fmt.Fprintf(&b, "\n\nChanges requested by %s: %s", r.ChangesRequested.User, r.ChangesRequested.Reason)
	}
	if r.FailureReason != "" {
		fmt.Fprintf(&b, "\n\nFailure: %s", r.FailureReason)
	}
	return b.String()
}

// decisionsSummary lists who decided and through which channel, e.g. "bob
// approved via portal, carol approved via cli (unverified)".
func decisionsSummary(r *approval.Request) string {
	var parts []string
	for _, st := range r.Stages {
		for _, resp := range st.Responses {
			part := resp.User
			if resp.OnBehalfOf != "" {
				part += " on behalf of " + resp.OnBehalfOf
			}
			part += " " + map[approval.Decision]string{approval.DecisionApprove: "approved", approval.DecisionReject: "rejected",
				approval.DecisionRequestChanges: "requested changes"}[resp.Decision]
			if resp.Channel != "" {
				part += " via " + resp.Channel
			}
			if resp.Unverified {
				part += " (unverified)"
			}
			parts = append(parts, part)
		}
	}
	return strings.Join(parts, ", ")
}
