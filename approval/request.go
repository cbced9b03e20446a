package approval

import (
	"slices"
	"time"
)

// Roster says who may act on a request right now. TeamMembers are the
// members of the open stage's approver team (empty when the stage has no
// team); OrgAdmins and Superusers are those of the request's organization and
// of the whole installation. Rosters are resolved when a stage opens and
// again whenever membership changes, so eligibility follows the teams while
// a request waits.
//
// Delegations are the active delegations of the people who decide the
// stage (see Delegation); NextDelegationChange is when one of theirs next
// starts or ends, when the roster must be resolved again. Both are absent
// from rosters resolved before delegations existed.
type Roster struct {
	TeamMembers          []string     `json:"team_members"`
	OrgAdmins            []string     `json:"org_admins"`
	Superusers           []string     `json:"superusers"`
	Delegations          []Delegation `json:"delegations,omitempty"`
	NextDelegationChange *time.Time   `json:"next_delegation_change,omitempty"`
	// Escalated are the members of the teams the open stage was escalated
	// to (StageState.EscalationTeams): they may decide it too.
	Escalated []string `json:"escalated,omitempty"`
}

// Decision is an approver's verdict on a stage.
type Decision string

// Decisions.
const (
	DecisionApprove Decision = "approve"
	DecisionReject  Decision = "reject"
	// DecisionRequestChanges: the approver asked the requester for changes,
	// which ends the request (StatusChangesRequested).
	DecisionRequestChanges Decision = "request_changes"
)

// Via says how an action reached the request: its Channel ("api",
// "portal", "cli") and, for an action sent through Temporal without a
// proof of its user (TEMPORAL_DECISIONS=trusted), Unverified. SignedInAt
// is when its user last signed in interactively, as the API vouches for
// it: a stage that requires a recent sign-in judges by it, and the
// decision keeps it as evidence.
type Via struct {
	Channel    string     `json:"channel,omitempty"`
	Unverified bool       `json:"unverified,omitempty"`
	SignedInAt *time.Time `json:"signed_in_at,omitempty"`
}

// Response is one approver's decision on a stage. OnBehalfOf is the
// delegator whose right User decided with, when User decided as a delegate
// rather than in their own right; that delegator's seat is then used.
type Response struct {
	User       string    `json:"user"`
	OnBehalfOf string    `json:"on_behalf_of,omitempty"`
	Decision   Decision  `json:"decision"`
	Comment    string    `json:"comment,omitempty"`
	At         time.Time `json:"at"`
	Via
}

// Comment is a remark that never changes a request's state. Stage is the
// 0-based position of the stage that was open when it was made, if any.
type Comment struct {
	User  string    `json:"user"`
	Text  string    `json:"text"`
	Stage *int      `json:"stage"`
	At    time.Time `json:"at"`
	Via
}

// StageState is a frozen plan stage together with its progress.
type StageState struct {
	Stage
	Status        StageStatus `json:"status"`
	OpenedAt      *time.Time  `json:"opened_at"`
	Deadline      *time.Time  `json:"deadline"`
	NextReminder  *time.Time  `json:"next_reminder,omitempty"`
	RemindersSent int         `json:"reminders_sent"`
	DecidedAt     *time.Time  `json:"decided_at"`
	Approvals     int         `json:"approvals"`
	Responses     []Response  `json:"responses"`
	// Unreachable is set while the open stage cannot be completed by its
	// approvers (see Unreachable), and stays on a stage that then expired,
	// was rejected or was canceled, as it stood then; an approved stage has
	// none.
	Unreachable *Unreachable `json:"unreachable"`
	// Extended is how much the deadline was extended in all, by
	// Extensions; WarnedFor is the deadline the last deadline warning was
	// sent for, Warnings when each warning went out.
	Extended   Duration    `json:"extended,omitempty"`
	Extensions []Extension `json:"extensions,omitempty"`
	WarnedFor  *time.Time  `json:"warned_for,omitempty"`
	Warnings   []time.Time `json:"warnings,omitempty"`
	// Escalated are the teams the stage was escalated to, in order: by
	// its escalation steps or on demand.
	Escalated []StageEscalation `json:"escalated,omitempty"`
}

// Denial is what the requester is told when a stage rejects the request:
// the stage's denial message and the rejecter's reason.
type Denial struct {
	Stage   string    `json:"stage"`
	Message string    `json:"message"`
	Reason  string    `json:"reason"`
	User    string    `json:"user"`
	At      time.Time `json:"at"`
	Via
}

// ChangeRequest is what the requester is told when an approver asked for
// changes: on which stage, by whom, why, when and how it arrived.
type ChangeRequest struct {
	Stage  string    `json:"stage"`
	Reason string    `json:"reason"`
	User   string    `json:"user"`
	At     time.Time `json:"at"`
	Via
}

// Cancellation records who asked to cancel a request and why.
type Cancellation struct {
	User   string    `json:"user"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	Via
}

// Job is the AWX job launched for a request. Status is AWX's own status.
type Job struct {
	Type        string `json:"type"`
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	URL         string `json:"url"`
	Explanation string `json:"explanation,omitempty"`
}

// RefusedAction is the visible trace of a refused signal: who tried what and
// why it was refused. Refused updates leave no trace; their caller gets the
// refusal as the update's error instead.
type RefusedAction struct {
	User    string    `json:"user"`
	Action  Action    `json:"action"`
	Code    Code      `json:"code"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Request is the state of one service request as the rules see it and as the
// REST API and the workflow's `state` query show it. Mutate it only through
// its methods, which enforce SPEC 3.5 and keep the derived fields current.
type Request struct {
	ID            int64  `json:"id"`
	Organization  Ref    `json:"organization"`
	CatalogItem   Ref    `json:"catalog_item"`
	Requester     string `json:"requester"`
	Justification string `json:"justification"`
	Status        Status `json:"status"`
	// CurrentStage is the position of the open stage, or -1 when no stage
	// accepts decisions.
	CurrentStage int          `json:"current_stage"`
	Stages       []StageState `json:"stages"`
	PlanSource   PlanSource   `json:"plan_source"`
	PlanPolicy   string       `json:"plan_policy,omitempty"`
	PlanNotes    []string     `json:"plan_notes,omitempty"`
	Roster       Roster       `json:"roster"`
	// RosterResolved is false until the roster was first resolved; until
	// then only the requester may comment or cancel.
	RosterResolved bool `json:"roster_resolved"`
	// EligibleApprovers lists who may decide the open stage now and has not:
	// its approvers (team members, or org admins when it has no team), minus
	// the requester and anyone who already decided, plus the delegates of
	// those approvers while a delegation is active (see Delegation).
	// Superusers may decide too but are not listed, so that they are not
	// nagged about everything.
	EligibleApprovers []string        `json:"eligible_approvers"`
	Comments          []Comment       `json:"comments"`
	Refused           []RefusedAction `json:"refused"`
	Denial            *Denial         `json:"denial,omitempty"`
	// ChangesRequested is set when the request ended changes_requested.
	ChangesRequested *ChangeRequest `json:"changes_requested,omitempty"`
	Cancellation     *Cancellation  `json:"cancellation,omitempty"`
	Job              *Job           `json:"job"`
	FailureReason    string         `json:"failure_reason"`
	Created          time.Time      `json:"created"`
	Modified         time.Time      `json:"modified"`
	Finished         *time.Time     `json:"finished"`
	// Seq grows with every change; the workflow sets it, and the projection
	// keeps a state only if its Seq is newer than the one it has.
	Seq int64 `json:"seq"`
}

// NewRequest starts a request in pending_approval with the plan's stages
// waiting, or directly approved when the plan has no stages.
func NewRequest(id int64, org, item Ref, requester, justification string, plan Plan, now time.Time) *Request {
	r := &Request{
		ID:            id,
		Organization:  org,
		CatalogItem:   item,
		Requester:     requester,
		Justification: justification,
		Status:        StatusPendingApproval,
		CurrentStage:  -1,
		Stages:        make([]StageState, 0, len(plan.Stages)),
		PlanSource:    plan.Source,
		PlanPolicy:    plan.PolicyName,
		PlanNotes:     plan.Notes,
		Comments:      []Comment{},
		Refused:       []RefusedAction{},
		Created:       now,
		Modified:      now,
	}
	for _, s := range NormalizeStages(plan.Stages) {
		r.Stages = append(r.Stages, StageState{Stage: s, Status: StageWaiting, Responses: []Response{}})
	}
	if len(r.Stages) == 0 {
		r.Status = StatusApproved
	}
	r.refresh(now)
	return r
}

// NextStage returns the position of the stage that should open next: the
// first waiting stage while the request is pending and no stage is open.
func (r *Request) NextStage() (int, bool) {
	if r.Status != StatusPendingApproval || r.CurrentStage >= 0 {
		return 0, false
	}
	for i, s := range r.Stages {
		if s.Status == StageWaiting {
			return i, true
		}
	}
	return 0, false
}

// OpenStage opens stage i with the roster resolved for it: its deadline is
// now + timeout and its first reminder now + reminder interval (when that
// comes before the deadline).
func (r *Request) OpenStage(i int, roster Roster, now time.Time) {
	st := &r.Stages[i]
	st.Status = StagePending
	st.OpenedAt = timePtr(now)
	st.Deadline = timePtr(now.Add(st.Timeout.Std()))
	st.NextReminder = nil
	if iv := st.ReminderInterval.Std(); iv > 0 && now.Add(iv).Before(*st.Deadline) {
		st.NextReminder = timePtr(now.Add(iv))
	}
	r.CurrentStage = i
	r.Roster = roster
	r.RosterResolved = true
	r.touch(now)
}

// SetRoster replaces who may act on the request, e.g. after team membership
// changed. Earlier decisions stand.
func (r *Request) SetRoster(roster Roster, now time.Time) {
	r.Roster = roster
	r.RosterResolved = true
	r.touch(now)
}

// Current returns the open stage, or nil when none accepts decisions.
func (r *Request) Current() *StageState {
	if r.CurrentStage < 0 || r.CurrentStage >= len(r.Stages) || r.Stages[r.CurrentStage].Status != StagePending {
		return nil
	}
	return &r.Stages[r.CurrentStage]
}

// NextWake is when the open stage next needs attention without any human
// action: its next reminder, its deadline warning or its deadline,
// whichever comes first.
func (r *Request) NextWake() (time.Time, bool) {
	st := r.Current()
	if st == nil || st.Deadline == nil {
		return time.Time{}, false
	}
	wake := *st.Deadline
	if st.NextReminder != nil && st.NextReminder.Before(wake) {
		wake = *st.NextReminder
	}
	if at, ok := st.warnAt(); ok && at.Before(wake) {
		wake = at
	}
	if _, at, ok := st.nextStep(); ok && at.Before(wake) {
		wake = at
	}
	return wake, true
}

// Tick advances timed rules to now: at or after the open stage's deadline
// the request expires (expired is true); otherwise, when a reminder is due,
// remind lists the approvers who have not decided yet and the next reminder
// is scheduled.
func (r *Request) Tick(now time.Time) (remind []string, expired bool) {
	st := r.Current()
	if st == nil {
		return nil, false
	}
	if !now.Before(*st.Deadline) {
		st.Status = StageExpired
		st.DecidedAt = timePtr(now)
		st.NextReminder = nil
		r.skipRemaining()
		r.finish(StatusExpired, now)
		return nil, true
	}
	if st.NextReminder == nil || now.Before(*st.NextReminder) {
		return nil, false
	}
	remind = slices.Clone(r.EligibleApprovers)
	st.RemindersSent++
	next := *st.NextReminder
	for !next.After(now) {
		next = next.Add(st.ReminderInterval.Std())
	}
	st.NextReminder = nil
	if next.Before(*st.Deadline) {
		st.NextReminder = timePtr(next)
	}
	r.touch(now)
	return remind, false
}

// MarkLaunched records the AWX job and moves an approved request to running.
func (r *Request) MarkLaunched(job Job, now time.Time) {
	j := job
	r.Job = &j
	r.Status = StatusRunning
	r.touch(now)
}

// UpdateJob records the AWX job's latest status and, when the job has
// ended, finishes the request with the status it implies (SPEC 6); a failed
// job's explanation becomes the failure reason.
func (r *Request) UpdateJob(awxStatus, explanation string, now time.Time) {
	if r.Job == nil || r.Status.Terminal() {
		return
	}
	r.Job.Status = awxStatus
	r.Job.Explanation = explanation
	status, done := JobOutcome(awxStatus)
	if !done {
		r.touch(now)
		return
	}
	if status == StatusFailed {
		r.FailureReason = jobFailureReason(awxStatus, explanation)
	}
	r.finish(status, now)
}

func jobFailureReason(awxStatus, explanation string) string {
	if explanation != "" {
		return "AWX job " + awxStatus + ": " + explanation
	}
	return "AWX job " + awxStatus
}

// Fail ends a request that could not be carried out (a launch refused by AWX,
// AWX unreachable past the retry budget) with a reason shown to the requester.
func (r *Request) Fail(reason string, now time.Time) {
	if r.Status.Terminal() {
		return
	}
	r.FailureReason = reason
	r.finish(StatusFailed, now)
}

func (r *Request) finish(status Status, now time.Time) {
	r.Status = status
	r.Finished = timePtr(now)
	r.touch(now)
}

func (r *Request) skipRemaining() {
	for i := range r.Stages {
		if r.Stages[i].Status == StageWaiting {
			r.Stages[i].Status = StageSkipped
		}
	}
}

func (r *Request) touch(now time.Time) {
	r.Modified = now
	r.refresh(now)
}

// refresh recomputes what is derived from the roster and the decisions:
// EligibleApprovers, and whether the open stage can still be completed.
func (r *Request) refresh(now time.Time) {
	r.EligibleApprovers = []string{}
	st := r.Current()
	if st == nil {
		return
	}
	for _, u := range r.stageApprovers(st) {
		if u == r.Requester || r.hasDecided(u) {
			continue
		}
		r.EligibleApprovers = append(r.EligibleApprovers, u)
	}
	for _, d := range r.activeDelegations(st, now) {
		if !r.hasDecided(d.Delegate) {
			r.EligibleApprovers = append(r.EligibleApprovers, d.Delegate)
		}
	}
	slices.Sort(r.EligibleApprovers)
	r.EligibleApprovers = slices.Compact(r.EligibleApprovers)
	st.Unreachable = r.reach(st, st.Unreachable, now)
}

// stageApprovers are the users a stage names: its team, or the org admins,
// and the members of the teams it was escalated to.
func (r *Request) stageApprovers(st *StageState) []string {
	approvers := r.Roster.Approvers(st.ApproverTeam)
	if len(st.Escalated) == 0 || len(r.Roster.Escalated) == 0 {
		return approvers
	}
	return append(slices.Clone(approvers), r.Roster.Escalated...)
}

// Approvers are the users a stage with approver team team names: the
// team's members, or the organization's admins when team is nil (with a
// roster resolved for that team). Superusers may decide too but are not
// among them.
func (ro Roster) Approvers(team *Ref) []string {
	if team != nil {
		return ro.TeamMembers
	}
	return ro.OrgAdmins
}

func (r *Request) hasDecided(user string) bool {
	_, _, ok := r.decisionOf(user)
	return ok
}

// decisionOf finds a user's decision on any stage of the request: one
// they made, or one a delegate made on their behalf (their seat is used
// either way).
func (r *Request) decisionOf(user string) (stage int, resp Response, ok bool) {
	for i, s := range r.Stages {
		for _, resp := range s.Responses {
			if resp.User == user || resp.OnBehalfOf == user {
				return i, resp, true
			}
		}
	}
	return 0, Response{}, false
}

func timePtr(t time.Time) *time.Time { return &t }
