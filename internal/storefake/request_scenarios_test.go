package storefake_test

import (
	"context"
	"encoding/json"
	"time"

	"github.com/countersign/countersign/store"
)

var requestScenarios = []scenario{
	{"requests", func(ctx context.Context, s Store, r *rec) {
		acme := got[store.Organization](r, "create acme")(s.CreateOrganization(ctx, "acme", ""))
		beta := got[store.Organization](r, "create beta")(s.CreateOrganization(ctx, "beta", ""))
		u := people(ctx, s, r, "root", "erin", "alice", "bob", "carol")
		sre := got[store.Team](r, "create sre")(s.CreateTeam(ctx, acme.ID, "sre", ""))
		r.err("add bob to sre", s.AddTeamMember(ctx, sre.ID, u["bob"].ID))
		r.err("add erin as admin", s.AddOrgAdmin(ctx, acme.ID, u["erin"].ID))
		item := got[store.CatalogItem](r, "create item")(s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: acme.ID, Name: "Restart", JobTemplateID: ptr(int64(7)), ApproverTeamID: &sre.ID,
		}))
		betaItem := got[store.CatalogItem](r, "create beta's item")(s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: beta.ID, Name: "Audit", JobTemplateID: ptr(int64(8)),
		}))
		newRequest := func(item store.CatalogItem, requester string, extraVars string) store.NewRequest {
			return store.NewRequest{
				OrganizationID: item.OrganizationID, CatalogItemID: item.ID, CatalogItemName: item.Name,
				RequesterID: u[requester].ID, RequesterUsername: requester, Justification: "because",
				ExtraVars: json.RawMessage(extraVars),
				Stages: []store.NewStage{
					{Name: "sre", ApproverTeamID: &sre.ID, ApproverTeamName: "sre", MinApprovers: 1,
						Timeout: 72*time.Hour + 999*time.Millisecond, ReminderInterval: time.Hour},
					{Name: "admins", MinApprovers: 2, DenialMessage: "no"},
				},
			}
		}
		first := got[store.Request](r, "create")(s.CreateRequest(ctx, newRequest(item, "alice",
			`{"service": "nginx", "n": [1, 2.50, 1e2, -0, -0.0, 1.5E-3, 12e+1, 0.0, 1.20e-1, 123456789012345678901234567890, -7e0], "aa": {"z": null, "é\n": "x\u00e9\"/\u001f"}, "b": true}`)))
		got[store.Request](r, "create with null vars")(s.CreateRequest(ctx, newRequest(item, "alice", "null")))
		got[store.Request](r, "create with no vars")(s.CreateRequest(ctx, newRequest(betaItem, "carol", "")))

		bad := func(label string, change func(*store.NewRequest)) {
			nr := newRequest(item, "alice", `{}`)
			change(&nr)
			got[store.Request](r, "create: "+label)(s.CreateRequest(ctx, nr))
		}
		bad("array vars", func(nr *store.NewRequest) { nr.ExtraVars = json.RawMessage(`[1]`) })
		bad("string vars", func(nr *store.NewRequest) { nr.NodeSurveyData = json.RawMessage(`"x"`) })
		bad("broken JSON", func(nr *store.NewRequest) { nr.ExtraVars = json.RawMessage(`{"a":`) })
		bad("missing org", func(nr *store.NewRequest) { nr.OrganizationID = 999 })
		bad("missing requester", func(nr *store.NewRequest) { nr.RequesterID = 999 })
		bad("missing item", func(nr *store.NewRequest) { nr.CatalogItemID = 999 })
		bad("missing team", func(nr *store.NewRequest) { nr.Stages[1].ApproverTeamID = ptr(int64(999)) })
		bad("no approvers", func(nr *store.NewRequest) { nr.Stages[1].MinApprovers = 0 })
		bad("negative timeout", func(nr *store.NewRequest) { nr.Stages[0].Timeout = -time.Second })
		bad("negative reminders", func(nr *store.NewRequest) { nr.Stages[0].ReminderInterval = -time.Hour })
		bad("no stages", func(nr *store.NewRequest) { nr.Stages = nil })

		got[store.Request](r, "get first")(s.GetRequest(ctx, first.ID))
		got[store.Request](r, "get missing")(s.GetRequest(ctx, 999))

		list := func(label string, f store.RequestFilter, opts store.ListOptions) {
			page[store.Request](r, "list "+label)(s.ListRequests(ctx, f, opts))
		}
		all := store.ListOptions{}
		list("all", store.RequestFilter{}, all)
		list("by -id, page 2", store.RequestFilter{}, store.ListOptions{OrderBy: []string{"-id"}, Page: 2, PageSize: 2})
		list("by finished, status", store.RequestFilter{}, store.ListOptions{OrderBy: []string{"-finished", "status"}})
		list("alice's", store.RequestFilter{RequesterID: ptr(u["alice"].ID)}, all)
		list("by carol's name", store.RequestFilter{RequesterUsername: "carol"}, all)
		list("pending", store.RequestFilter{Status: []string{"pending_approval", "running"}}, all)
		list("successful", store.RequestFilter{Status: []string{"successful"}}, all)
		list("unknown status", store.RequestFilter{Status: []string{"pending"}}, all)
		list("unknown status, bad order", store.RequestFilter{Status: []string{"pending"}}, store.ListOptions{OrderBy: []string{"x"}})
		list("for the item", store.RequestFilter{CatalogItemID: &item.ID}, all)
		list("of beta", store.RequestFilter{OrganizationIDs: []int64{beta.ID}}, all)
		list("of no org", store.RequestFilter{OrganizationIDs: []int64{}}, all)
		list("visible to carol", store.RequestFilter{Visibility: &store.RequestVisibility{UserID: u["carol"].ID, Username: "carol"}}, all)
		list("visible to erin", store.RequestFilter{Visibility: &store.RequestVisibility{
			UserID: u["erin"].ID, Username: "erin", AdminOrgIDs: []int64{acme.ID},
		}}, all)
		list("visible to bob", store.RequestFilter{Visibility: &store.RequestVisibility{UserID: u["bob"].ID, Username: "bob"}}, all)
		list("undecided by alice", store.RequestFilter{Undecided: &store.UserRef{ID: u["alice"].ID, Username: "alice"}}, all)
		list("undecided by root", store.RequestFilter{Undecided: &store.UserRef{ID: u["root"].ID, Username: "root"}}, all)

		page[store.Request](r, "bob's inbox")(s.ListPendingForPage(ctx, "bob", all))
		page[store.Request](r, "inbox, bad order")(s.ListPendingForPage(ctx, "bob", store.ListOptions{OrderBy: []string{"name"}}))
		got[[]int64](r, "pending")(s.PendingRequests(ctx))
		got[[]int64](r, "pending for bob")(s.PendingRequestsForUser(ctx, u["bob"].ID))
		got[[]int64](r, "pending for erin")(s.PendingRequestsForUser(ctx, u["erin"].ID))
		got[[]int64](r, "pending for missing user")(s.PendingRequestsForUser(ctx, 999))
		got[[]int64](r, "pending using sre")(s.PendingRequestsUsingTeam(ctx, sre.ID))
		got[[]int64](r, "pending using acme's admins")(s.PendingRequestsUsingOrgAdmins(ctx, acme.ID))

		r.err("delete the item", s.DeleteCatalogItem(ctx, item.ID))
		r.err("delete alice", s.DeleteUser(ctx, u["alice"].ID))
		r.err("delete acme", s.DeleteOrganization(ctx, acme.ID))
		got[store.CatalogItem](r, "free sre")(s.UpdateCatalogItem(ctx, item.ID, store.CatalogItemUpdate{ClearApproverTeam: true}))
		r.err("delete sre", s.DeleteTeam(ctx, sre.ID))
		got[store.Request](r, "the stage keeps sre's name")(s.GetRequest(ctx, first.ID))
		r.err("delete first", s.DeleteRequest(ctx, first.ID))
		r.err("delete first again", s.DeleteRequest(ctx, first.ID))
		got[store.Request](r, "get deleted")(s.GetRequest(ctx, first.ID))
		list("after delete", store.RequestFilter{}, all)
		got[store.Request](r, "create after failures")(s.CreateRequest(ctx, newRequest(betaItem, "carol", `{"a":1}`)))
	}},
}
