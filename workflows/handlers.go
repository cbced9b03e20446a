package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/proof"
)

// setup registers the query, the updates and the signals, and starts the
// publisher. Handlers only validate and record state changes; the main flow
// and the publisher act on them.
func (s *requestRun) setup() error {
	if err := errors.Join(
		s.registerStateQuery(),
		registerDecision[ApproveInput](s, Approve, `Approve the open stage: {"user","comment"}.`),
		registerDecision[RejectInput](s, Reject, `Reject the request: {"user","reason"}; the reason is required.`),
		registerDecision[RequestChangesInput](s, RequestChanges, `Ask the requester for changes, ending the request changes_requested: {"user","reason"}; the reason is required.`),
		registerDecision[CommentInput](s, Comment, `Comment on the request: {"user","text"}.`),
		registerDecision[CancelInput](s, Cancel, `Cancel the request (requester or org admin): {"user","reason"}; with "pending_only": true only while it waits for approval.`),
		registerDecision[EscalateInput](s, Escalate, `Escalate the open stage (org admin): {"user","approver_team","reason"}; the team's members may decide it too.`),
		registerDecision[ExtendInput](s, Extend, `Extend the open stage's deadline (org admin or eligible approver): {"user","by","reason"}, by a duration such as "24h", up to the stage's max_extension.`),
	); err != nil {
		return err
	}
	for _, action := range []approval.Action{approval.ActionApprove, approval.ActionReject, approval.ActionComment, approval.ActionCancel,
		approval.ActionRequestChanges, approval.ActionExtend, approval.ActionEscalate} {
		s.receiveDecisions(action)
	}
	s.receiveRefreshApprovers()
	s.startPublisher()
	return nil
}

// registerStateQuery answers the state query with the request as it is.
func (s *requestRun) registerStateQuery() error {
	return workflow.SetQueryHandlerWithOptions(s.ctx, StateQuery,
		func() (approval.Request, error) { return *s.req, nil },
		workflow.QueryHandlerOptions{Description: "The request as the API shows it: status, stages, responses, eligible approvers, deadlines, job."},
	)
}

// receiveDecisions handles the signals of one action, in the order sent.
// A signal sent while workers were down can be read before the stage it
// is meant for opened; it waits for the stage rather than being refused.
// (Across names the SDK does not keep the order of signals read in one
// workflow task.)
func (s *requestRun) receiveDecisions(action approval.Action) {
	ch := workflow.GetSignalChannel(s.ctx, string(action))
	workflow.Go(s.ctx, func(ctx workflow.Context) {
		for {
			// Raw JSON, so that an unreadable payload is refused with a
			// visible trace instead of being dropped by the SDK.
			var raw json.RawMessage
			if !ch.Receive(ctx, &raw) {
				return
			}
			_ = workflow.Await(ctx, s.readyForSignals)
			s.handleSignal(ctx, action, raw)
		}
	})
}

// receiveRefreshApprovers counts refresh_approvers signals; the stage being
// waited on re-resolves its approvers when the count grows (waitStage).
func (s *requestRun) receiveRefreshApprovers() {
	ch := workflow.GetSignalChannel(s.ctx, RefreshApprovers)
	workflow.Go(s.ctx, func(ctx workflow.Context) {
		for {
			var in RefreshApproversInput
			if !ch.Receive(ctx, &in) {
				return
			}
			s.rosterWanted++
		}
	})
}

// registerDecision registers an action's update: its validator refuses
// what the rules or the worker's trust settings refuse, so a refused update
// never reaches history; its handler applies it.
func registerDecision[T interface{ decision() decision }](s *requestRun, name, about string) error {
	return workflow.SetUpdateHandlerWithOptions(s.ctx, name,
		func(ctx workflow.Context, in T) (approval.Request, error) { return s.handleUpdate(ctx, in.decision()) },
		workflow.UpdateHandlerOptions{
			Validator:   func(ctx workflow.Context, in T) error { return s.validate(in.decision()) },
			Description: about,
		})
}

// pendingOnly refuses a cancel meant only for a request that still waits
// for approval once it no longer does.
func (s *requestRun) pendingOnly(d decision) error {
	if !d.pendingOnly || s.req.Status == approval.StatusPendingApproval {
		return nil
	}
	return refusalError(&approval.Refusal{Code: approval.CodeNotPending,
		Message: fmt.Sprintf("request %d is %s; it can no longer be withdrawn", s.req.ID, s.req.Status)})
}

// validate is the update validator. It never runs on replay, which is what
// lets it check the API's proofs with the worker's keys.
func (s *requestRun) validate(d decision) error {
	if err := s.pendingOnly(d); err != nil {
		return err
	}
	now := workflow.Now(s.ctx)
	if ref := s.screen(d, now); ref != nil {
		return refusalError(ref)
	}
	judged := s.judged(d)
	if err := judged.CheckAct(d.Act, now); err != nil {
		return refusalError(err)
	}
	return refusalError(judged.CheckSignIn(d.Action, d.signedIn(), now))
}

func (s *requestRun) handleUpdate(ctx workflow.Context, d decision) (approval.Request, error) {
	via, ref := s.admit(ctx, d, true)
	if ref != nil {
		return approval.Request{}, refusalError(ref)
	}
	// VerifyDecision may have taken a while: the request may have moved on.
	if err := s.pendingOnly(d); err != nil {
		return approval.Request{}, err
	}
	d.Via = via
	if ref := s.prepareEscalation(ctx, &d.Act); ref != nil {
		return approval.Request{}, refusalError(ref)
	}
	if err := s.apply(d.Act); err != nil {
		return approval.Request{}, refusalError(err)
	}
	if d.proof.Service() {
		// The API records the state this update answers with.
		s.apiRecorded = s.version
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
	User    string            `json:"user"`
	Comment string            `json:"comment"`
	Reason  string            `json:"reason"`
	Text    string            `json:"text"`
	By      approval.Duration `json:"by"`
	Team    int64             `json:"approver_team"`
	Proof   *proof.Proof      `json:"proof"`
	// Stage: see ApproveInput.Stage.
	Stage *int `json:"stage"`
}

func (p actionPayload) decision(action approval.Action) decision {
	d := decision{Act: approval.Act{Action: action, User: p.User, Text: p.Reason, By: p.By, Stage: p.Stage}, proof: p.Proof}
	if p.Team > 0 {
		d.Team = &approval.Ref{ID: p.Team}
	}
	switch action {
	case approval.ActionApprove:
		d.Text = p.Comment
	case approval.ActionComment:
		d.Text = p.Text
	}
	return d
}

// handleSignal applies an action's signal, or records why it was refused:
// by the rules (judged first, so a decision the rules refuse costs no
// check of its proof), by the check of who sent it, or by the rules again
// once that check is done.
func (s *requestRun) handleSignal(ctx workflow.Context, action approval.Action, raw json.RawMessage) {
	var p actionPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		s.req.RecordRefusal(action, "", &approval.Refusal{Code: approval.CodeMalformed,
			Message: "the " + string(action) + " signal's payload is not a JSON object such as {\"user\":\"bob\"}"}, workflow.Now(s.ctx))
		return
	}
	d := p.decision(action)
	refused := func(err error) {
		var ref *approval.Refusal
		if errors.As(err, &ref) {
			s.req.RecordRefusal(action, p.User, ref, workflow.Now(s.ctx))
			last := s.req.Refused[len(s.req.Refused)-1]
			s.logger.Warn("signal refused", "action", action, "user", last.User, "code", ref.Code, "reason", last.Message)
		}
	}
	// A signal's sign-in time is nobody's word (see ApproveInput): a stage
	// that requires a recent one refuses it before its proof costs a check.
	if err := s.req.CheckAct(d.Act, workflow.Now(ctx)); err != nil {
		refused(err)
		return
	}
	if err := s.req.CheckSignIn(d.Action, nil, workflow.Now(ctx)); err != nil {
		refused(err)
		return
	}
	via, ref := s.admit(ctx, d, false)
	if ref != nil {
		refused(ref)
		return
	}
	d.Via = via
	if ref := s.prepareEscalation(ctx, &d.Act); ref != nil {
		refused(ref)
		return
	}
	if err := s.apply(d.Act); err != nil {
		refused(err)
	}
}

// prepareEscalation reads what an escalation needs once it was admitted:
// its team, by name, which must be of the request's organization, and who
// may act on the open stage once it is added. Other actions need nothing.
func (s *requestRun) prepareEscalation(ctx workflow.Context, act *approval.Act) *approval.Refusal {
	st := s.req.Current()
	if act.Action != approval.ActionEscalate || act.Team == nil || st == nil {
		return nil
	}
	opts := storeActivityOptions
	opts.Summary = fmt.Sprintf("team %d, to escalate to", act.Team.ID)
	var team *approval.Ref
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.EscalationTeam,
		activities.EscalationTeamInput{OrganizationID: s.in.Organization.ID, TeamID: act.Team.ID}).Get(ctx, &team)
	switch {
	case err != nil:
		return &approval.Refusal{Code: approval.CodeRosterPending, Message: "the team could not be read: " + failureMessage(err)}
	case team == nil:
		return &approval.Refusal{Code: approval.CodeUnknownTeam, Message: fmt.Sprintf("team %d is not a team of organization %s", act.Team.ID, s.in.Organization.Name)}
	}
	stage, teams := s.req.CurrentStage, st.EscalationTeams()
	fut := s.startRoster(ctx, st.ApproverTeam, append(slices.Clone(teams), team.ID),
		fmt.Sprintf("approvers of stage %d (%s) escalated to team %s", stage+1, st.Name, team.Name))
	var roster approval.Roster
	if err := fut.Get(ctx, &roster); err != nil {
		return &approval.Refusal{Code: approval.CodeRosterPending, Message: "who may act could not be resolved: " + failureMessage(err)}
	}
	if st := s.req.Current(); st == nil || s.req.CurrentStage != stage || !slices.Equal(st.EscalationTeams(), teams) {
		// The stage closed, or was escalated to another team meanwhile:
		// the roster read misses its members.
		return &approval.Refusal{Code: approval.CodeRosterPending, Message: fmt.Sprintf(
			"stage %d of request %d changed while who may act was being resolved; try again in a moment", stage+1, s.req.ID)}
	}
	act.Team, act.Roster = team, &roster
	return nil
}

// apply performs an action through the rules and queues what it causes.
func (s *requestRun) apply(act approval.Act) error {
	before := slices.Clone(s.req.EligibleApprovers)
	eff, err := s.req.Apply(act, workflow.Now(s.ctx))
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
	case eff.ChangesRequested:
		s.notify(notify.KindChangesRequested, []string{s.req.Requester}, s.lastStage(), 0)
	case eff.Canceled:
		// Tell the approvers too, so nobody acts on a stale reminder.
		s.notify(notify.KindFinished, append([]string{s.req.Requester}, eligible...), -1, 0)
	case len(eff.Escalated) > 0:
		stage := s.req.CurrentStage
		s.notify(notify.KindPending, eff.Escalated, stage, len(s.req.Stages[stage].Escalated))
	case eff.Extended:
		stage := s.req.CurrentStage
		s.notify(notify.KindExtended, append([]string{s.req.Requester}, s.req.EligibleApprovers...), stage, len(s.req.Stages[stage].Extensions))
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
