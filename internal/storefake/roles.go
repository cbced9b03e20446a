package storefake

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/countersign/countersign/store"
)

// Roster is store.Store.Roster.
func (s *Store) Roster(ctx context.Context, orgID int64, teamID *int64) (store.Roster, error) {
	const op = "roster"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "Roster", op); err != nil {
		return store.Roster{}, err
	}
	if _, ok := s.orgs[orgID]; !ok {
		return store.Roster{}, fail(op, store.ErrNotFound, "organization %d", orgID)
	}
	if teamID != nil {
		if t, ok := s.teams[*teamID]; !ok || t.OrganizationID != orgID {
			return store.Roster{}, fail(op, store.ErrNotFound, "team %d in organization %d", *teamID, orgID)
		}
	}
	r := store.Roster{TeamMembers: []string{}, OrgAdmins: []string{}, Superusers: []string{}}
	if teamID != nil {
		r.TeamName = s.teams[*teamID].Name
	}
	for p := range s.teamMembers {
		if teamID != nil && p.parent == *teamID && s.users[p.user].IsActive {
			r.TeamMembers = append(r.TeamMembers, s.users[p.user].Username)
		}
	}
	for p := range s.orgAdmins {
		if p.parent == orgID && s.users[p.user].IsActive {
			r.OrgAdmins = append(r.OrgAdmins, s.users[p.user].Username)
		}
	}
	for _, u := range s.users {
		if u.IsSuperuser && u.IsActive {
			r.Superusers = append(r.Superusers, u.Username)
		}
	}
	slices.Sort(r.TeamMembers)
	slices.Sort(r.OrgAdmins)
	slices.Sort(r.Superusers)
	s.rosterDelegations(&r, orgID, teamID)
	return r, nil
}

// rosterDelegations adds to r the delegations of the users who decide a
// stage of organization orgID with approver team teamID (its members, or
// the org admins when nil), as store.Store.Roster does.
func (s *Store) rosterDelegations(r *store.Roster, orgID int64, teamID *int64) {
	deciders := map[int64]bool{}
	for p := range s.teamMembers {
		if teamID != nil && p.parent == *teamID {
			deciders[p.user] = true
		}
	}
	for p := range s.orgAdmins {
		if teamID == nil && p.parent == orgID {
			deciders[p.user] = true
		}
	}
	now := s.now()
	var next *time.Time
	for _, d := range s.delegations {
		if !deciders[d.DelegatorID] || !d.Ends.After(now) {
			continue
		}
		change := d.Ends
		if d.Starts.After(now) {
			change = d.Starts
		}
		if next == nil || change.Before(*next) {
			next = &change
		}
		if d.Starts.After(now) || !s.users[d.DelegatorID].IsActive || !s.users[d.DelegateID].IsActive {
			continue
		}
		r.Delegations = append(r.Delegations, store.RosterDelegation{Delegator: s.users[d.DelegatorID].Username,
			Delegate: s.users[d.DelegateID].Username, Starts: d.Starts.UTC(), Ends: d.Ends.UTC()})
	}
	slices.SortFunc(r.Delegations, func(a, b store.RosterDelegation) int {
		return cmp.Or(cmp.Compare(a.Delegator, b.Delegator), cmp.Compare(a.Delegate, b.Delegate))
	})
	if next != nil {
		t := next.UTC()
		r.NextDelegationChange = &t
	}
}

// UserRoles is store.Store.UserRoles.
func (s *Store) UserRoles(ctx context.Context, userID int64) (store.Roles, error) {
	const op = "user roles"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UserRoles", op); err != nil {
		return store.Roles{}, err
	}
	if _, ok := s.users[userID]; !ok {
		return store.Roles{}, notFound(op)
	}
	return s.rolesOf(userID), nil
}

// rolesOf is an existing user's roles; s.mu is held.
func (s *Store) rolesOf(userID int64) store.Roles {
	roles := store.Roles{Teams: []store.TeamRef{}, AdminOf: []int64{}, MemberOf: []int64{}}
	for p := range s.teamMembers {
		if p.user == userID {
			t := s.teams[p.parent]
			roles.Teams = append(roles.Teams, store.TeamRef{ID: t.ID, Name: t.Name, OrganizationID: t.OrganizationID})
			roles.MemberOf = append(roles.MemberOf, t.OrganizationID)
		}
	}
	slices.SortFunc(roles.Teams, func(a, b store.TeamRef) int {
		return cmp.Or(cmp.Compare(a.OrganizationID, b.OrganizationID), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	for p := range s.orgAdmins {
		if p.user == userID {
			roles.AdminOf = append(roles.AdminOf, p.parent)
			roles.MemberOf = append(roles.MemberOf, p.parent)
		}
	}
	for p := range s.orgMembers {
		if p.user == userID {
			roles.MemberOf = append(roles.MemberOf, p.parent)
		}
	}
	slices.Sort(roles.AdminOf)
	slices.Sort(roles.MemberOf)
	roles.MemberOf = slices.Compact(roles.MemberOf)
	return roles
}
