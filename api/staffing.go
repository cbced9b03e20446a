package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// Who could ever complete a stage is checked when it is saved: its
// approvers (the team's active members, or the organization's active
// admins) must be at least as many as it needs. Superusers do not count,
// as when a request runs (see approval.Unreachable). The requester is not
// known yet, and membership changes after the save, so a running request
// checks again with every change (approval.Unreachable); this only refuses
// what could never work.

// approversOf resolves the approvers a stage of team (nil: the
// organization's admins) would have now. A team outside the organization
// is store.ErrNotFound.
func (s *Server) approversOf(ctx context.Context, org int64, team *int64) ([]string, error) {
	roster, err := s.d.Store.Roster(ctx, org, team)
	if err != nil {
		return nil, err
	}
	var ref *approval.Ref
	if team != nil {
		ref = &approval.Ref{ID: *team}
	}
	return approval.Roster{TeamMembers: roster.TeamMembers, OrgAdmins: roster.OrgAdmins}.Approvers(ref), nil
}

// staffPolicyStages refuses the stages of a policy of organization org
// whose approvers are fewer than they need, naming each stage and the
// counts under stages.N.min_approvers.
func (s *Server) staffPolicyStages(ctx context.Context, org int64, stages []store.PolicyStage) error {
	errs := fieldErrors{}
	counts := map[int64]int{} // by team; 0 stands for the org admins
	for i, st := range stages {
		key := int64(0)
		if st.ApproverTeamID != nil {
			key = *st.ApproverTeamID
		}
		have, ok := counts[key]
		if !ok {
			approvers, err := s.approversOf(ctx, org, st.ApproverTeamID)
			if errors.Is(err, store.ErrNotFound) {
				return policyWriteError(store.ErrInvalidReference)
			}
			if err != nil {
				return err
			}
			have = len(approvers)
			counts[key] = have
		}
		if have >= st.MinApprovers {
			continue
		}
		who, fix := fmt.Sprintf("the organization has %d active %s", have, plural(have, "admin", "admins")),
			"make more people admins of the organization first"
		if st.ApproverTeamID != nil {
			team, err := s.d.Store.GetTeam(ctx, *st.ApproverTeamID)
			if err != nil {
				return err
			}
			who, fix = fmt.Sprintf("team %s has %d active %s", team.Name, have, plural(have, "member", "members")),
				"add members to the team first"
		}
		errs.add(fmt.Sprintf("stages.%d.min_approvers", i), fmt.Sprintf("Stage %d (%s) needs %d %s but %s, so it could never be completed; lower min_approvers or %s.",
			i+1, st.Name, st.MinApprovers, plural(st.MinApprovers, "approver", "approvers"), who, fix))
	}
	return errs.err()
}

// staffItem refuses an item of organization org that requires approval
// by team (nil: the organization's admins) when nobody could give it: its
// fallback stage needs one approver.
func (s *Server) staffItem(ctx context.Context, org int64, team *int64) error {
	approvers, err := s.approversOf(ctx, org, team)
	if errors.Is(err, store.ErrNotFound) {
		return itemWriteError(store.ErrInvalidReference)
	}
	if err != nil || len(approvers) > 0 {
		return err
	}
	if team == nil {
		return fieldErrors{"approver_team": {"The organization has no active admins, so requests for this item could never be approved; " +
			"make someone an admin of the organization or choose a team first."}}.err()
	}
	t, err := s.d.Store.GetTeam(ctx, *team)
	if err != nil {
		return err
	}
	return fieldErrors{"approver_team": {fmt.Sprintf("Team %s has no active members, so requests for this item could never be approved; add members to the team first.", t.Name)}}.err()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
