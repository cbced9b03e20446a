package approval

import (
	"slices"
	"time"
)

// Delegation lets Delegate decide, from Starts until Ends, wherever
// Delegator may in their own right (out of office). The rules:
//
//   - While it is active, the delegate may approve or reject any stage the
//     delegator is an approver of (a team member, or an org admin of a
//     stage without a team); the delegator still may too. A superuser's
//     right to decide everything is not delegated.
//   - Delegations never chain: a delegate decides with their delegators'
//     own rights only, never with rights those got by delegation.
//   - A delegate never decides on a request they or the delegator
//     submitted.
//   - One person's seat counts once: a decision on a delegator's behalf
//     uses the delegator's seat, so the delegator (and their other
//     delegates) can no longer decide that request, and a delegator who
//     decided leaves their delegates nothing to decide for them. The
//     delegate has decided too: like anyone, they decide at most once per
//     request, whichever right they use, and their own right comes first.
//   - The decision records the delegator as the response's OnBehalfOf.
type Delegation struct {
	Delegator string    `json:"delegator"`
	Delegate  string    `json:"delegate"`
	Starts    time.Time `json:"starts"`
	Ends      time.Time `json:"ends"`
}

// ActiveAt reports whether d is active at now: Starts <= now < Ends.
func (d Delegation) ActiveAt(now time.Time) bool {
	return !now.Before(d.Starts) && now.Before(d.Ends)
}

// activeDelegations are the delegations of the roster that give their
// delegate a seat to decide st with at now: active, from one of the
// stage's approvers who has not decided, neither of them the requester.
func (r *Request) activeDelegations(st *StageState, now time.Time) []Delegation {
	approvers := r.stageApprovers(st)
	var out []Delegation
	for _, d := range r.Roster.Delegations {
		if !d.ActiveAt(now) || d.Delegator == d.Delegate || d.Delegator == r.Requester || d.Delegate == r.Requester ||
			!slices.Contains(approvers, d.Delegator) || r.hasDecided(d.Delegator) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// onBehalfOf tells with whose right user decides st at now: "" and true for
// their own right (an approver or a superuser); a delegator and true when
// only a delegation gives them a seat (the first delegator by name whose
// seat is free); false when nothing does. It does not look at whether user
// decided already.
func (r *Request) onBehalfOf(st *StageState, user string, now time.Time) (string, bool) {
	if r.mayDecideOwn(st, user) {
		return "", true
	}
	var delegators []string
	for _, d := range r.activeDelegations(st, now) {
		if d.Delegate == user {
			delegators = append(delegators, d.Delegator)
		}
	}
	if len(delegators) == 0 {
		return "", false
	}
	return slices.Min(delegators), true
}

// usedDelegations lists the delegators whose active delegation to user
// would give user a seat on st at now but whose seat was already used.
func (r *Request) usedDelegations(st *StageState, user string, now time.Time) []string {
	approvers := r.stageApprovers(st)
	var out []string
	for _, d := range r.Roster.Delegations {
		if d.Delegate == user && d.ActiveAt(now) && d.Delegator != r.Requester && slices.Contains(approvers, d.Delegator) &&
			r.hasDecided(d.Delegator) {
			out = append(out, d.Delegator)
		}
	}
	return out
}

// NextDelegationChange is when the roster's delegations next start or end,
// as the roster was resolved: the workflow resolves it again then.
func (r *Request) NextDelegationChange() (time.Time, bool) {
	if r.Current() == nil || r.Roster.NextDelegationChange == nil {
		return time.Time{}, false
	}
	return *r.Roster.NextDelegationChange, true
}
