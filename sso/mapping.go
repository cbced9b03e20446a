package sso

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/countersign/countersign/store"
)

// Directory is what Resolve needs of the store to find the organizations
// and teams a group map names.
type Directory interface {
	GetOrganizationByName(ctx context.Context, name string) (store.Organization, error)
	GetTeamByName(ctx context.Context, orgID int64, name string) (store.Team, error)
}

// Mapping is a group map resolved against the store: its rules with the
// ids of what they name. Build it once at start with Resolve; a team or
// organization renamed or deleted later is caught at the next start (the
// memberships of a deleted one are gone with it).
type Mapping struct {
	grants map[string][]grant
	// What the map manages, by id, with names for the reasons recorded in
	// request histories.
	teams, adminOf, memberOf map[int64]string
	superuser                bool
}

// grant is one resolved rule: a team, a role in an organization, or
// superuser status.
type grant struct {
	team, adminOf, memberOf int64
	superuser               bool
}

// Resolve looks up every organization and team m names. Every rule naming
// one that does not exist is an error, all of them in one (errors.Join),
// each naming its rule; a store failure is returned as it is.
func (m GroupMap) Resolve(ctx context.Context, d Directory) (*Mapping, error) {
	out := &Mapping{
		grants: map[string][]grant{},
		teams:  map[int64]string{}, adminOf: map[int64]string{}, memberOf: map[int64]string{},
	}
	var problems []error
	for i, r := range m.Rules {
		if r.Superuser {
			out.grants[r.Group] = append(out.grants[r.Group], grant{superuser: true})
			out.superuser = true
			continue
		}
		org, err := d.GetOrganizationByName(ctx, r.Organization)
		if errors.Is(err, store.ErrNotFound) {
			problems = append(problems, fmt.Errorf("group map: rule %d (%s): there is no organization %q", i+1, r, r.Organization))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("group map: rule %d: %w", i+1, err)
		}
		var g grant
		switch {
		case r.Team != "":
			team, err := d.GetTeamByName(ctx, org.ID, r.Team)
			if errors.Is(err, store.ErrNotFound) {
				problems = append(problems, fmt.Errorf("group map: rule %d (%s): organization %q has no team %q", i+1, r, r.Organization, r.Team))
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("group map: rule %d: %w", i+1, err)
			}
			g.team = team.ID
			out.teams[team.ID] = org.Name + "/" + team.Name
		case r.Role == RoleAdmin:
			g.adminOf = org.ID
			out.adminOf[org.ID] = org.Name
		default:
			g.memberOf = org.ID
			out.memberOf[org.ID] = org.Name
		}
		out.grants[r.Group] = append(out.grants[r.Group], g)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return out, nil
}

// Standing is what a user holds, as far as a plan is concerned.
type Standing struct {
	// Roles are the user's teams and organizations (store.UserRoles).
	Roles store.Roles
	// DirectMemberOf are the organizations the user is a member of in
	// their own right (store.DirectOrgMemberships).
	DirectMemberOf []int64
	// Superuser is the user's superuser status.
	Superuser bool
}

// Plan is what a sign-in changes: ids of teams and organizations, sorted.
type Plan struct {
	JoinTeams, LeaveTeams []int64
	// BecomeAdmin and StopAdmin are organizations whose admins the user
	// joins or leaves.
	BecomeAdmin, StopAdmin []int64
	// JoinOrgs and LeaveOrgs are organizations the user joins or leaves
	// as a member in their own right. Membership through a team or as an
	// admin does not stand in for it (those may go on their own), and
	// the user may still belong to an organization left that way.
	JoinOrgs, LeaveOrgs []int64
	// Superuser is the superuser status to set, nil to leave it.
	Superuser *bool
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	return len(p.JoinTeams)+len(p.LeaveTeams)+len(p.BecomeAdmin)+len(p.StopAdmin)+len(p.JoinOrgs)+len(p.LeaveOrgs) == 0 &&
		p.Superuser == nil
}

// Plan compares what groups grant with what the user holds, for what the
// map manages only: the teams it names, the admins and direct members of
// the organizations it names with those roles, superuser status if it has
// a superuser rule. Anything else the user holds is left as it is. Group
// names compare exactly; groups the map does not name grant nothing.
func (m *Mapping) Plan(groups []string, have Standing) Plan {
	wantTeams, wantAdmin, wantMember := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	wantSuper := false
	for _, group := range groups {
		for _, g := range m.grants[group] {
			switch {
			case g.superuser:
				wantSuper = true
			case g.team != 0:
				wantTeams[g.team] = true
			case g.adminOf != 0:
				wantAdmin[g.adminOf] = true
			default:
				wantMember[g.memberOf] = true
			}
		}
	}
	hasTeams := map[int64]bool{}
	for _, t := range have.Roles.Teams {
		hasTeams[t.ID] = true
	}
	var p Plan
	p.JoinTeams, p.LeaveTeams = reconcile(m.teams, wantTeams, hasTeams)
	p.BecomeAdmin, p.StopAdmin = reconcile(m.adminOf, wantAdmin, setOf(have.Roles.AdminOf))
	p.JoinOrgs, p.LeaveOrgs = reconcile(m.memberOf, wantMember, setOf(have.DirectMemberOf))
	if m.superuser && wantSuper != have.Superuser {
		p.Superuser = &wantSuper
	}
	return p
}

// reconcile returns what to add and what to remove among the managed ids
// so that has becomes want.
func reconcile(managed map[int64]string, want, has map[int64]bool) (add, remove []int64) {
	for _, id := range sortedKeys(managed) {
		switch {
		case want[id] && !has[id]:
			add = append(add, id)
		case !want[id] && has[id]:
			remove = append(remove, id)
		}
	}
	return add, remove
}

func setOf(ids []int64) map[int64]bool {
	s := make(map[int64]bool, len(ids))
	for _, id := range ids {
		s[id] = true
	}
	return s
}

func sortedKeys[V any](m map[int64]V) []int64 {
	return slices.Sorted(maps.Keys(m))
}
