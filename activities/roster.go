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
	r, teamGone, err := StageRoster(ctx, a.Store, in.OrganizationID, in.TeamID)
	if err != nil {
		return approval.Roster{}, err
	}
	if teamGone {
		a.logger().WarnContext(ctx, "approver team no longer exists; only superusers can decide the stage",
			"organization_id", in.OrganizationID, "team_id", *in.TeamID)
	}
	if r.Escalated, err = EscalatedMembers(ctx, a.Store, in.OrganizationID, in.EscalationTeams); err != nil {
		return approval.Roster{}, err
	}
	return r, nil
}

// EscalatedMembers are the active members of teams (of organization
// orgID), sorted, each once; nil without teams. A team deleted since, or
// moved out of the organization, adds nobody.
func EscalatedMembers(ctx context.Context, rr store.RosterReader, orgID int64, teams []int64) ([]string, error) {
	if len(teams) == 0 {
		return nil, nil
	}
	out := []string{}
	for _, id := range teams {
		sr, err := rr.Roster(ctx, orgID, &id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sr.TeamMembers...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
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

// StageRoster is store.StageRoster as the approval rules read it: every
// reader of a stage's roster (this activity, the API's decisions and
// submissions) gets the same one, lists never nil.
func StageRoster(ctx context.Context, rr store.RosterReader, orgID int64, teamID *int64) (r approval.Roster, teamGone bool, err error) {
	sr, teamGone, err := store.StageRoster(ctx, rr, orgID, teamID)
	if err != nil {
		return approval.Roster{}, false, err
	}
	return approval.Roster{TeamMembers: nonNil(sr.TeamMembers), OrgAdmins: nonNil(sr.OrgAdmins), Superusers: nonNil(sr.Superusers)}, teamGone, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
