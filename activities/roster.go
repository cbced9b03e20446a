package activities

import (
	"context"

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
	return r, nil
}

// StageRoster is store.StageRoster as the approval rules read it: every
// reader of a stage's roster (this activity, the API's decisions and
// submissions) gets the same one, lists never nil (but Delegations, nil
// when there are none, so rosters without them stay as they were).
func StageRoster(ctx context.Context, rr store.RosterReader, orgID int64, teamID *int64) (r approval.Roster, teamGone bool, err error) {
	sr, teamGone, err := store.StageRoster(ctx, rr, orgID, teamID)
	if err != nil {
		return approval.Roster{}, false, err
	}
	r = approval.Roster{TeamMembers: nonNil(sr.TeamMembers), OrgAdmins: nonNil(sr.OrgAdmins), Superusers: nonNil(sr.Superusers),
		NextDelegationChange: sr.NextDelegationChange}
	for _, d := range sr.Delegations {
		r.Delegations = append(r.Delegations, approval.Delegation{Delegator: d.Delegator, Delegate: d.Delegate, Starts: d.Starts, Ends: d.Ends})
	}
	return r, teamGone, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
