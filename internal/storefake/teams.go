package storefake

import (
	"context"

	"github.com/countersign/countersign/store"
)

// CreateTeam is store.Store.CreateTeam.
func (s *Store) CreateTeam(ctx context.Context, orgID int64, name, description string) (store.Team, error) {
	const op = "create team"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateTeam", op); err != nil {
		return store.Team{}, err
	}
	id := s.next("teams")
	if name == "" {
		return store.Team{}, fail(op, store.ErrInvalid, "teams_name_check")
	}
	if s.teamByName(orgID, name) != nil {
		return store.Team{}, fail(op, store.ErrConflict, "teams_organization_id_name_key")
	}
	if _, ok := s.orgs[orgID]; !ok {
		return store.Team{}, fail(op, store.ErrInvalidReference, "teams_organization_id_fkey")
	}
	now := s.now()
	t := &store.Team{ID: id, OrganizationID: orgID, Name: name, Description: description, Created: now, Modified: now}
	s.teams[id] = t
	return *t, nil
}

func (s *Store) teamByName(orgID int64, name string) *store.Team {
	for _, t := range s.teams {
		if t.OrganizationID == orgID && t.Name == name {
			return t
		}
	}
	return nil
}

// GetTeam is store.Store.GetTeam.
func (s *Store) GetTeam(ctx context.Context, id int64) (store.Team, error) {
	const op = "get team"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetTeam", op); err != nil {
		return store.Team{}, err
	}
	t, ok := s.teams[id]
	if !ok {
		return store.Team{}, notFound(op)
	}
	return *t, nil
}

// GetTeamByName is store.Store.GetTeamByName.
func (s *Store) GetTeamByName(ctx context.Context, orgID int64, name string) (store.Team, error) {
	const op = "get team by name"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetTeamByName", op); err != nil {
		return store.Team{}, err
	}
	t := s.teamByName(orgID, name)
	if t == nil {
		return store.Team{}, notFound(op)
	}
	return *t, nil
}

// UpdateTeam is store.Store.UpdateTeam.
func (s *Store) UpdateTeam(ctx context.Context, id int64, name, description string) (store.Team, error) {
	const op = "update team"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UpdateTeam", op); err != nil {
		return store.Team{}, err
	}
	t, ok := s.teams[id]
	if !ok {
		return store.Team{}, notFound(op)
	}
	if name == "" {
		return store.Team{}, fail(op, store.ErrInvalid, "teams_name_check")
	}
	if other := s.teamByName(t.OrganizationID, name); other != nil && other.ID != id {
		return store.Team{}, fail(op, store.ErrConflict, "teams_organization_id_name_key")
	}
	t.Name, t.Description, t.Modified = name, description, s.now()
	return *t, nil
}

// DeleteTeam is store.Store.DeleteTeam.
func (s *Store) DeleteTeam(ctx context.Context, id int64) error {
	const op = "delete team"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DeleteTeam", op); err != nil {
		return err
	}
	if _, ok := s.teams[id]; !ok {
		return notFound(op)
	}
	for _, i := range s.items {
		if i.ApproverTeamID != nil && *i.ApproverTeamID == id {
			return fail(op, store.ErrReferenced, "catalog_items_approver_team_id_fkey")
		}
	}
	for _, p := range s.policies {
		for _, st := range p.Stages {
			if st.ApproverTeamID != nil && *st.ApproverTeamID == id {
				return fail(op, store.ErrReferenced, "approval_policy_stages_approver_team_id_fkey")
			}
			for _, e := range st.Escalations {
				if e.ApproverTeamID == id {
					return fail(op, store.ErrReferenced, "approval_policy_stage_escalations_approver_team_id_fkey")
				}
			}
		}
	}
	s.dropTeam(id)
	return nil
}

// dropTeam deletes a team that nothing restricts: its memberships go with
// it and request stages forget its id (ON DELETE SET NULL).
func (s *Store) dropTeam(id int64) {
	for p := range s.teamMembers {
		if p.parent == id {
			delete(s.teamMembers, p)
		}
	}
	for _, r := range s.requests {
		for i := range r.Stages {
			if st := &r.Stages[i]; st.ApproverTeamID != nil && *st.ApproverTeamID == id {
				st.ApproverTeamID = nil
			}
		}
	}
	delete(s.teams, id)
}

// ListTeams is store.Store.ListTeams.
func (s *Store) ListTeams(ctx context.Context, f store.TeamFilter, opts store.ListOptions) ([]store.Team, int, error) {
	const op = "list teams"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListTeams", op); err != nil {
		return nil, 0, err
	}
	var rows []store.Team
	for _, t := range s.teams {
		if inIDs(f.OrganizationIDs, t.OrganizationID) && (f.Name == "" || t.Name == f.Name) {
			rows = append(rows, *t)
		}
	}
	return page(op, rows, teamSort, opts)
}

// AddTeamMember is store.Store.AddTeamMember.
func (s *Store) AddTeamMember(ctx context.Context, teamID, userID int64) error {
	const op = "add team member"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "AddTeamMember", op); err != nil {
		return err
	}
	if _, ok := s.teams[teamID]; !ok {
		return fail(op, store.ErrInvalidReference, "team_members_team_id_fkey")
	}
	if _, ok := s.users[userID]; !ok {
		return fail(op, store.ErrInvalidReference, "team_members_user_id_fkey")
	}
	s.teamMembers[pair{teamID, userID}] = true
	return nil
}

// RemoveTeamMember is store.Store.RemoveTeamMember.
func (s *Store) RemoveTeamMember(ctx context.Context, teamID, userID int64) error {
	return s.removeMember(ctx, "RemoveTeamMember", "remove team member", s.teamMembers, teamID, userID)
}

// AddOrgAdmin is store.Store.AddOrgAdmin.
func (s *Store) AddOrgAdmin(ctx context.Context, orgID, userID int64) error {
	return s.addOrgRole(ctx, "AddOrgAdmin", "add organization admin", "organization_admins", s.orgAdmins, orgID, userID)
}

// RemoveOrgAdmin is store.Store.RemoveOrgAdmin.
func (s *Store) RemoveOrgAdmin(ctx context.Context, orgID, userID int64) error {
	return s.removeMember(ctx, "RemoveOrgAdmin", "remove organization admin", s.orgAdmins, orgID, userID)
}

// AddOrgMember is store.Store.AddOrgMember.
func (s *Store) AddOrgMember(ctx context.Context, orgID, userID int64) error {
	return s.addOrgRole(ctx, "AddOrgMember", "add organization member", "organization_members", s.orgMembers, orgID, userID)
}

// RemoveOrgMember is store.Store.RemoveOrgMember.
func (s *Store) RemoveOrgMember(ctx context.Context, orgID, userID int64) error {
	return s.removeMember(ctx, "RemoveOrgMember", "remove organization member", s.orgMembers, orgID, userID)
}

func (s *Store) addOrgRole(ctx context.Context, method, op, table string, m map[pair]bool, orgID, userID int64) error {
	defer s.mu.Unlock()
	if err := s.begin(ctx, method, op); err != nil {
		return err
	}
	if _, ok := s.orgs[orgID]; !ok {
		return fail(op, store.ErrInvalidReference, "%s_organization_id_fkey", table)
	}
	if _, ok := s.users[userID]; !ok {
		return fail(op, store.ErrInvalidReference, "%s_user_id_fkey", table)
	}
	m[pair{orgID, userID}] = true
	return nil
}

func (s *Store) removeMember(ctx context.Context, method, op string, m map[pair]bool, parent, userID int64) error {
	defer s.mu.Unlock()
	if err := s.begin(ctx, method, op); err != nil {
		return err
	}
	if !m[pair{parent, userID}] {
		return notFound(op)
	}
	delete(m, pair{parent, userID})
	return nil
}

// ListTeamMemberUsers is store.Store.ListTeamMemberUsers.
func (s *Store) ListTeamMemberUsers(ctx context.Context, teamID int64, opts store.ListOptions) ([]store.User, int, error) {
	return s.listUsersOf(ctx, "ListTeamMemberUsers", "list team members", s.teamMembers, teamID,
		func() bool { _, ok := s.teams[teamID]; return ok }, opts)
}

// ListOrgAdminUsers is store.Store.ListOrgAdminUsers.
func (s *Store) ListOrgAdminUsers(ctx context.Context, orgID int64, opts store.ListOptions) ([]store.User, int, error) {
	return s.listUsersOf(ctx, "ListOrgAdminUsers", "list organization admins", s.orgAdmins, orgID,
		func() bool { _, ok := s.orgs[orgID]; return ok }, opts)
}

// ListOrgMemberUsers is store.Store.ListOrgMemberUsers.
func (s *Store) ListOrgMemberUsers(ctx context.Context, orgID int64, opts store.ListOptions) ([]store.User, int, error) {
	return s.listUsersOf(ctx, "ListOrgMemberUsers", "list organization members", s.orgMembers, orgID,
		func() bool { _, ok := s.orgs[orgID]; return ok }, opts)
}

// listUsersOf pages the users of one parent row in m; exists says whether
// the parent row exists (called under the lock).
func (s *Store) listUsersOf(ctx context.Context, method, op string, m map[pair]bool, parent int64,
	exists func() bool, opts store.ListOptions) ([]store.User, int, error) {
	defer s.mu.Unlock()
	if err := s.begin(ctx, method, op); err != nil {
		return nil, 0, err
	}
	var rows []store.User
	for p := range m {
		if p.parent == parent {
			rows = append(rows, *s.users[p.user])
		}
	}
	out, total, err := page(op, rows, userSort, opts)
	if err != nil {
		return nil, 0, err
	}
	if !exists() {
		return nil, 0, notFound(op)
	}
	return out, total, nil
}
