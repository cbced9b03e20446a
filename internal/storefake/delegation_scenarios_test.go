package storefake_test

import (
	"context"
	"time"

	"github.com/countersign/countersign/store"
)

var delegationScenarios = []scenario{
	{"delegations", func(ctx context.Context, s Store, r *rec) {
		org := got[store.Organization](r, "create org")(s.CreateOrganization(ctx, "acme", ""))
		team := got[store.Team](r, "create team")(s.CreateTeam(ctx, org.ID, "sre", ""))
		users := map[string]store.User{}
		for _, name := range []string{"alice", "bob", "carol", "erin"} {
			users[name] = got[store.User](r, "create "+name)(s.CreateUser(ctx, store.NewUser{Username: name}))
		}
		r.err("bob joins sre", s.AddTeamMember(ctx, team.ID, users["bob"].ID))
		r.err("erin administers acme", s.AddOrgAdmin(ctx, org.ID, users["erin"].ID))
		// Rosters read the clock: times far from it keep both runs alike.
		now := time.Now().UTC().Truncate(time.Second)
		create := func(label, from, to string, starts, ends time.Duration, limit int) store.Delegation {
			return got[store.Delegation](r, label)(s.CreateDelegation(ctx, store.NewDelegation{
				DelegatorID: users[from].ID, DelegateID: users[to].ID, Starts: now.Add(starts), Ends: now.Add(ends),
				Reason: "away", CreatedBy: users[from].ID, MaxOpen: limit, Now: now}))
		}
		active := create("bob to carol", "bob", "carol", -time.Hour, 48*time.Hour, 2)
		create("bob to alice, later", "bob", "alice", 24*time.Hour, 72*time.Hour, 2)
		create("bob beyond the limit", "bob", "alice", 0, time.Hour, 2)
		create("erin to carol", "erin", "carol", -time.Hour, 36*time.Hour, 0)
		create("to oneself", "carol", "carol", 0, time.Hour, 0)
		create("ends before it starts", "carol", "bob", time.Hour, 0, 0)
		got[store.Delegation](r, "to nobody")(s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: users["bob"].ID,
			DelegateID: 999, Starts: now, Ends: now.Add(time.Hour), CreatedBy: users["bob"].ID, Now: now}))

		got[[]int64](r, "pending for carol, a delegate")(s.PendingRequestsForUser(ctx, users["carol"].ID))
		got[store.Roster](r, "team roster")(s.Roster(ctx, org.ID, &team.ID))
		got[store.Roster](r, "org-admin roster")(s.Roster(ctx, org.ID, nil))
		page[store.Delegation](r, "list bob's")(s.ListDelegations(ctx, users["bob"].ID, store.ListOptions{OrderBy: []string{"-starts"}}))
		page[store.Delegation](r, "list by unknown")(s.ListDelegations(ctx, users["bob"].ID, store.ListOptions{OrderBy: []string{"reason"}}))
		page[store.Delegation](r, "list nobody's")(s.ListDelegations(ctx, 999, store.ListOptions{}))
		got[store.Delegation](r, "get")(s.GetDelegation(ctx, active.ID))
		r.err("delete", s.DeleteDelegation(ctx, active.ID))
		r.err("delete again", s.DeleteDelegation(ctx, active.ID))
		got[store.Delegation](r, "get deleted")(s.GetDelegation(ctx, active.ID))
		got[store.Roster](r, "team roster without it")(s.Roster(ctx, org.ID, &team.ID))
		r.err("delete alice", s.DeleteUser(ctx, users["alice"].ID))
		page[store.Delegation](r, "bob's without alice")(s.ListDelegations(ctx, users["bob"].ID, store.ListOptions{}))
	}},
}
