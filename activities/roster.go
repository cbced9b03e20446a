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
	r, teamGone, err := store.StageRoster(ctx, a.Store, in.OrganizationID, in.TeamID)
	if err != nil {
		return approval.Roster{}, err
	}
	if teamGone {
		a.logger().WarnContext(ctx, "approver team no longer exists; only superusers can decide the stage",
			"organization_id", in.OrganizationID, "team_id", *in.TeamID)
	}
	return approval.Roster{
		TeamMembers: nonNil(r.TeamMembers),
		OrgAdmins:   nonNil(r.OrgAdmins),
		Superusers:  nonNil(r.Superusers),
	}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
