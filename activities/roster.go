package activities

import (
	"context"
	"errors"
	"slices"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// ResolveRoster reads who may act on a stage now: the members of its
// approver team, the organization's admins and the superusers (active users
// only). A team that no longer exists leaves the stage to superusers, since
// nobody can be a member of it; the request then expires unless one acts.
func (a *Activities) ResolveRoster(ctx context.Context, in RosterInput) (approval.Roster, error) {
	r, teamGone, err := StageRoster(ctx, a.Store, in.OrganizationID, in.TeamID, in.EscalationTeams)
	if err != nil {
		return approval.Roster{}, err
	}
	if teamGone {
		a.logger().WarnContext(ctx, "approver team no longer exists; only superusers can decide the stage",
			"organization_id", in.OrganizationID, "team_id", *in.TeamID)
	}
	return r, nil
}

// EscalationTeamInput names a team a stage is to be escalated to.
type EscalationTeamInput struct {
	OrganizationID int64 `json:"organization_id"`
	TeamID         int64 `json:"team_id"`
}

// EscalationTeam is the team of an escalation on demand, by id and name,
// or nil when it does not exist or is not of the organization.
func (a *Activities) EscalationTeam(ctx context.Context, in EscalationTeamInput) (*approval.Ref, error) {
	sr, err := a.Store.Roster(ctx, in.OrganizationID, &in.TeamID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &approval.Ref{ID: in.TeamID, Name: sr.TeamName}, nil
}

// StageRoster is store.StageRoster as the approval rules read it, for a
// stage with approver team teamID escalated to the teams escalations:
// every reader of a stage's roster (this activity, the API's decisions and
// submissions) gets the same one, lists never nil (but Delegations and
// Escalated, nil when there are none, so rosters without them stay as
// they were). The escalation teams' active members are Escalated, and
// their delegations count like the approver team's (a team deleted since,
// or moved out of the organization, adds nobody).
func StageRoster(ctx context.Context, rr store.RosterReader, orgID int64, teamID *int64, escalations []int64) (r approval.Roster, teamGone bool, err error) {
	sr, teamGone, err := store.StageRoster(ctx, rr, orgID, teamID)
	if err != nil {
		return approval.Roster{}, false, err
	}
	r = approval.Roster{TeamMembers: nonNil(sr.TeamMembers), OrgAdmins: nonNil(sr.OrgAdmins), Superusers: nonNil(sr.Superusers)}
	addDelegations(&r, sr)
	if len(escalations) > 0 {
		r.Escalated = []string{}
	}
	for _, id := range escalations {
		er, err := rr.Roster(ctx, orgID, &id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return approval.Roster{}, false, err
		}
		r.Escalated = append(r.Escalated, er.TeamMembers...)
		addDelegations(&r, er)
	}
	slices.Sort(r.Escalated)
	r.Escalated = slices.Compact(r.Escalated)
	return r, teamGone, nil
}

// addDelegations adds the delegations sr carries to r, each once, and
// brings r's next delegation change forward to sr's.
func addDelegations(r *approval.Roster, sr store.Roster) {
	for _, d := range sr.Delegations {
		ad := approval.Delegation{Delegator: d.Delegator, Delegate: d.Delegate, Starts: d.Starts, Ends: d.Ends}
		if !slices.Contains(r.Delegations, ad) {
			r.Delegations = append(r.Delegations, ad)
		}
	}
	if next := sr.NextDelegationChange; next != nil && (r.NextDelegationChange == nil || next.Before(*r.NextDelegationChange)) {
		r.NextDelegationChange = next
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
