package storefake_test

import (
	"context"
	"strings"
	"time"

	"github.com/countersign/countersign/store"
)

// people creates users by name, and returns them by name.
func people(ctx context.Context, s Store, r *rec, names ...string) map[string]store.User {
	out := map[string]store.User{}
	for _, name := range names {
		out[name] = got[store.User](r, "create "+name)(s.CreateUser(ctx, store.NewUser{
			Username: name, Email: name + "@example.com", IsSuperuser: strings.HasPrefix(name, "root"),
		}))
	}
	return out
}

var accessScenarios = []scenario{
	{"teams and memberships", func(ctx context.Context, s Store, r *rec) {
		acme := got[store.Organization](r, "create acme")(s.CreateOrganization(ctx, "acme", ""))
		beta := got[store.Organization](r, "create beta")(s.CreateOrganization(ctx, "beta", ""))
		u := people(ctx, s, r, "root", "root2", "erin", "bob", "carol", "dave", "mallory")
		sre := got[store.Team](r, "create sre")(s.CreateTeam(ctx, acme.ID, "sre", "Site reliability"))
		got[store.Team](r, "create sre again")(s.CreateTeam(ctx, acme.ID, "sre", ""))
		got[store.Team](r, "create unnamed")(s.CreateTeam(ctx, acme.ID, "", ""))
		got[store.Team](r, "create in missing org")(s.CreateTeam(ctx, 999, "x", ""))
		betaSRE := got[store.Team](r, "create sre in beta")(s.CreateTeam(ctx, beta.ID, "sre", ""))
		sec := got[store.Team](r, "create security")(s.CreateTeam(ctx, acme.ID, "security", ""))
		got[store.Team](r, "get sre")(s.GetTeam(ctx, sre.ID))
		got[store.Team](r, "get missing")(s.GetTeam(ctx, 999))
		got[store.Team](r, "get by name")(s.GetTeamByName(ctx, beta.ID, "sre"))
		got[store.Team](r, "get by name in other org")(s.GetTeamByName(ctx, beta.ID, "security"))
		got[store.Team](r, "rename to taken")(s.UpdateTeam(ctx, sec.ID, "sre", ""))
		got[store.Team](r, "rename to empty")(s.UpdateTeam(ctx, sec.ID, "", ""))
		got[store.Team](r, "rename missing")(s.UpdateTeam(ctx, 999, "x", ""))
		sec = got[store.Team](r, "rename")(s.UpdateTeam(ctx, sec.ID, "secops", "Security"))
		page[store.Team](r, "list teams")(s.ListTeams(ctx, store.TeamFilter{}, store.ListOptions{OrderBy: []string{"name", "-organization"}}))
		page[store.Team](r, "list acme's teams")(s.ListTeams(ctx, store.TeamFilter{OrganizationIDs: []int64{acme.ID}}, store.ListOptions{}))
		page[store.Team](r, "list teams named sre")(s.ListTeams(ctx, store.TeamFilter{Name: "sre"}, store.ListOptions{}))
		page[store.Team](r, "list no orgs' teams")(s.ListTeams(ctx, store.TeamFilter{OrganizationIDs: []int64{}}, store.ListOptions{}))

		r.err("add bob to sre", s.AddTeamMember(ctx, sre.ID, u["bob"].ID))
		r.err("add bob to sre again", s.AddTeamMember(ctx, sre.ID, u["bob"].ID))
		r.err("add carol to sre", s.AddTeamMember(ctx, sre.ID, u["carol"].ID))
		r.err("add dave to secops", s.AddTeamMember(ctx, sec.ID, u["dave"].ID))
		r.err("add carol to beta's sre", s.AddTeamMember(ctx, betaSRE.ID, u["carol"].ID))
		r.err("add to missing team", s.AddTeamMember(ctx, 999, u["bob"].ID))
		r.err("add missing user", s.AddTeamMember(ctx, sre.ID, 999))
		r.err("add erin as admin", s.AddOrgAdmin(ctx, acme.ID, u["erin"].ID))
		r.err("add erin as admin again", s.AddOrgAdmin(ctx, acme.ID, u["erin"].ID))
		r.err("add admin to missing org", s.AddOrgAdmin(ctx, 999, u["erin"].ID))
		r.err("add missing admin", s.AddOrgAdmin(ctx, acme.ID, 999))
		r.err("add mallory as member", s.AddOrgMember(ctx, beta.ID, u["mallory"].ID))
		r.err("add member to missing org", s.AddOrgMember(ctx, 999, u["mallory"].ID))
		r.err("add missing member", s.AddOrgMember(ctx, beta.ID, 999))
		r.err("remove non-member", s.RemoveTeamMember(ctx, sre.ID, u["dave"].ID))
		r.err("remove non-admin", s.RemoveOrgAdmin(ctx, acme.ID, u["bob"].ID))
		r.err("remove non-org-member", s.RemoveOrgMember(ctx, acme.ID, u["bob"].ID))

		for _, name := range []string{"root", "erin", "bob", "carol", "dave", "mallory"} {
			got[store.Roles](r, "roles of "+name)(s.UserRoles(ctx, u[name].ID))
		}
		got[store.Roles](r, "roles of missing user")(s.UserRoles(ctx, 999))
		page[store.User](r, "sre members")(s.ListTeamMemberUsers(ctx, sre.ID, store.ListOptions{OrderBy: []string{"-username"}}))
		page[store.User](r, "missing team's members")(s.ListTeamMemberUsers(ctx, 999, store.ListOptions{}))
		page[store.User](r, "missing team's members, bad order")(s.ListTeamMemberUsers(ctx, 999, store.ListOptions{OrderBy: []string{"x"}}))
		page[store.User](r, "acme admins")(s.ListOrgAdminUsers(ctx, acme.ID, store.ListOptions{}))
		page[store.User](r, "missing org's admins")(s.ListOrgAdminUsers(ctx, 999, store.ListOptions{}))
		page[store.User](r, "beta members")(s.ListOrgMemberUsers(ctx, beta.ID, store.ListOptions{}))
		page[store.User](r, "acme members")(s.ListOrgMemberUsers(ctx, acme.ID, store.ListOptions{}))
		page[store.User](r, "missing org's members")(s.ListOrgMemberUsers(ctx, 999, store.ListOptions{}))
		page[store.User](r, "visible to erin")(s.ListUsers(ctx, store.UserFilter{
			Visibility: &store.UserVisibility{UserID: u["erin"].ID, AdminOrgIDs: []int64{acme.ID}},
		}, store.ListOptions{}))

		got[store.Roster](r, "roster of sre")(s.Roster(ctx, acme.ID, &sre.ID))
		got[store.Roster](r, "roster of admins")(s.Roster(ctx, acme.ID, nil))
		got[store.Roster](r, "roster of another org's team")(s.Roster(ctx, acme.ID, &betaSRE.ID))
		got[store.Roster](r, "roster of missing team")(s.Roster(ctx, acme.ID, ptr(int64(999))))
		got[store.Roster](r, "roster of missing org")(s.Roster(ctx, 999, nil))
		got[store.User](r, "deactivate carol")(s.UpdateUser(ctx, u["carol"].ID, store.UserUpdate{IsActive: ptr(false)}))
		got[store.User](r, "deactivate root2")(s.UpdateUser(ctx, u["root2"].ID, store.UserUpdate{IsActive: ptr(false)}))
		got[store.Roster](r, "roster without carol")(s.Roster(ctx, acme.ID, &sre.ID))

		r.err("remove bob from sre", s.RemoveTeamMember(ctx, sre.ID, u["bob"].ID))
		r.err("remove erin as admin", s.RemoveOrgAdmin(ctx, acme.ID, u["erin"].ID))
		r.err("remove mallory as member", s.RemoveOrgMember(ctx, beta.ID, u["mallory"].ID))
		got[store.Roles](r, "bob's roles after")(s.UserRoles(ctx, u["bob"].ID))
		r.err("delete dave", s.DeleteUser(ctx, u["dave"].ID))
		page[store.User](r, "secops members after")(s.ListTeamMemberUsers(ctx, sec.ID, store.ListOptions{}))
		r.err("delete secops", s.DeleteTeam(ctx, sec.ID))
		r.err("delete secops again", s.DeleteTeam(ctx, sec.ID))
		r.err("delete beta", s.DeleteOrganization(ctx, beta.ID))
		got[store.Team](r, "beta's team went with it")(s.GetTeam(ctx, betaSRE.ID))
		got[store.Roles](r, "carol's roles after")(s.UserRoles(ctx, u["carol"].ID))
	}},
	{"tokens", func(ctx context.Context, s Store, r *rec) {
		u := people(ctx, s, r, "alice", "bob")
		plain, tok, err := s.CreateToken(ctx, u["alice"].ID, "laptop")
		r.add("create token", map[string]any{
			"token": tok, "cs_": strings.HasPrefix(plain, "cs_"), "len": len(plain), "prefix": strings.HasPrefix(plain, tok.Prefix),
		}, err)
		_, _, err = s.CreateToken(ctx, 999, "x")
		r.err("create token for missing user", err)
		plain2, tok2, err := s.CreateToken(ctx, u["alice"].ID, "ci")
		r.add("create second token", tok2, err)
		bobs, bobTok, err := s.CreateToken(ctx, u["bob"].ID, "bob's")
		r.add("create bob's token", bobTok, err)

		user, t, roles, err := s.AuthenticateToken(ctx, plain)
		r.add("authenticate", []any{user, t, roles}, err)
		user, t, roles, err = s.AuthenticateToken(ctx, plain+"x")
		r.add("authenticate wrong text", []any{user, t, roles}, err)
		_, _, _, err = s.AuthenticateToken(ctx, "")
		r.err("authenticate empty", err)

		now := time.Date(2026, 3, 1, 10, 0, 0, 999999500, time.UTC)
		r.err("touch", s.TouchToken(ctx, tok.ID, now))
		r.err("touch missing", s.TouchToken(ctx, 999, now))
		touched := got[store.Token](r, "touched")(s.GetToken(ctx, tok.ID))
		r.add("last used", instants(touched.LastUsed), nil)
		r.err("touch within a minute", s.TouchToken(ctx, tok.ID, now.Add(time.Minute)))
		r.err("touch after a minute", s.TouchToken(ctx, tok.ID, now.Add(time.Minute+time.Microsecond)))
		touched = got[store.Token](r, "touched again")(s.GetToken(ctx, tok.ID))
		r.add("last used again", instants(touched.LastUsed), nil)
		page[store.Token](r, "tokens by -last_used")(s.ListTokens(ctx, u["alice"].ID, store.ListOptions{OrderBy: []string{"-last_used"}}))
		page[store.Token](r, "tokens by last_used")(s.ListTokens(ctx, u["alice"].ID, store.ListOptions{OrderBy: []string{"last_used"}}))
		page[store.Token](r, "tokens by description")(s.ListTokens(ctx, u["alice"].ID, store.ListOptions{OrderBy: []string{"description"}}))
		page[store.Token](r, "tokens of missing user")(s.ListTokens(ctx, 999, store.ListOptions{}))
		page[store.Token](r, "bad order")(s.ListTokens(ctx, 999, store.ListOptions{OrderBy: []string{"prefix"}}))

		r.err("revoke", s.RevokeToken(ctx, tok2.ID))
		r.err("revoke again", s.RevokeToken(ctx, tok2.ID))
		r.err("revoke missing", s.RevokeToken(ctx, 999))
		_, _, _, err = s.AuthenticateToken(ctx, plain2)
		r.err("authenticate revoked", err)
		got[store.Token](r, "get revoked")(s.GetToken(ctx, tok2.ID))
		got[store.Token](r, "get missing")(s.GetToken(ctx, 999))

		got[store.User](r, "deactivate bob")(s.UpdateUser(ctx, u["bob"].ID, store.UserUpdate{IsActive: ptr(false)}))
		_, _, _, err = s.AuthenticateToken(ctx, bobs)
		r.err("authenticate inactive", err)
		r.err("delete bob", s.DeleteUser(ctx, u["bob"].ID))
		got[store.Token](r, "bob's token went with him")(s.GetToken(ctx, bobTok.ID))
	}},
	{"decision keys", func(ctx context.Context, s Store, r *rec) {
		u := people(ctx, s, r, "alice", "bob")
		pub := []byte(strings.Repeat("k", 32))
		expires := time.Date(2030, 1, 2, 3, 4, 5, 6789, time.UTC)
		newKey := func(user int64, keyID string, pub []byte) store.DecisionKey {
			return store.DecisionKey{UserID: user, KeyID: keyID, PublicKey: pub, Description: keyID, Expires: expires}
		}
		k := got[store.DecisionKey](r, "create")(s.CreateDecisionKey(ctx, newKey(u["alice"].ID, "dk_0123456789abcdef", pub)))
		got[store.DecisionKey](r, "create taken key id")(s.CreateDecisionKey(ctx, newKey(u["bob"].ID, "dk_0123456789abcdef", pub)))
		got[store.DecisionKey](r, "create malformed key id")(s.CreateDecisionKey(ctx, newKey(u["bob"].ID, "dk_0123456789ABCDEF", pub)))
		got[store.DecisionKey](r, "create short public key")(s.CreateDecisionKey(ctx, newKey(u["bob"].ID, "dk_1123456789abcdef", pub[:31])))
		got[store.DecisionKey](r, "create for missing user")(s.CreateDecisionKey(ctx, newKey(999, "dk_2123456789abcdef", pub)))
		got[store.DecisionKey](r, "create another")(s.CreateDecisionKey(ctx, newKey(u["alice"].ID, "dk_3123456789abcdef", pub)))
		k = got[store.DecisionKey](r, "get")(s.GetDecisionKey(ctx, k.ID))
		r.add("expires", instants(&k.Expires), nil)
		got[store.DecisionKey](r, "get missing")(s.GetDecisionKey(ctx, 999))
		r.err("revoke", s.RevokeDecisionKey(ctx, k.ID))
		r.err("revoke missing", s.RevokeDecisionKey(ctx, 999))
		page[store.DecisionKey](r, "list by -description")(s.ListDecisionKeys(ctx, u["alice"].ID, store.ListOptions{OrderBy: []string{"-description"}}))
		page[store.DecisionKey](r, "list bob's")(s.ListDecisionKeys(ctx, u["bob"].ID, store.ListOptions{}))
		page[store.DecisionKey](r, "list missing user's")(s.ListDecisionKeys(ctx, 999, store.ListOptions{}))
		r.err("delete alice", s.DeleteUser(ctx, u["alice"].ID))
		got[store.DecisionKey](r, "alice's key went with her")(s.GetDecisionKey(ctx, k.ID))
	}},
}
