package approval

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Action is something a person does to a request.
type Action string

// Actions, named as the workflow's updates and signals (SPEC 4).
const (
	ActionApprove Action = "approve"
	ActionReject  Action = "reject"
	ActionComment Action = "comment"
	ActionCancel  Action = "cancel"
	// ActionRequestChanges ends the request asking its requester for
	// changes: allowed to whoever may reject, with a reason.
	ActionRequestChanges Action = "request_changes"
	// ActionExtend extends the open stage's deadline (Act.By).
	ActionExtend Action = "extend"
)

// Valid reports whether a is a known action.
func (a Action) Valid() bool {
	switch a {
	case ActionApprove, ActionReject, ActionComment, ActionCancel, ActionRequestChanges, ActionExtend, ActionEscalate:
		return true
	}
	return false
}

// Code is the stable, machine-readable reason an action was refused.
type Code string

// Refusal codes. NotEligible and NotAllowed mean the person may not act on
// this request at all; the others mean the action conflicts with its state.
const (
	CodeUserRequired    Code = "user_required"
	CodeUnknownAction   Code = "unknown_action"
	CodeFinished        Code = "request_finished"
	CodeNotPending      Code = "not_pending"
	CodeStageNotOpen    Code = "stage_not_open"
	CodeSelfDecision    Code = "self_decision"
	CodeAlreadyDecided  Code = "already_decided"
	CodeNotEligible     Code = "not_eligible"
	CodeNotAllowed      Code = "not_allowed"
	CodeReasonRequired  Code = "reason_required"
	CodeTextRequired    Code = "text_required"
	CodeTooLong         Code = "too_long"
	CodeCancelRequested Code = "cancel_requested"
	CodeTooManyComments Code = "too_many_comments"
	// CodeDeadlinePassed: the open stage's deadline passed; it is expiring.
	CodeDeadlinePassed Code = "deadline_passed"
	// CodeRosterPending: who may act is still being resolved.
	CodeRosterPending Code = "roster_pending"
	// CodeMalformed: a signal whose payload could not be read.
	CodeMalformed Code = "malformed_payload"
	// CodeLaunched: the request is approved, running or launched a job, so
	// it cannot be deleted and the record of executed automation stays. The
	// API's deletions answer it; no workflow action does.
	CodeLaunched Code = "request_launched"
	// Refusals of decisions sent through Temporal rather than the API
	// (package proof): no proof where one is required, a proof that does
	// not verify, one too old (or from the future), one already used, and
	// such decisions turned off altogether.
	CodeProofRequired        Code = "proof_required"
	CodeProofInvalid         Code = "proof_invalid"
	CodeProofExpired         Code = "proof_expired"
	CodeProofReused          Code = "proof_reused"
	CodeTemporalDecisionsOff Code = "temporal_decisions_off"
	// CodeRecentLoginRequired: the open stage requires a recent sign-in
	// (Stage.RequireRecentLogin) and the decider's is older, or unknown
	// (an API token, the temporal CLI).
	CodeRecentLoginRequired Code = "recent_login_required"
)

// Bounds on what one request holds. Every update answers with the whole
// request and every publication carries it, so its size multiplies into the
// workflow's history; these keep even a worst case far from Temporal's
// limits (2 MB per payload, 50 MB per history).
const (
	// MaxTextLength bounds comments and reasons, in bytes of UTF-8.
	MaxTextLength = 2000
	// MaxComments bounds the comments of one request.
	MaxComments = 50
	// MaxUserLength bounds a user name, in bytes.
	MaxUserLength = 150
	// MaxRefusalMessage bounds the message kept with a refused signal, in
	// bytes.
	MaxRefusalMessage = 1000
)

// CutMarker ends a string that Cut shortened.
const CutMarker = "…"

// Cut returns s as valid UTF-8 of at most limit bytes (limit >= 3): s itself when it fits,
// else its longest prefix that fits on a character boundary followed by
// CutMarker.
func Cut(s string, limit int) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	if len(s) <= limit {
		return s
	}
	end := max(limit-len(CutMarker), 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + CutMarker
}

// Refusal is why an action was refused: a stable Code for programs and a
// Message for people. Every refusal leaves the request unchanged.
type Refusal struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (r *Refusal) Error() string { return r.Message }

// Forbidden reports whether the refusal is about who acts rather than about
// the request's state (an HTTP API answers 403 rather than 409).
func (r *Refusal) Forbidden() bool {
	switch r.Code {
	case CodeNotEligible, CodeNotAllowed, CodeSelfDecision,
		CodeProofRequired, CodeProofInvalid, CodeProofExpired, CodeProofReused, CodeTemporalDecisionsOff,
		CodeRecentLoginRequired, CodeLinkInvalid, CodeLinkForwarded:
		return true
	}
	return false
}

func refuse(code Code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Effect is what an accepted action changed.
type Effect struct {
	// StageApproved: the open stage reached its quorum and closed.
	StageApproved bool
	// Approved: the last stage closed; the request is approved.
	Approved bool
	// Rejected: the request was rejected (terminal).
	Rejected bool
	// ChangesRequested: an approver asked for changes (terminal).
	ChangesRequested bool
	// Canceled: the request was canceled before launch (terminal).
	Canceled bool
	// CancelRequested: the request was approved or running; its AWX job must
	// be canceled and the request ends with the job's outcome.
	CancelRequested bool
	// Extended: the open stage's deadline moved.
	Extended bool
	// Escalated lists who may decide the open stage since it was
	// escalated and could not before.
	Escalated []string
}

// Check tells whether user may perform action with text (the approval
// comment, rejection reason, comment text or cancel reason) at now. It
// returns nil or a *Refusal and never changes the request, so update
// validators can call it.
func (r *Request) Check(action Action, user, text string, now time.Time) error {
	if strings.TrimSpace(user) == "" {
		return refuse(CodeUserRequired, "a user is required")
	}
	if len(user) > MaxUserLength {
		return refuse(CodeTooLong, "user names are at most %d bytes", MaxUserLength)
	}
	if len(text) > MaxTextLength {
		return refuse(CodeTooLong, "text is longer than %d bytes", MaxTextLength)
	}
	if r.Status.Terminal() {
		return refuse(CodeFinished, "request %d is already %s; it accepts no more actions", r.ID, r.Status)
	}
	if action.Valid() && !action.Decides() && user != r.Requester && !r.RosterResolved {
		return refuse(CodeRosterPending, "who may act on request %d is being resolved; try again in a moment", r.ID)
	}
	switch action {
	case ActionApprove:
		return r.checkDecision(user, now)
	case ActionReject, ActionRequestChanges:
		if err := r.checkDecision(user, now); err != nil {
			return err
		}
		if strings.TrimSpace(text) == "" {
			return refuse(CodeReasonRequired, "%s", reasonRequired[action])
		}
		return nil
	case ActionComment:
		if strings.TrimSpace(text) == "" {
			return refuse(CodeTextRequired, "a comment needs text")
		}
		if !r.mayComment(user, now) {
			return refuse(CodeNotAllowed, "%s may not comment on request %d: only its requester, its approvers and the organization's admins may", user, r.ID)
		}
		if len(r.Comments) >= MaxComments {
			return refuse(CodeTooManyComments, "request %d already has %d comments, the most it can take", r.ID, MaxComments)
		}
		return nil
	case ActionCancel:
		if !r.mayCancel(user) {
			return refuse(CodeNotAllowed, "%s may not cancel request %d: only its requester and the organization's admins may", user, r.ID)
		}
		if r.Cancellation != nil {
			return refuse(CodeCancelRequested, "cancellation of request %d was already requested by %s", r.ID, r.Cancellation.User)
		}
		return nil
	case ActionExtend:
		return r.checkExtend(user, now)
	case ActionEscalate:
		return r.checkEscalate(user, now)
	}
	return refuse(CodeUnknownAction, "unknown action %q", action)
}

// reasonRequired says what a decision that needs a reason lacks without one.
var reasonRequired = map[Action]string{
	ActionReject:         "a rejection needs a reason",
	ActionRequestChanges: "a request for changes needs a reason: what should change",
}

// Decides reports whether a is a decision on the open stage: approve,
// reject or request_changes.
func (a Action) Decides() bool {
	return a == ActionApprove || a == ActionReject || a == ActionRequestChanges
}

// stageOpenAt is the open stage if the request waits for approval and the
// stage's deadline has not passed at now; otherwise the refusal, whose
// not_pending message ends with closed (what can no longer happen).
func (r *Request) stageOpenAt(now time.Time, closed string) (*StageState, error) {
	if r.Status != StatusPendingApproval {
		return nil, refuse(CodeNotPending, "request %d is %s; %s", r.ID, r.Status, closed)
	}
	st := r.Current()
	if st == nil {
		return nil, refuse(CodeStageNotOpen, "request %d has no stage open right now; try again in a moment", r.ID)
	}
	if !now.Before(*st.Deadline) {
		return nil, refuse(CodeDeadlinePassed, "stage %d (%s) of request %d passed its deadline at %s; the request is expiring",
			r.CurrentStage+1, st.Name, r.ID, st.Deadline.UTC().Format(time.RFC3339))
	}
	return st, nil
}

func (r *Request) checkDecision(user string, now time.Time) error {
	st, err := r.stageOpenAt(now, "approvals are closed")
	if err != nil {
		return err
	}
	if user == r.Requester {
		return refuse(CodeSelfDecision, "%s requested %d and cannot decide on their own request", user, r.ID)
	}
	if i, resp, ok := r.decisionOf(user); ok {
		if resp.User != user {
			return refuse(CodeAlreadyDecided, "%s already %s stage %d (%s) of request %d on behalf of %s; a user decides at most once per request",
				resp.User, pastTense(resp.Decision), i+1, r.Stages[i].Name, r.ID, user)
		}
		return refuse(CodeAlreadyDecided, "%s already %s stage %d (%s) of request %d; a user decides at most once per request",
			user, pastTense(resp.Decision), i+1, r.Stages[i].Name, r.ID)
	}
	if _, ok := r.onBehalfOf(st, user, now); !ok {
		if used := r.usedDelegations(st, user, now); len(used) > 0 {
			return refuse(CodeAlreadyDecided, "%s may decide request %d only on behalf of %s, who already decided it (or someone did on their behalf)",
				user, r.ID, strings.Join(used, ", "))
		}
		if st.ApproverTeam != nil {
			return refuse(CodeNotEligible, "%s may not decide stage %d (%s) of request %d: only members of team %s and superusers may",
				user, r.CurrentStage+1, st.Name, r.ID, st.ApproverTeam.Name)
		}
		return refuse(CodeNotEligible, "%s may not decide stage %d (%s) of request %d: only the organization's admins and superusers may",
			user, r.CurrentStage+1, st.Name, r.ID)
	}
	return nil
}

// CheckSignIn tells whether an approval or rejection whose user signed in
// at signedInAt (nil: not interactively, as with an API token or the
// temporal CLI) is recent enough for the open stage at now. Other actions,
// and stages without RequireRecentLogin, pass. It is a rule of its own,
// after Check, so that who may not decide at all is told so first, and
// so that capabilities (judged without a sign-in) still offer the
// decision the portal then asks to sign in again for.
func (r *Request) CheckSignIn(action Action, signedInAt *time.Time, now time.Time) error {
	st := r.Current()
	if !action.Decides() || st == nil || st.RequireRecentLogin <= 0 {
		return nil
	}
	if signedInAt != nil && now.Sub(*signedInAt) <= st.RequireRecentLogin.Std() {
		return nil
	}
	how := "this decision did not come from an interactive sign-in"
	if signedInAt != nil {
		how = "the last sign-in was at " + signedInAt.UTC().Format(time.RFC3339)
	}
	return refuse(CodeRecentLoginRequired, "stage %d (%s) of request %d needs a sign-in within the last %s and %s: sign in again in the portal and decide there",
		r.CurrentStage+1, st.Name, r.ID, st.RequireRecentLogin, how)
}

func pastTense(d Decision) string {
	switch d {
	case DecisionReject:
		return "rejected"
	case DecisionRequestChanges:
		return "requested changes on"
	}
	return "approved"
}

// mayDecideOwn reports whether user may decide st in their own right.
func (r *Request) mayDecideOwn(st *StageState, user string) bool {
	return slices.Contains(r.stageApprovers(st), user) || slices.Contains(r.Roster.Superusers, user)
}

func (r *Request) isAdmin(user string) bool {
	return slices.Contains(r.Roster.OrgAdmins, user) || slices.Contains(r.Roster.Superusers, user)
}

func (r *Request) mayComment(user string, now time.Time) bool {
	if user == r.Requester || r.isAdmin(user) || r.hasDecided(user) {
		return true
	}
	st := r.Current()
	if st == nil {
		return false
	}
	_, ok := r.onBehalfOf(st, user, now)
	return ok
}

func (r *Request) mayCancel(user string) bool {
	return user == r.Requester || r.isAdmin(user)
}

// Act is one person's action on a request: what, by whom, with which text
// (the approval comment, rejection reason, comment text or cancel reason),
// and how it arrived, which the request records beside it.
type Act struct {
	Action Action
	User   string
	Text   string
	Via    Via
	// By is how much an extension moves the deadline.
	By Duration
	// Team is the team an escalation adds, and Roster who may act once it
	// is added (its members in Escalated); Apply refuses an escalation
	// without a Roster.
	Team   *Ref
	Roster *Roster
	// Stage, when set, is the position of the stage the act is meant for
	// (a mail's decision link names one): it is refused unless that stage
	// is the open one, so it never decides a stage opened since.
	Stage *int
}

// CheckAct is Check of act, with what only some actions carry (an
// extension's By, the stage an act is meant for).
func (r *Request) CheckAct(act Act, now time.Time) error {
	if err := r.Check(act.Action, act.User, act.Text, now); err != nil {
		return err
	}
	if act.Stage != nil && (r.Current() == nil || r.CurrentStage != *act.Stage) {
		return refuse(CodeStageNotOpen, "stage %d of request %d, which the decision was meant for, is no longer open", *act.Stage+1, r.ID)
	}
	switch act.Action {
	case ActionExtend:
		return r.checkExtendBy(act.By)
	case ActionEscalate:
		return r.checkEscalateTo(act.Team)
	}
	return nil
}

// Apply performs act at now if CheckAct and CheckSignIn allow it; otherwise
// it returns the *Refusal and changes nothing.
func (r *Request) Apply(act Act, now time.Time) (Effect, error) {
	if err := r.CheckAct(act, now); err != nil {
		return Effect{}, err
	}
	if err := r.CheckSignIn(act.Action, act.Via.SignedInAt, now); err != nil {
		return Effect{}, err
	}
	user, text := act.User, act.Text
	switch act.Action {
	case ActionApprove:
		return r.approve(user, text, act.Via, now), nil
	case ActionReject:
		r.reject(user, text, act.Via, now)
		return Effect{Rejected: true}, nil
	case ActionRequestChanges:
		r.requestChanges(user, text, act.Via, now)
		return Effect{ChangesRequested: true}, nil
	case ActionComment:
		c := Comment{User: user, Text: text, At: now, Via: act.Via}
		if r.Current() != nil {
			pos := r.CurrentStage
			c.Stage = &pos
		}
		r.Comments = append(r.Comments, c)
		r.touch(now)
		return Effect{}, nil
	case ActionExtend:
		r.extend(user, act.By, text, act.Via, now)
		return Effect{Extended: true}, nil
	case ActionEscalate:
		if act.Roster == nil {
			return Effect{}, refuse(CodeRosterPending, "who may act once request %d is escalated is being resolved; try again in a moment", r.ID)
		}
		newly := r.Escalate(StageEscalation{ApproverTeam: *act.Team, User: user, Reason: text, At: now, Via: act.Via}, *act.Roster, now)
		return Effect{Escalated: newly}, nil
	default: // ActionCancel; Check refused anything else.
		return r.cancel(user, text, act.Via, now), nil
	}
}

func (r *Request) approve(user, comment string, via Via, now time.Time) Effect {
	st := r.Current()
	behalf, _ := r.onBehalfOf(st, user, now)
	st.Responses = append(st.Responses, Response{User: user, OnBehalfOf: behalf, Decision: DecisionApprove, Comment: comment, At: now, Via: via})
	st.Approvals++
	if st.Approvals < st.MinApprovers {
		r.touch(now)
		return Effect{}
	}
	st.Status = StageApproved
	st.DecidedAt = timePtr(now)
	st.NextReminder = nil
	st.Unreachable = nil
	r.CurrentStage = -1
	if _, more := r.NextStage(); more {
		r.touch(now)
		return Effect{StageApproved: true}
	}
	r.Status = StatusApproved
	r.touch(now)
	return Effect{StageApproved: true, Approved: true}
}

func (r *Request) reject(user, reason string, via Via, now time.Time) {
	st := r.endStage(user, reason, DecisionReject, StageRejected, via, now)
	r.Denial = &Denial{Stage: st.Name, Message: st.DenialMessage, Reason: reason, User: user, At: now, Via: via}
	r.skipRemaining()
	r.finish(StatusRejected, now)
}

// requestChanges ends the request as reject does, with the stage and the
// request changes_requested and the reason kept for the requester.
func (r *Request) requestChanges(user, reason string, via Via, now time.Time) {
	st := r.endStage(user, reason, DecisionRequestChanges, StageChangesRequested, via, now)
	r.ChangesRequested = &ChangeRequest{Stage: st.Name, Reason: reason, User: user, At: now, Via: via}
	r.skipRemaining()
	r.finish(StatusChangesRequested, now)
}

// endStage records user's decision that ends the open stage (a rejection
// or a request for changes) with reason, on whose behalf it was taken, and
// closes the stage as status; it answers the stage.
func (r *Request) endStage(user, reason string, d Decision, status StageStatus, via Via, now time.Time) *StageState {
	st := r.Current()
	behalf, _ := r.onBehalfOf(st, user, now)
	st.Responses = append(st.Responses, Response{User: user, OnBehalfOf: behalf, Decision: d, Comment: reason, At: now, Via: via})
	st.Status = status
	st.DecidedAt = timePtr(now)
	st.NextReminder = nil
	return st
}

func (r *Request) cancel(user, reason string, via Via, now time.Time) Effect {
	r.Cancellation = &Cancellation{User: user, Reason: reason, At: now, Via: via}
	if r.Status != StatusPendingApproval {
		r.touch(now)
		return Effect{CancelRequested: true}
	}
	if st := r.Current(); st != nil {
		st.Status = StageCanceled
		st.DecidedAt = timePtr(now)
		st.NextReminder = nil
	}
	r.skipRemaining()
	r.finish(StatusCanceled, now)
	return Effect{Canceled: true}
}

// RecordRefusal keeps the trace of a refused signal in the request's state.
// The request itself did not change, so Modified stays. Whatever the signal
// carried, the trace stays small: the user name is cut to MaxUserLength
// bytes and the message to MaxRefusalMessage (see Cut), and only the last
// maxRefusals are kept, so a misbehaving client cannot grow the state that
// every update answers with and every publication carries.
func (r *Request) RecordRefusal(action Action, user string, refusal *Refusal, now time.Time) {
	r.Refused = append(r.Refused, RefusedAction{User: Cut(user, MaxUserLength), Action: action, Code: refusal.Code,
		Message: Cut(refusal.Message, MaxRefusalMessage), At: now})
	if len(r.Refused) > maxRefusals {
		r.Refused = slices.Clone(r.Refused[len(r.Refused)-maxRefusals:])
	}
}

// CancelBeforeLaunch ends a request whose cancellation was asked for while
// it was approved, once it is certain that no AWX job was launched for it.
func (r *Request) CancelBeforeLaunch(now time.Time) {
	if r.Cancellation == nil || r.Job != nil || r.Status.Terminal() {
		return
	}
	r.finish(StatusCanceled, now)
}

// Abort cancels the request on behalf of an operator who canceled its
// workflow (for example with `temporal workflow cancel`), bypassing the
// per-user rules; it is a no-op on a finished request or one whose
// cancellation is already under way.
func (r *Request) Abort(by, reason string, now time.Time) Effect {
	if r.Status.Terminal() || r.Cancellation != nil {
		return Effect{}
	}
	return r.cancel(by, reason, Via{Channel: "temporal"}, now)
}

const maxRefusals = 50
