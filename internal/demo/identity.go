// Package demo seeds the demo organization of SPEC 8.1. Seeding is
// idempotent: what exists is reused, so running it again changes nothing.
package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/countersign/countersign/store"
)

// OrgName is the demo organization.
const OrgName = "acme"

// AWXOrganization is the AWX organization of the simulator's templates,
// which acme's admins may offer.
const AWXOrganization int64 = 1

// Users of the demo organization, in SPEC 8.1's order.
var demoUsers = []store.NewUser{
	{Username: "admin", Email: "admin@acme.example", FirstName: "Ada", LastName: "Admin", IsSuperuser: true},
	{Username: "erin", Email: "erin@acme.example", FirstName: "Erin", LastName: "Org-Admin"},
	{Username: "alice", Email: "alice@acme.example", FirstName: "Alice", LastName: "Requester"},
	{Username: "bob", Email: "bob@acme.example", FirstName: "Bob", LastName: "SRE"},
	{Username: "carol", Email: "carol@acme.example", FirstName: "Carol", LastName: "SRE"},
	{Username: "dave", Email: "dave@acme.example", FirstName: "Dave", LastName: "Security"},
}

// demoTeams maps each team to its members.
var demoTeams = []struct {
	name, description string
	members           []string
}{
	{"sre", "Site reliability engineering", []string{"bob", "carol"}},
	{"security", "Security review", []string{"dave"}},
}

// Users are the demo organization's users, in SPEC 8.1's order: the ones
// SeedIdentity creates, and the local OpenID provider's demo users.
func Users() []store.NewUser { return slices.Clone(demoUsers) }

// TeamMembers maps each demo team to its members' usernames.
func TeamMembers() map[string][]string {
	m := map[string][]string{}
	for _, t := range demoTeams {
		m[t.name] = slices.Clone(t.members)
	}
	return m
}

// Identity is the seeded organization, users by username and teams by name.
type Identity struct {
	Org   store.Organization
	Users map[string]store.User
	Teams map[string]store.Team
}

// SeedIdentity creates (or finds) the organization acme, its users admin
// (superuser), erin (org admin), alice (member), bob and carol (team sre)
// and dave (team security).
func SeedIdentity(ctx context.Context, st *store.Store) (Identity, error) {
	id := Identity{Users: map[string]store.User{}, Teams: map[string]store.Team{}}
	org, err := getOrCreate(
		func() (store.Organization, error) { return st.CreateOrganization(ctx, OrgName, "Demo organization") },
		func() (store.Organization, error) { return st.GetOrganizationByName(ctx, OrgName) })
	if err != nil {
		return id, fmt.Errorf("seed organization: %w", err)
	}
	if org.AWXOrganization == nil {
		awxOrg := AWXOrganization
		if org, err = st.LinkAWXOrganization(ctx, org.ID, &awxOrg); err != nil {
			return id, fmt.Errorf("seed organization: %w", err)
		}
	}
	id.Org = org
	for _, nu := range demoUsers {
		u, err := getOrCreate(
			func() (store.User, error) { return st.CreateUser(ctx, nu) },
			func() (store.User, error) { return st.GetUserByUsername(ctx, nu.Username) })
		if err != nil {
			return id, fmt.Errorf("seed user %s: %w", nu.Username, err)
		}
		id.Users[nu.Username] = u
	}
	if err := st.AddOrgAdmin(ctx, org.ID, id.Users["erin"].ID); err != nil {
		return id, fmt.Errorf("seed org admin: %w", err)
	}
	if err := st.AddOrgMember(ctx, org.ID, id.Users["alice"].ID); err != nil {
		return id, fmt.Errorf("seed org member: %w", err)
	}
	for _, dt := range demoTeams {
		team, err := getOrCreate(
			func() (store.Team, error) { return st.CreateTeam(ctx, org.ID, dt.name, dt.description) },
			func() (store.Team, error) { return st.GetTeamByName(ctx, org.ID, dt.name) })
		if err != nil {
			return id, fmt.Errorf("seed team %s: %w", dt.name, err)
		}
		id.Teams[dt.name] = team
		for _, m := range dt.members {
			if err := st.AddTeamMember(ctx, team.ID, id.Users[m].ID); err != nil {
				return id, fmt.Errorf("seed member %s of %s: %w", m, dt.name, err)
			}
		}
	}
	return id, nil
}

// getOrCreate creates an object, or gets the existing one when it exists.
func getOrCreate[T any](create, get func() (T, error)) (T, error) {
	v, err := create()
	if errors.Is(err, store.ErrConflict) {
		return get()
	}
	return v, err
}
