package storefake_test

import (
	"context"
	"time"

	"github.com/countersign/countersign/store"
)

var identityScenarios = []scenario{
	{"organizations", func(ctx context.Context, s Store, r *rec) {
		acme := got[store.Organization](r, "create acme")(s.CreateOrganization(ctx, "acme", "Acme Corp"))
		got[store.Organization](r, "create acme again")(s.CreateOrganization(ctx, "acme", "other"))
		got[store.Organization](r, "create unnamed")(s.CreateOrganization(ctx, "", ""))
		beta := got[store.Organization](r, "create beta")(s.CreateOrganization(ctx, "beta", ""))
		got[store.Organization](r, "create Beta")(s.CreateOrganization(ctx, "Beta", ""))
		got[store.Organization](r, "get acme")(s.GetOrganization(ctx, acme.ID))
		got[store.Organization](r, "get missing")(s.GetOrganization(ctx, 999))
		got[store.Organization](r, "get by name")(s.GetOrganizationByName(ctx, "beta"))
		got[store.Organization](r, "get by other case")(s.GetOrganizationByName(ctx, "BETA"))
		got[store.Organization](r, "rename to taken")(s.UpdateOrganization(ctx, acme.ID, "beta", ""))
		got[store.Organization](r, "rename to empty")(s.UpdateOrganization(ctx, acme.ID, "", ""))
		got[store.Organization](r, "rename missing")(s.UpdateOrganization(ctx, 999, "x", ""))
		got[store.Organization](r, "keep name")(s.UpdateOrganization(ctx, acme.ID, "acme", "Acme"))
		got[store.Organization](r, "link AWX")(s.LinkAWXOrganization(ctx, beta.ID, ptr(int64(4))))
		got[store.Organization](r, "unlink AWX")(s.LinkAWXOrganization(ctx, beta.ID, nil))
		got[store.Organization](r, "link missing")(s.LinkAWXOrganization(ctx, 999, ptr(int64(4))))
		for _, name := range []string{"delta", "gamma", "_x", "alpha"} {
			got[store.Organization](r, "create "+name)(s.CreateOrganization(ctx, name, ""))
		}
		all := store.ListOptions{}
		page[store.Organization](r, "list")(s.ListOrganizations(ctx, store.OrganizationFilter{}, all))
		page[store.Organization](r, "list by name")(s.ListOrganizations(ctx, store.OrganizationFilter{},
			store.ListOptions{OrderBy: []string{"name"}}))
		page[store.Organization](r, "list by -name, page 2 of 3")(s.ListOrganizations(ctx, store.OrganizationFilter{},
			store.ListOptions{OrderBy: []string{"-name"}, Page: 2, PageSize: 3}))
		page[store.Organization](r, "list past the end")(s.ListOrganizations(ctx, store.OrganizationFilter{},
			store.ListOptions{Page: 9, PageSize: 3}))
		page[store.Organization](r, "list by created, -id")(s.ListOrganizations(ctx, store.OrganizationFilter{},
			store.ListOptions{OrderBy: []string{"created, -id"}}))
		page[store.Organization](r, "list named beta")(s.ListOrganizations(ctx, store.OrganizationFilter{Name: "beta"}, all))
		page[store.Organization](r, "list ids")(s.ListOrganizations(ctx, store.OrganizationFilter{IDs: []int64{acme.ID, 999}}, all))
		page[store.Organization](r, "list no ids")(s.ListOrganizations(ctx, store.OrganizationFilter{IDs: []int64{}}, all))
		page[store.Organization](r, "order by unknown")(s.ListOrganizations(ctx, store.OrganizationFilter{},
			store.ListOptions{OrderBy: []string{"name", "-color"}}))
		page[store.Organization](r, "page size too big")(s.ListOrganizations(ctx, store.OrganizationFilter{},
			store.ListOptions{PageSize: 201}))
		page[store.Organization](r, "page size negative")(s.ListOrganizations(ctx, store.OrganizationFilter{},
			store.ListOptions{PageSize: -1}))
		page[store.Organization](r, "page negative")(s.ListOrganizations(ctx, store.OrganizationFilter{},
			store.ListOptions{Page: -2}))
		r.err("delete missing", s.DeleteOrganization(ctx, 999))
		r.err("delete beta", s.DeleteOrganization(ctx, beta.ID))
		got[store.Organization](r, "get deleted")(s.GetOrganization(ctx, beta.ID))
		got[store.Organization](r, "create beta again")(s.CreateOrganization(ctx, "beta", ""))
	}},
	{"users", func(ctx context.Context, s Store, r *rec) {
		alice := got[store.User](r, "create alice")(s.CreateUser(ctx, store.NewUser{
			Username: "alice", Email: "Alice@Example.com", FirstName: "Alice", LastName: "Liddell",
		}))
		got[store.User](r, "create alice again")(s.CreateUser(ctx, store.NewUser{Username: "alice"}))
		got[store.User](r, "create unnamed")(s.CreateUser(ctx, store.NewUser{Email: "x@example.com"}))
		got[store.User](r, "create Alice")(s.CreateUser(ctx, store.NewUser{Username: "Alice"}))
		root := got[store.User](r, "create root")(s.CreateUser(ctx, store.NewUser{Username: "root", IsSuperuser: true}))
		bob := got[store.User](r, "create bob")(s.CreateUser(ctx, store.NewUser{
			Username: "bob", Email: "bob@example.org", LastName: "100%_sure",
		}))
		got[store.User](r, "get alice")(s.GetUser(ctx, alice.ID))
		got[store.User](r, "get missing")(s.GetUser(ctx, 999))
		got[store.User](r, "get bob by name")(s.GetUserByUsername(ctx, "bob"))
		got[store.User](r, "get by missing name")(s.GetUserByUsername(ctx, "BOB"))
		got[store.User](r, "update nothing")(s.UpdateUser(ctx, bob.ID, store.UserUpdate{}))
		got[store.User](r, "update some")(s.UpdateUser(ctx, bob.ID, store.UserUpdate{
			FirstName: ptr("Robert"), Email: ptr(""), IsActive: ptr(false),
		}))
		got[store.User](r, "update missing")(s.UpdateUser(ctx, 999, store.UserUpdate{FirstName: ptr("x")}))
		all := store.ListOptions{}
		page[store.User](r, "list")(s.ListUsers(ctx, store.UserFilter{}, all))
		page[store.User](r, "list by -username")(s.ListUsers(ctx, store.UserFilter{}, store.ListOptions{OrderBy: []string{"-username"}}))
		page[store.User](r, "list by last name, email")(s.ListUsers(ctx, store.UserFilter{},
			store.ListOptions{OrderBy: []string{"last_name", "email"}}))
		page[store.User](r, "search exam")(s.ListUsers(ctx, store.UserFilter{Search: "EXAM"}, all))
		page[store.User](r, "search literal percent")(s.ListUsers(ctx, store.UserFilter{Search: "0%_"}, all))
		page[store.User](r, "search wildcard taken literally")(s.ListUsers(ctx, store.UserFilter{Search: "a_i"}, all))
		page[store.User](r, "by username")(s.ListUsers(ctx, store.UserFilter{Username: "root"}, all))
		page[store.User](r, "visible to bob")(s.ListUsers(ctx, store.UserFilter{
			Visibility: &store.UserVisibility{UserID: bob.ID},
		}, all))
		page[store.User](r, "bad order")(s.ListUsers(ctx, store.UserFilter{}, store.ListOptions{OrderBy: []string{"-password"}}))
		r.err("delete root", s.DeleteUser(ctx, root.ID))
		r.err("delete root again", s.DeleteUser(ctx, root.ID))
		got[store.User](r, "create root again")(s.CreateUser(ctx, store.NewUser{Username: "root"}))
	}},
	{"provider identities", func(ctx context.Context, s Store, r *rec) {
		const iss = "https://idp.example.com"
		alice := got[store.User](r, "create alice")(s.CreateUser(ctx, store.NewUser{Username: "alice"}))
		bob := got[store.User](r, "create bob")(s.CreateUser(ctx, store.NewUser{Username: "bob"}))
		got[store.User](r, "unlinked")(s.UserBySubject(ctx, iss, "s-alice"))
		r.err("link alice", s.LinkUserSubject(ctx, alice.ID, iss, "s-alice"))
		r.err("link alice again", s.LinkUserSubject(ctx, alice.ID, iss, "s-alice"))
		r.err("relink alice", s.LinkUserSubject(ctx, alice.ID, iss, "s-other"))
		r.err("link bob to alice's", s.LinkUserSubject(ctx, bob.ID, iss, "s-alice"))
		r.err("link bob to another issuer's", s.LinkUserSubject(ctx, bob.ID, "https://other.example.com", "s-alice"))
		r.err("link empty subject", s.LinkUserSubject(ctx, alice.ID, iss, ""))
		r.err("link empty issuer", s.LinkUserSubject(ctx, 999, "", "s"))
		r.err("link missing", s.LinkUserSubject(ctx, 999, iss, "s"))
		got[store.User](r, "alice by subject")(s.UserBySubject(ctx, iss, "s-alice"))
		got[store.User](r, "subject of another issuer")(s.UserBySubject(ctx, "https://other.example.com", "s-alice"))
		acme := got[store.Organization](r, "create acme")(s.CreateOrganization(ctx, "acme", ""))
		beta := got[store.Organization](r, "create beta")(s.CreateOrganization(ctx, "beta", ""))
		sre := got[store.Team](r, "create sre")(s.CreateTeam(ctx, acme.ID, "sre", ""))
		r.err("bob joins sre", s.AddTeamMember(ctx, sre.ID, bob.ID))
		r.err("bob administers acme", s.AddOrgAdmin(ctx, acme.ID, bob.ID))
		got[[]int64](r, "bob's direct memberships, none")(s.DirectOrgMemberships(ctx, bob.ID))
		r.err("bob joins beta", s.AddOrgMember(ctx, beta.ID, bob.ID))
		r.err("bob joins acme", s.AddOrgMember(ctx, acme.ID, bob.ID))
		got[[]int64](r, "bob's direct memberships")(s.DirectOrgMemberships(ctx, bob.ID))
		got[[]int64](r, "a missing user's")(s.DirectOrgMemberships(ctx, 999))
		r.err("delete alice", s.DeleteUser(ctx, alice.ID))
		got[store.User](r, "deleted")(s.UserBySubject(ctx, iss, "s-alice"))
		carol := got[store.User](r, "create carol")(s.CreateUser(ctx, store.NewUser{Username: "carol"}))
		r.err("link carol to the freed subject", s.LinkUserSubject(ctx, carol.ID, iss, "s-alice"))
		r.err("link bob empty", s.LinkUserSubject(ctx, bob.ID, iss, ""))
	}},
	{"context", func(_ context.Context, s Store, r *rec) {
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		got[store.User](r, "canceled")(s.CreateUser(canceled, store.NewUser{Username: "alice"}))
		late, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		got[store.Organization](r, "past deadline")(s.GetOrganization(late, 1))
		page[store.User](r, "nothing was written")(s.ListUsers(context.Background(), store.UserFilter{}, store.ListOptions{}))
	}},
}
