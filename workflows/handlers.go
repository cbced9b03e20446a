package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
)

// setup registers the query, the updates and the signals, and starts the
// publisher. Handlers only validate and record state changes; the main flow
// and the publisher act on them.
func (s *requestRun) setup() error {
	if err := workflow.SetQueryHandlerWithOptions(s.ctx, StateQuery,
		func() (approval.Request, error) { return *s.req, nil },
		workflow.QueryHandlerOptions{Description: "The request as the API shows it: status, stages, responses, eligible approvers, deadlines, job."},
	); err != nil {
		return err
	}
	updates := []struct {
		name    string
		handler any
		check   any
		about   string
	}{
		{Approve, func(ctx workflow.Context, in ApproveInput) (approval.Request, error) {
			return s.handleUpdate(approval.ActionApprove, in.User, in.Comment)
		}, func(ctx workflow.Context, in ApproveInput) error {
			return s.validate(approval.ActionApprove, in.User, in.Comment)
		}, `Approve the open stage: {"user","comment"}.`},
		{Reject, func(ctx workflow.Context, in RejectInput) (approval.Request, error) {
			return s.handleUpdate(approval.ActionReject, in.User, in.Reason)
		}, func(ctx workflow.Context, in RejectInput) error {
			return s.validate(approval.ActionReject, in.User, in.Reason)
		}, `Reject the request: {"user","reason"}; the reason is required.`},
		{Comment, func(ctx workflow.Context, in CommentInput) (approval.Request, error) {
			return s.handleUpdate(approval.ActionComment, in.User, in.Text)
		}, func(ctx workflow.Context, in CommentInput) error {
			return s.validate(approval.ActionComment, in.User, in.Text)
		}, `Comment on the request: {"user","text"}.`},
		{Cancel, func(ctx workflow.Context, in CancelInput) (approval.Request, error) {
			if err := s.pendingOnly(in); err != nil {
				return approval.Request{}, err
			}
			return s.handleUpdate(approval.ActionCancel, in.User, in.Reason)
		}, func(ctx workflow.Context, in CancelInput) error {
			if err := s.pendingOnly(in); err != nil {
				return err
			}
			return s.validate(approval.ActionCancel, in.User, in.Reason)
		}, `Cancel the request (requester or org admin): {"user","reason"}; with "pending_only": true only while it waits for approval.`},
	}
	for _, u := range updates {
		if err := workflow.SetUpdateHandlerWithOptions(s.ctx, u.name, u.handler,
			workflow.UpdateHandlerOptions{Validator: u.check, Description: u.about}); err != nil {
			return err
		}
	}
	for _, action := range []approval.Action{approval.ActionApprove, approval.ActionReject, approval.ActionComment, approval.ActionCancel} {
		ch := workflow.GetSignalChannel(s.ctx, string(action))
		workflow.Go(s.ctx, func(ctx workflow.Context) {
			for {
				// Raw JSON, so that an unreadable payload is refused with a
				// visible trace instead of being dropped by the SDK.
				var raw json.RawMessage
				if !ch.Receive(ctx, &raw) {
					return
				}
				// A signal sent while workers were down can be read before
				// the stage it is meant for opened; it waits for the stage
				// rather than being refused. (Signals of one name are
				// handled in the order sent; across names the SDK does not
				// keep the order of signals read in one workflow task.)
				_ = workflow.Await(ctx, s.readyForSignals)
				s.handleSignal(action, raw)
			}
		})
	}
	refresh := workflow.GetSignalChannel(s.ctx, RefreshApprovers)
	workflow.Go(s.ctx, func(ctx workflow.Context) {
		for {
			var in RefreshApproversInput
			if !refresh.Receive(ctx, &in) {
				return
			}
			s.rosterWanted++
		}
	})
	s.startPublisher()
	return nil
}

// pendingOnly refuses a cancel meant only for a request that still waits
// for approval once it no longer does.
func (s *requestRun) pendingOnly(in CancelInput) error {
	if !in.PendingOnly || s.req.Status == approval.StatusPendingApproval {
		return nil
	}
	return refusalError(&approval.Refusal{Code: approval.CodeNotPending,
		Message: fmt.Sprintf("request %d is %s; it can no longer be withdrawn", s.req.ID, s.req.Status)})
}

// validate is the update validator: it refuses what the rules refuse, so a
// refused update never reaches history.
func (s *requestRun) validate(action approval.Action, user, text string) error {
	return refusalError(s.req.Check(action, user, text, workflow.Now(s.ctx)))
}

func (s *requestRun) handleUpdate(action approval.Action, user, text string) (approval.Request, error) {
	if err := s.apply(action, user, text); err != nil {
		return approval.Request{}, refusalError(err)
	}
	return *s.req, nil
}

// readyForSignals reports whether signals can be judged: the request is
// finished, or who may act is known and no stage is being opened.
func (s *requestRun) readyForSignals() bool {
	_, opening := s.req.NextStage()
	return s.req.Status.Terminal() || (s.req.RosterResolved && !opening)
}

// actionPayload reads any action's signal payload; which field carries the
// text depends on the action (SPEC 4).
type actionPayload struct {
	User    string `json:"user"`
	Comment string `json:"comment"`
	Reason  string `json:"reason"`
	Text    string `json:"text"`
}

func (p actionPayload) text(action approval.Action) string {
	switch action {
	case approval.ActionApprove:
		return p.Comment
	case approval.ActionComment:
		return p.Text
	}
	return p.Reason
}

func (s *requestRun) handleSignal(action approval.Action, raw json.RawMessage) {
	var p actionPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		s.req.RecordRefusal(action, "", &approval.Refusal{Code: approval.CodeMalformed,
			Message: "the " + string(action) + " signal's payload is not a JSON object such as {\"user\":\"bob\"}"}, workflow.Now(s.ctx))
		return
	}
	if err := s.apply(action, p.User, p.text(action)); err != nil {
		var ref *approval.Refusal
		if errors.As(err, &ref) {
			s.req.RecordRefusal(action, p.User, ref, workflow.Now(s.ctx))
			last := s.req.Refused[len(s.req.Refused)-1]
			s.logger.Warn("signal refused", "action", action, "user", last.User, "code", ref.Code, "reason", last.Message)
		}
	}
}

// apply performs an action through the rules and queues what it causes.
func (s *requestRun) apply(action approval.Action, user, text string) error {
	before := slices.Clone(s.req.EligibleApprovers)
	eff, err := s.req.Apply(action, user, text, workflow.Now(s.ctx))
	if err != nil {
		return err
	}
	s.afterAction(eff, before)
	return nil
}

// afterAction records a change and the notifications an effect causes;
// eligible are the approvers who could decide before the action.
func (s *requestRun) afterAction(eff approval.Effect, eligible []string) {
	s.changed()
	switch {
	case eff.Approved, eff.Rejected:
		s.notify(notify.KindDecided, []string{s.req.Requester}, s.lastStage(), 0)
	case eff.Canceled:
		// Tell the approvers too, so nobody acts on a stale reminder.
		s.notify(notify.KindFinished, append([]string{s.req.Requester}, eligible...), -1, 0)
	}
}

// lastStage is the position of the stage that was decided last.
func (s *requestRun) lastStage() int {
	last := -1
	for i, st := range s.req.Stages {
		if st.DecidedAt != nil {
			last = i
		}
	}
	return last
}

// refusalError turns a rule refusal into an application error whose type is
// the refusal code, so callers can tell "not eligible" from "already
// decided" without parsing messages.
func refusalError(err error) error {
	var ref *approval.Refusal
	if err == nil || !errors.As(err, &ref) {
		return err
	}
	return temporal.NewNonRetryableApplicationError(ref.Message, string(ref.Code), nil, *ref)
}
