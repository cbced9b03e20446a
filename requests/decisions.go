package requests

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// Decide sends approve, reject, request_changes, comment or cancel to request r's workflow
// as a, with text (the comment, reason or text of the action), and answers
// the request's new state. The workflow's rules decide: a refusal is an
// *approval.Refusal (or the application error carrying one, see
// RefusalOf). A refusal of what the call holds is answered with the rules'
// refusal of who sends it when there is one (see WhoActsFirst).
// *Unavailable: the decision was not sent. *InFlight: it was sent but its
// outcome is not known yet.
func (s *Service) Decide(ctx context.Context, a Actor, r store.Request, action approval.Action, text string) (approval.Request, error) {
	return s.send(ctx, a, r, workflows.Decision{RequestID: r.ID, Action: action, User: a.Username, Text: text})
}

// DecideStage is Decide for a decision meant for the stage at position
// stage (approve and reject only), as a mail's link or a Slack button
// names it: the workflow refuses it (stage_not_open) unless that stage is
// the open one, so it never counts for a later stage.
func (s *Service) DecideStage(ctx context.Context, a Actor, r store.Request, action approval.Action, text string, stage int) (approval.Request, error) {
	return s.send(ctx, a, r, workflows.Decision{RequestID: r.ID, Action: action, User: a.Username, Text: text, Stage: &stage})
}

// Extend sends extend to request r's workflow as a: the open stage's
// deadline moves by by, with reason, up to the stage's max_extension in
// all. Refusals and errors as Decide's.
func (s *Service) Extend(ctx context.Context, a Actor, r store.Request, by approval.Duration, reason string) (approval.Request, error) {
	return s.send(ctx, a, r, workflows.Decision{RequestID: r.ID, Action: approval.ActionExtend, User: a.Username, Text: reason, By: by})
}

// Escalate sends escalate to request r's workflow as a: the members of
// team (of r's organization) may then decide the open stage too.
// Refusals and errors as Decide's.
func (s *Service) Escalate(ctx context.Context, a Actor, r store.Request, team int64, reason string) (approval.Request, error) {
	return s.send(ctx, a, r, workflows.Decision{RequestID: r.ID, Action: approval.ActionEscalate, User: a.Username, Text: reason, Team: team})
}

// send sends d, an action of a on r, the one way every action reaches a
// workflow: a decision on the open stage carries a's sign-in time, and a
// refusal of what d holds is answered with the rules' refusal of who
// sends it when there is one (WhoActsFirst).
func (s *Service) send(ctx context.Context, a Actor, r store.Request, d workflows.Decision) (approval.Request, error) {
	if d.Action.Decides() {
		d.SignedInAt = a.SignedInAt
	}
	st, err := s.act(ctx, r, d, a.Channel)
	if ref := RefusalOf(err); ref != nil && InputRefusal(ref) {
		err = s.WhoActsFirst(ctx, a, r.ID, d.Action, err)
	}
	return st, err
}

// WhoActsFirst answers err, a decision refused for what it holds (a body
// that cannot be read, a text the rules refuse), with the rules' refusal
// of who sends it, when there is one, so that who may not act on the
// request is told so whatever the call holds. Who may act is the
// workflow's to judge: the rules run on its live state, with a text they
// accept; when it cannot be asked (no worker), err stands.
func (s *Service) WhoActsFirst(ctx context.Context, a Actor, id int64, action approval.Action, err error) error {
	if alive, aerr := s.workers.workersAlive(ctx); aerr != nil || !alive {
		return err
	}
	st, ok := s.liveState(ctx, id)
	if !ok {
		return err
	}
	if ref := RefusalOf(st.Check(action, a.Username, "-", s.cfg.Now())); ref != nil && ref.Forbidden() {
		return ref
	}
	return err
}

// State is request r's live state from its workflow, or nil when the
// workflow cannot answer (no worker, Temporal down, gone after retention)
// or answers with a state older than the projection's (a workflow that
// stopped before the request was settled without it): then the
// projection is what there is.
func (s *Service) State(ctx context.Context, r store.Request) *approval.Request {
	// Without workers a query would only wait for its timeout.
	if alive, err := s.workers.workersAlive(ctx); err != nil || !alive {
		return nil
	}
	if st, ok := s.liveState(ctx, r.ID); ok && st.Seq >= r.StateSeq {
		return &st
	}
	return nil
}

// Delete removes request r, which a withdraws, if it never launched: only
// pending, rejected, changes_requested, expired and canceled requests
// without a job can go, so that the record of executed automation stays
// (SPEC 5). The
// projection may lag behind the workflow (an approval a moment ago), so a
// request that looks pending is withdrawn by its workflow first, which
// refuses in the same step if it is no longer pending: a request on its
// way to launch is never deleted or canceled by a delete. Every refusal is
// approval.CodeLaunched; *InFlight (Withdrawal) when the withdrawal's
// outcome is not known.
func (s *Service) Delete(ctx context.Context, a Actor, r store.Request) error {
	if err := checkDeletable(r.ID, approval.Status(r.Status), r.Job != nil); err != nil {
		return err
	}
	if r.Status == string(approval.StatusPendingApproval) {
		_, err := s.act(ctx, r, workflows.Decision{RequestID: r.ID, Action: approval.ActionCancel,
			User: a.Username, Text: "the request was deleted", PendingOnly: true}, a.Channel)
		if ref := RefusalOf(err); ref != nil && (ref.Code == approval.CodeFinished || ref.Code == approval.CodeNotPending) {
			// Decided since the projection was read (rejected, expired,
			// canceled or approved): what the workflow says it became
			// decides whether it may go.
			st, ok := s.liveState(ctx, r.ID)
			if !ok {
				err = unavailable("The request's workflow cannot be asked about its state; try again shortly.", nil)
			} else {
				err = checkDeletable(r.ID, st.Status, st.Job != nil)
			}
		}
		if err != nil {
			return err
		}
	}
	if err := s.cfg.Store.DeleteRequest(ctx, r.ID); err != nil {
		if errors.Is(err, store.ErrConflict) {
			err = launched(r.ID, "launched a job meanwhile")
		}
		return err
	}
	return nil
}

// checkDeletable refuses to delete a request that launched, or is on its
// way to launch (approved, running, or with a job).
func checkDeletable(id int64, status approval.Status, hasJob bool) error {
	if deletable(status, hasJob) {
		return nil
	}
	return launched(id, fmt.Sprintf("is %s", status))
}

func deletable(status approval.Status, hasJob bool) bool {
	switch status {
	case approval.StatusPendingApproval, approval.StatusRejected, approval.StatusChangesRequested, approval.StatusExpired,
		approval.StatusCanceled:
		return !hasJob
	}
	return false
}

// launched is the refusal of a delete: the request launched, or will.
func launched(id int64, what string) error {
	return &approval.Refusal{Code: approval.CodeLaunched, Message: fmt.Sprintf(
		"request %d %s; only requests that never launched a job can be deleted, so the record of executed automation stays", id, what)}
}

// RefusalOf is the refusal err carries, or nil: an *approval.Refusal (the
// service's own, or a closed workflow's, see act), or the application
// error a workflow update was rejected with, whose details hold the
// refusal. Every refusal reaches the caller through it, code and all.
func RefusalOf(err error) *approval.Refusal {
	var ref *approval.Refusal
	if errors.As(err, &ref) {
		return ref
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.HasDetails() {
		return nil
	}
	var detail approval.Refusal
	if app.Details(&detail) != nil || detail.Code == "" {
		return nil
	}
	return &approval.Refusal{Code: detail.Code, Message: app.Message()}
}

// InputRefusal reports whether ref is about what the call holds (a text
// missing or too long, an unknown action) rather than about who acts or
// the request's state.
func InputRefusal(ref *approval.Refusal) bool {
	switch ref.Code {
	case approval.CodeUserRequired, approval.CodeUnknownAction, approval.CodeTooLong,
		approval.CodeReasonRequired, approval.CodeTextRequired, approval.CodeMalformed, approval.CodeInvalidDuration,
		approval.CodeTeamRequired, approval.CodeUnknownTeam:
		return true
	}
	return approval.ResubmitInput(ref.Code)
}

// CheckDecision is the rules' refusal of a's action on request r judged
// on the workflow's live state before the action's text is asked for (a
// chat's reason dialog): who may not decide is told so, and so is who
// would be refused for how they signed in (a.SignedInAt). Nil when the
// rules do not refuse, or when the workflow cannot be asked: Decide then
// judges.
func (s *Service) CheckDecision(ctx context.Context, a Actor, r store.Request, action approval.Action) error {
	st := s.State(ctx, r)
	if st == nil {
		return nil
	}
	now := s.cfg.Now()
	if err := st.Check(action, a.Username, "-", now); err != nil {
		return err
	}
	return st.CheckSignIn(action, a.SignedInAt, now)
}
