package approval

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Unreachable says why the open stage cannot be completed by its approvers
// as things stand: it still needs Needed approvals, but only Remaining
// (its eligible approvers who have not decided) may give them. It is
// recomputed with every change of the roster or of the decisions, and
// disappears when the stage can be completed again (members were added to
// its team).
//
// Superusers may decide any stage but do not count: a stage that only a
// superuser's override could finish is beyond its team, and superusers
// are neither listed nor reminded, so nobody would be asked to act.
type Unreachable struct {
	// Reason says it in words, for people: how many approvals are missing,
	// who could still give them, and who of the stage's approvers cannot
	// (the requester, those who decided). Names are cut to a few.
	Reason string `json:"reason"`
	// Needed is the approvals the stage still needs.
	Needed int `json:"needed"`
	// Remaining are the eligible approvers who have not decided (the
	// request's EligibleApprovers), fewer than Needed.
	Remaining []string `json:"remaining"`
	// Since is when the stage became unreachable; it stays while the stage
	// remains so, whatever else changes.
	Since time.Time `json:"since"`
}

// maxNamed bounds how many names a reason lists; a team may be large.
const maxNamed = 10

// reach judges whether the open stage st can still be completed by its
// approvers, at now: nil when it can, otherwise why not. prev is the
// stage's former verdict, whose Since carries over.
func (r *Request) reach(st *StageState, prev *Unreachable, now time.Time) *Unreachable {
	needed := st.MinApprovers - st.Approvals
	remaining := r.EligibleApprovers
	short, ok := Shortfall(needed, remaining)
	if !ok {
		return nil
	}
	u := &Unreachable{Needed: needed, Remaining: slices.Clone(remaining), Since: now, Reason: short}
	if prev != nil {
		u.Since = prev.Since
	}
	if why := r.excluded(st); len(why) > 0 {
		u.Reason += ": " + strings.Join(why, "; ")
	}
	return u
}

// Shortfall is the rule itself: a stage that still needs needed approvals
// cannot be completed when fewer eligible approvers who have not decided
// remain. ok is true when it cannot, and short then says so ("needs 2
// more approvals but only 1 eligible approver remains (carol)"), for
// callers that know no more than these (the projection of a request).
func Shortfall(needed int, remaining []string) (short string, ok bool) {
	if len(remaining) >= needed {
		return "", false
	}
	switch len(remaining) {
	case 0:
		short = "no eligible approver remains"
	case 1:
		short = fmt.Sprintf("only 1 eligible approver remains (%s)", remaining[0])
	default:
		short = fmt.Sprintf("only %d eligible approvers remain (%s)", len(remaining), named(remaining, ", "))
	}
	return fmt.Sprintf("needs %d more %s but %s", needed, plural(needed, "approval", "approvals"), short), true
}

// excluded says which of the stage's approvers cannot approve, and why.
func (r *Request) excluded(st *StageState) []string {
	approvers := r.stageApprovers(st)
	if len(approvers) == 0 {
		if st.ApproverTeam != nil {
			return []string{fmt.Sprintf("team %s has no active members", st.ApproverTeam.Name)}
		}
		return []string{"the organization has no active admins"}
	}
	var why []string
	if slices.Contains(approvers, r.Requester) {
		why = append(why, r.Requester+" is the requester and cannot approve their own request")
	}
	var decided []string
	for _, u := range approvers {
		if u != r.Requester && r.hasDecided(u) {
			decided = append(decided, u)
		}
	}
	slices.Sort(decided)
	decided = slices.Compact(decided)
	if len(decided) > 0 {
		why = append(why, fmt.Sprintf("%s already decided on this request", named(decided, " and ")))
	}
	return why
}

// named lists names with commas and last before the last one ("carol and
// dave", "a, b and c" with " and "), or the first maxNamed and how many
// more.
func named(names []string, last string) string {
	if len(names) > maxNamed {
		return strings.Join(names[:maxNamed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxNamed)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + last + names[len(names)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Admins are who is told when a stage cannot be completed: the
// organization's admins, or the superusers when it has none, so that
// someone who can act always hears of it.
func (r *Request) Admins() []string {
	if len(r.Roster.OrgAdmins) > 0 {
		return slices.Clone(r.Roster.OrgAdmins)
	}
	return slices.Clone(r.Roster.Superusers)
}
