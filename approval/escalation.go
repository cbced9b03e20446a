package approval

import (
	"slices"
	"time"
)

// ActionEscalate makes the members of another team (Act.Team) eligible to
// decide the open stage now: an org admin's way to resolve a stage nobody
// can complete (see Unreachable).
const ActionEscalate Action = "escalate"

// Refusals of escalations.
const (
	// CodeTeamRequired: an escalation names no team.
	CodeTeamRequired Code = "team_required"
	// CodeUnknownTeam: the team does not exist or is not of the request's
	// organization.
	CodeUnknownTeam Code = "unknown_team"
	// CodeAlreadyEscalated: the team already decides the open stage.
	CodeAlreadyEscalated Code = "already_escalated"
)

// MaxEscalated bounds the teams one stage is escalated to, by its steps
// (at most MaxEscalations) and on demand together.
const MaxEscalated = 10

// CodeTooManyEscalations: the open stage was escalated MaxEscalated times.
const CodeTooManyEscalations Code = "too_many_escalations"

// StageEscalation is one widening of who may decide a stage: the members
// of ApproverTeam became eligible At, by the stage's escalation step Step
// (its position) or, when Step is nil, on demand by User with Reason.
// Approvals given before stay.
type StageEscalation struct {
	ApproverTeam Ref       `json:"approver_team"`
	Step         *int      `json:"step"`
	User         string    `json:"user,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	At           time.Time `json:"at"`
	Via
}

// EscalationTeams are the ids of the teams whose members may decide the
// stage besides its approvers, in the order they were added; nil when
// none. The roster of the stage resolves their members (Roster.Escalated).
func (st *StageState) EscalationTeams() []int64 {
	var ids []int64
	for _, e := range st.Escalated {
		ids = append(ids, e.ApproverTeam.ID)
	}
	return ids
}

// escalatedTo reports whether team already decides the stage: as its
// approver team or by an escalation.
func (st *StageState) escalatedTo(team int64) bool {
	return (st.ApproverTeam != nil && st.ApproverTeam.ID == team) || slices.Contains(st.EscalationTeams(), team)
}

// nextStep is the stage's first escalation step not yet taken, and when
// it is due; ok is false when none is left.
func (st *StageState) nextStep() (step int, at time.Time, ok bool) {
	if st.OpenedAt == nil {
		return 0, time.Time{}, false
	}
	taken := -1
	for _, e := range st.Escalated {
		if e.Step != nil && *e.Step > taken {
			taken = *e.Step
		}
	}
	if taken+1 >= len(st.Escalations) {
		return 0, time.Time{}, false
	}
	return taken + 1, st.OpenedAt.Add(st.Escalations[taken+1].After.Std()), true
}

// NextEscalation is the stage's next escalation step, while it is open:
// the team it adds and when. ok is false when no step is left.
func (st *StageState) NextEscalation() (team Ref, at time.Time, ok bool) {
	if st.Status != StagePending {
		return Ref{}, time.Time{}, false
	}
	step, at, ok := st.nextStep()
	if !ok {
		return Ref{}, time.Time{}, false
	}
	return st.Escalations[step].ApproverTeam, at, true
}

// DueEscalation is the open stage's escalation step that is due at now
// (its After since the stage opened has passed), if any. Steps are taken
// in order, one at a time.
func (r *Request) DueEscalation(now time.Time) (step int, team Ref, ok bool) {
	st := r.Current()
	if st == nil {
		return 0, Ref{}, false
	}
	step, at, ok := st.nextStep()
	if !ok || now.Before(at) {
		return 0, Ref{}, false
	}
	return step, st.Escalations[step].ApproverTeam, true
}

// checkEscalate tells whether user may escalate the open stage at now at
// all: the request waits for approval, a stage is open and its deadline
// not passed, and user is an org admin or a superuser.
func (r *Request) checkEscalate(user string, now time.Time) error {
	if _, err := r.stageOpenAt(now, "it can no longer be escalated"); err != nil {
		return err
	}
	if !r.isAdmin(user) {
		return refuse(CodeNotAllowed, "%s may not escalate request %d: only the organization's admins and superusers may", user, r.ID)
	}
	return nil
}

// checkEscalateTo tells whether the open stage, which checkEscalate lets
// the user escalate, may be escalated to team.
func (r *Request) checkEscalateTo(team *Ref) error {
	if team == nil || team.ID <= 0 {
		return refuse(CodeTeamRequired, "name the team whose members may decide the stage too")
	}
	st := r.Current()
	if st.escalatedTo(team.ID) {
		return refuse(CodeAlreadyEscalated, "team %d already decides stage %d (%s) of request %d", team.ID, r.CurrentStage+1, st.Name, r.ID)
	}
	if len(st.Escalated) >= MaxEscalated {
		return refuse(CodeTooManyEscalations, "stage %d (%s) of request %d was already escalated to %d teams, the most a stage may be",
			r.CurrentStage+1, st.Name, r.ID, MaxEscalated)
	}
	return nil
}

// Escalate widens who may decide the open stage by e, with roster (who may
// act once the stage is escalated, Escalated included). It returns who may
// decide now and could not before, to be asked for their decision.
func (r *Request) Escalate(e StageEscalation, roster Roster, now time.Time) (newly []string) {
	st := r.Current()
	if st == nil {
		return nil
	}
	before := slices.Clone(r.EligibleApprovers)
	st.Escalated = append(st.Escalated, e)
	r.Roster = roster
	r.RosterResolved = true
	r.touch(now)
	for _, u := range r.EligibleApprovers {
		if !slices.Contains(before, u) {
			newly = append(newly, u)
		}
	}
	return newly
}
