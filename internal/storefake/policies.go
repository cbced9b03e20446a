package storefake

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/countersign/countersign/store"
)

var policySort = sortFields[store.Policy]{
	{name: "id", cmp: byValue(func(p store.Policy) int64 { return p.ID })},
	{name: "name", cmp: byValue(func(p store.Policy) string { return p.Name })},
	{name: "priority", cmp: byValue(func(p store.Policy) int { return p.Priority })},
	{name: "organization", cmp: byValue(func(p store.Policy) int64 { return p.OrganizationID })},
	{name: "created", cmp: byTime(func(p store.Policy) time.Time { return p.Created })},
	{name: "modified", cmp: byTime(func(p store.Policy) time.Time { return p.Modified })},
}

// policy returns a copy of a stored policy with its stages' team names.
func (s *Store) policy(p *store.Policy) store.Policy {
	out := *p
	out.Stages = make([]store.PolicyStage, len(p.Stages))
	for i, st := range p.Stages {
		st.ApproverTeamID = clonePtr(st.ApproverTeamID)
		st.ApproverTeamName = ""
		if st.ApproverTeamID != nil {
			st.ApproverTeamName = s.teams[*st.ApproverTeamID].Name
		}
		st.Escalations = slices.Clone(st.Escalations)
		for j := range st.Escalations {
			st.Escalations[j].ApproverTeamName = s.teams[st.Escalations[j].ApproverTeamID].Name
		}
		out.Stages[i] = st
	}
	return out
}

// policyStages is what insertPolicyStages stores: positions are indexes
// and durations whole seconds (toward zero).
func policyStages(in []store.PolicyStage) []store.PolicyStage {
	out := make([]store.PolicyStage, len(in))
	for i, st := range in {
		out[i] = store.PolicyStage{
			Position:           i,
			Name:               st.Name,
			ApproverTeamID:     clonePtr(st.ApproverTeamID),
			MinApprovers:       st.MinApprovers,
			DenialMessage:      st.DenialMessage,
			Timeout:            st.Timeout / time.Second * time.Second,
			ReminderInterval:   st.ReminderInterval / time.Second * time.Second,
			RequireRecentLogin: st.RequireRecentLogin / time.Second * time.Second,
			MaxExtension:       st.MaxExtension / time.Second * time.Second,
			WarnBefore:         st.WarnBefore / time.Second * time.Second,
		}
		for _, e := range st.Escalations {
			out[i].Escalations = append(out[i].Escalations, store.PolicyEscalation{After: e.After / time.Second * time.Second, ApproverTeamID: e.ApproverTeamID})
		}
	}
	return out
}

// checkPolicy applies the schema's rules to a new or changed policy, in
// the order the store meets them: the policy row's CHECK, uniqueness and
// foreign key, then the stages' teams, then the stages' CHECKs.
func (s *Store) checkPolicy(op string, p *store.Policy) error {
	if p.Name == "" {
		return fail(op, store.ErrInvalid, "approval_policies_name_check")
	}
	for _, other := range s.policies {
		if other.ID != p.ID && other.OrganizationID == p.OrganizationID && other.Name == p.Name {
			return fail(op, store.ErrConflict, "approval_policies_organization_id_name_key")
		}
	}
	if _, ok := s.orgs[p.OrganizationID]; !ok {
		return fail(op, store.ErrInvalidReference, "approval_policies_organization_id_fkey")
	}
	var teams []int64
	for _, st := range p.Stages {
		if st.ApproverTeamID != nil {
			teams = append(teams, *st.ApproverTeamID)
		}
		for _, e := range st.Escalations {
			teams = append(teams, e.ApproverTeamID)
		}
	}
	if err := s.checkTeams(op, p.OrganizationID, teams); err != nil {
		return err
	}
	for _, st := range p.Stages {
		switch {
		case st.Name == "":
			return fail(op, store.ErrInvalid, "approval_policy_stages_name_check")
		case st.MinApprovers < 1:
			return fail(op, store.ErrInvalid, "approval_policy_stages_min_approvers_check")
		case st.Timeout < time.Second:
			return fail(op, store.ErrInvalid, "approval_policy_stages_timeout_check")
		case st.ReminderInterval < 0:
			return fail(op, store.ErrInvalid, "approval_policy_stages_reminder_interval_check")
		case st.RequireRecentLogin < 0:
			return fail(op, store.ErrInvalid, "approval_policy_stages_recent_login_check")
		case st.MaxExtension < 0:
			return fail(op, store.ErrInvalid, "approval_policy_stages_max_extension_check")
		case st.WarnBefore < 0:
			return fail(op, store.ErrInvalid, "approval_policy_stages_warn_before_check")
		}
		for _, e := range st.Escalations {
			if e.After < time.Second {
				return fail(op, store.ErrInvalid, "approval_policy_stage_escalations_after_check")
			}
		}
	}
	return nil
}

// CreatePolicy is store.Store.CreatePolicy.
func (s *Store) CreatePolicy(ctx context.Context, n store.NewPolicy) (store.Policy, error) {
	const op = "create policy"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreatePolicy", op); err != nil {
		return store.Policy{}, err
	}
	if _, ok := s.orgs[n.OrganizationID]; ok && n.MaxPerOrganization > 0 {
		count := 0
		for _, p := range s.policies {
			if p.OrganizationID == n.OrganizationID {
				count++
			}
		}
		if count >= n.MaxPerOrganization {
			return store.Policy{}, fail(op, store.ErrLimit, "the organization has %d policies", count)
		}
	}
	now := s.now()
	p := &store.Policy{
		ID: s.next("approval_policies"), OrganizationID: n.OrganizationID, Name: n.Name,
		Priority: n.Priority, Condition: n.Condition, Enabled: n.Enabled == nil || *n.Enabled,
		Created: now, Modified: now, Stages: policyStages(n.Stages),
	}
	if err := s.checkPolicy(op, p); err != nil {
		return store.Policy{}, err
	}
	s.policies[p.ID] = p
	return s.policy(p), nil
}

// GetPolicy is store.Store.GetPolicy.
func (s *Store) GetPolicy(ctx context.Context, id int64) (store.Policy, error) {
	const op = "get policy"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetPolicy", op); err != nil {
		return store.Policy{}, err
	}
	p, ok := s.policies[id]
	if !ok {
		return store.Policy{}, notFound(op)
	}
	return s.policy(p), nil
}

// UpdatePolicy is store.Store.UpdatePolicy.
func (s *Store) UpdatePolicy(ctx context.Context, id int64, u store.PolicyUpdate) (store.Policy, error) {
	const op = "update policy"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UpdatePolicy", op); err != nil {
		return store.Policy{}, err
	}
	old, ok := s.policies[id]
	if !ok {
		return store.Policy{}, notFound(op)
	}
	p := &store.Policy{
		ID: id, OrganizationID: old.OrganizationID, Name: u.Name, Priority: u.Priority,
		Condition: u.Condition, Enabled: u.Enabled, Created: old.Created, Modified: s.now(),
		Stages: policyStages(u.Stages),
	}
	if err := s.checkPolicy(op, p); err != nil {
		return store.Policy{}, err
	}
	s.policies[id] = p
	return s.policy(p), nil
}

// DeletePolicy is store.Store.DeletePolicy.
func (s *Store) DeletePolicy(ctx context.Context, id int64) error {
	const op = "delete policy"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DeletePolicy", op); err != nil {
		return err
	}
	if _, ok := s.policies[id]; !ok {
		return notFound(op)
	}
	delete(s.policies, id)
	return nil
}

// ListPolicies is store.Store.ListPolicies.
func (s *Store) ListPolicies(ctx context.Context, f store.PolicyFilter, opts store.ListOptions) ([]store.Policy, int, error) {
	const op = "list policies"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListPolicies", op); err != nil {
		return nil, 0, err
	}
	var rows []store.Policy
	for _, p := range s.policies {
		if inIDs(f.OrganizationIDs, p.OrganizationID) {
			rows = append(rows, s.policy(p))
		}
	}
	return page(op, rows, policySort, opts)
}

// EnabledPolicies is store.Store.EnabledPolicies.
func (s *Store) EnabledPolicies(ctx context.Context, orgID int64) ([]store.Policy, error) {
	defer s.mu.Unlock()
	if err := s.begin(ctx, "EnabledPolicies", "enabled policies"); err != nil {
		return nil, err
	}
	out := []store.Policy{}
	for _, p := range s.policies {
		if p.OrganizationID == orgID && p.Enabled {
			out = append(out, s.policy(p))
		}
	}
	slices.SortFunc(out, func(a, b store.Policy) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}
