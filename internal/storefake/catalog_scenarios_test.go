package storefake_test

import (
	"context"
	"time"

	"github.com/countersign/countersign/store"
)

var catalogScenarios = []scenario{
	{"catalog items", func(ctx context.Context, s Store, r *rec) {
		acme := got[store.Organization](r, "create acme")(s.CreateOrganization(ctx, "acme", ""))
		beta := got[store.Organization](r, "create beta")(s.CreateOrganization(ctx, "beta", ""))
		sre := got[store.Team](r, "create sre")(s.CreateTeam(ctx, acme.ID, "sre", ""))
		betaTeam := got[store.Team](r, "create beta's team")(s.CreateTeam(ctx, beta.ID, "ops", ""))
		restart := got[store.CatalogItem](r, "create restart")(s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: acme.ID, Name: "Restart service", Description: "Restarts a SERVICE", Category: "ops",
			Tags: []string{"linux", "systemd"}, JobTemplateID: ptr(int64(7)), RequiresApproval: true, ApproverTeamID: &sre.ID,
		}))
		provision := got[store.CatalogItem](r, "create provision")(s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: acme.ID, Name: "Provision", Category: "infra", WorkflowJobTemplateID: ptr(int64(9)),
			Enabled: ptr(false),
		}))
		got[store.CatalogItem](r, "create in beta")(s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: beta.ID, Name: "Restart service", Category: "ops", JobTemplateID: ptr(int64(1)), Tags: []string{},
		}))
		got[store.CatalogItem](r, "create disabled in beta")(s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: beta.ID, Name: "Linux audit", JobTemplateID: ptr(int64(2)), Enabled: ptr(false),
		}))
		for _, bad := range []struct {
			label string
			n     store.NewCatalogItem
		}{
			{"taken name", store.NewCatalogItem{OrganizationID: acme.ID, Name: "Restart service", JobTemplateID: ptr(int64(1))}},
			{"empty name", store.NewCatalogItem{OrganizationID: acme.ID, JobTemplateID: ptr(int64(1))}},
			{"no template", store.NewCatalogItem{OrganizationID: acme.ID, Name: "x"}},
			{"both templates", store.NewCatalogItem{OrganizationID: acme.ID, Name: "x", JobTemplateID: ptr(int64(1)), WorkflowJobTemplateID: ptr(int64(2))}},
			{"missing org", store.NewCatalogItem{OrganizationID: 999, Name: "x", JobTemplateID: ptr(int64(1))}},
			{"missing team", store.NewCatalogItem{OrganizationID: acme.ID, Name: "x", JobTemplateID: ptr(int64(1)), ApproverTeamID: ptr(int64(999))}},
			{"another org's team", store.NewCatalogItem{OrganizationID: acme.ID, Name: "x", JobTemplateID: ptr(int64(1)), ApproverTeamID: &betaTeam.ID}},
			{"taken name and no template", store.NewCatalogItem{OrganizationID: acme.ID, Name: "Provision"}},
		} {
			got[store.CatalogItem](r, "create: "+bad.label)(s.CreateCatalogItem(ctx, bad.n))
		}
		got[store.CatalogItem](r, "get restart")(s.GetCatalogItem(ctx, restart.ID))
		got[store.CatalogItem](r, "get missing")(s.GetCatalogItem(ctx, 999))

		for _, u := range []struct {
			label string
			id    int64
			u     store.CatalogItemUpdate
		}{
			{"nothing", restart.ID, store.CatalogItemUpdate{}},
			{"to a workflow", restart.ID, store.CatalogItemUpdate{WorkflowJobTemplateID: ptr(int64(8)), Tags: &[]string{"a"}}},
			{"back to a job", restart.ID, store.CatalogItemUpdate{JobTemplateID: ptr(int64(7)), Tags: &[]string{}}},
			{"both templates", restart.ID, store.CatalogItemUpdate{JobTemplateID: ptr(int64(7)), WorkflowJobTemplateID: ptr(int64(8))}},
			{"taken name", restart.ID, store.CatalogItemUpdate{Name: ptr("Provision")}},
			{"empty name", restart.ID, store.CatalogItemUpdate{Name: ptr("")}},
			{"another org's team", restart.ID, store.CatalogItemUpdate{ApproverTeamID: &betaTeam.ID}},
			{"missing team", restart.ID, store.CatalogItemUpdate{ApproverTeamID: ptr(int64(999))}},
			{"set and clear team", restart.ID, store.CatalogItemUpdate{ApproverTeamID: &sre.ID, ClearApproverTeam: true}},
			{"set and clear team of missing", 999, store.CatalogItemUpdate{ApproverTeamID: &sre.ID, ClearApproverTeam: true}},
			{"missing", 999, store.CatalogItemUpdate{Name: ptr("x")}},
			{"clear team", provision.ID, store.CatalogItemUpdate{ClearApproverTeam: true, Description: ptr("Linux VMs")}},
			{"many fields", provision.ID, store.CatalogItemUpdate{
				Name: ptr("Provision VM"), Icon: ptr("server"), Category: ptr("Infra"), RequiresApproval: ptr(true),
				ApproverTeamID: &sre.ID, Enabled: ptr(true),
			}},
		} {
			got[store.CatalogItem](r, "update: "+u.label)(s.UpdateCatalogItem(ctx, u.id, u.u))
		}

		all := store.ListOptions{}
		list := func(label string, f store.CatalogItemFilter, opts store.ListOptions) {
			page[store.CatalogItem](r, "list "+label)(s.ListCatalogItems(ctx, f, opts))
		}
		list("all", store.CatalogItemFilter{}, all)
		list("by name, -organization", store.CatalogItemFilter{}, store.ListOptions{OrderBy: []string{"name,-organization"}})
		list("by -category", store.CatalogItemFilter{}, store.ListOptions{OrderBy: []string{"-category"}})
		list("acme's", store.CatalogItemFilter{OrganizationIDs: []int64{acme.ID}}, all)
		list("no org's", store.CatalogItemFilter{OrganizationIDs: []int64{}}, all)
		list("category ops", store.CatalogItemFilter{Category: "ops"}, all)
		list("enabled", store.CatalogItemFilter{Enabled: ptr(true)}, all)
		list("disabled", store.CatalogItemFilter{Enabled: ptr(false)}, all)
		list("disabled visible in beta", store.CatalogItemFilter{DisabledVisibleIn: []int64{beta.ID}}, all)
		list("disabled visible nowhere", store.CatalogItemFilter{DisabledVisibleIn: []int64{}}, all)
		list("tag linux", store.CatalogItemFilter{Tag: "linux"}, all)
		list("search linux", store.CatalogItemFilter{Search: "linux"}, all)
		list("search service", store.CatalogItemFilter{Search: "SERVICE"}, all)
		list("search infra", store.CatalogItemFilter{Search: "infra"}, all)
		list("search percent", store.CatalogItemFilter{Search: "%"}, all)
		list("page 2 of 2", store.CatalogItemFilter{}, store.ListOptions{Page: 2, PageSize: 2})
		list("bad order", store.CatalogItemFilter{}, store.ListOptions{OrderBy: []string{"name", ""}})
		list("bad order", store.CatalogItemFilter{}, store.ListOptions{OrderBy: []string{"tags"}})

		r.err("delete sre, an approver team", s.DeleteTeam(ctx, sre.ID))
		r.err("delete acme, which has items", s.DeleteOrganization(ctx, acme.ID))
		r.err("delete restart", s.DeleteCatalogItem(ctx, restart.ID))
		r.err("delete restart again", s.DeleteCatalogItem(ctx, restart.ID))
		got[store.Team](r, "rename sre")(s.UpdateTeam(ctx, sre.ID, "site", ""))
		got[store.CatalogItem](r, "provision names the renamed team")(s.GetCatalogItem(ctx, provision.ID))
		got[store.Organization](r, "rename acme")(s.UpdateOrganization(ctx, acme.ID, "acme corp", ""))
		got[store.CatalogItem](r, "provision names the renamed org")(s.GetCatalogItem(ctx, provision.ID))
	}},
	{"policies", func(ctx context.Context, s Store, r *rec) {
		acme := got[store.Organization](r, "create acme")(s.CreateOrganization(ctx, "acme", ""))
		beta := got[store.Organization](r, "create beta")(s.CreateOrganization(ctx, "beta", ""))
		sre := got[store.Team](r, "create sre")(s.CreateTeam(ctx, acme.ID, "sre", ""))
		betaTeam := got[store.Team](r, "create beta's team")(s.CreateTeam(ctx, beta.ID, "ops", ""))
		stage := func(name string, team *int64) store.PolicyStage {
			return store.PolicyStage{
				Position: 7, Name: name, ApproverTeamID: team, ApproverTeamName: "ignored", MinApprovers: 2,
				DenialMessage: "no", Timeout: 90*time.Minute + 1500*time.Millisecond, ReminderInterval: 30 * time.Minute,
			}
		}
		long := got[store.Policy](r, "create long")(s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: acme.ID, Name: "long", Priority: 10, Condition: "ttl_days > 5",
			Stages: []store.PolicyStage{stage("sre", &sre.ID), stage("admins", nil)}, MaxPerOrganization: 3,
		}))
		got[store.Policy](r, "create default")(s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: acme.ID, Name: "default", Priority: 10, MaxPerOrganization: 3,
		}))
		got[store.Policy](r, "create urgent, disabled")(s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: acme.ID, Name: "urgent", Priority: -1, Enabled: ptr(false), MaxPerOrganization: 3,
		}))
		got[store.Policy](r, "create over the limit")(s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: acme.ID, Name: "more", MaxPerOrganization: 3,
		}))
		got[store.Policy](r, "create taken name over the limit")(s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: acme.ID, Name: "long", MaxPerOrganization: 3,
		}))
		got[store.Policy](r, "create in missing org with a limit")(s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: 999, Name: "x", MaxPerOrganization: 1,
		}))
		zero := stage("zero", nil)
		zero.MinApprovers = 0
		short := stage("short", nil)
		short.Timeout = 999 * time.Millisecond
		nag := stage("nag", nil)
		nag.ReminderInterval = -time.Second
		for _, bad := range []struct {
			label string
			n     store.NewPolicy
		}{
			{"taken name", store.NewPolicy{OrganizationID: acme.ID, Name: "long"}},
			{"empty name", store.NewPolicy{OrganizationID: acme.ID}},
			{"another org's team", store.NewPolicy{OrganizationID: acme.ID, Name: "x", Stages: []store.PolicyStage{stage("s", &betaTeam.ID)}}},
			{"missing team", store.NewPolicy{OrganizationID: acme.ID, Name: "x", Stages: []store.PolicyStage{stage("s", ptr(int64(999)))}}},
			{"unnamed stage", store.NewPolicy{OrganizationID: acme.ID, Name: "x", Stages: []store.PolicyStage{stage("", nil)}}},
			{"no approvers", store.NewPolicy{OrganizationID: acme.ID, Name: "x", Stages: []store.PolicyStage{zero}}},
			{"short timeout", store.NewPolicy{OrganizationID: acme.ID, Name: "x", Stages: []store.PolicyStage{short}}},
			{"negative reminders", store.NewPolicy{OrganizationID: acme.ID, Name: "x", Stages: []store.PolicyStage{nag}}},
			{"bad stage and missing team", store.NewPolicy{OrganizationID: acme.ID, Name: "x", Stages: []store.PolicyStage{zero, stage("s", ptr(int64(999)))}}},
			{"missing org", store.NewPolicy{OrganizationID: 999, Name: "x"}},
		} {
			got[store.Policy](r, "create: "+bad.label)(s.CreatePolicy(ctx, bad.n))
		}
		got[store.Policy](r, "create in beta")(s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: beta.ID, Name: "long", Stages: []store.PolicyStage{stage("ops", &betaTeam.ID)},
		}))
		got[store.Policy](r, "get long")(s.GetPolicy(ctx, long.ID))
		got[store.Policy](r, "get missing")(s.GetPolicy(ctx, 999))
		got[store.Policy](r, "update long")(s.UpdatePolicy(ctx, long.ID, store.PolicyUpdate{
			Name: "longer", Priority: 0, Condition: "true", Enabled: true, Stages: []store.PolicyStage{stage("only", nil)},
		}))
		got[store.Policy](r, "update to a taken name")(s.UpdatePolicy(ctx, long.ID, store.PolicyUpdate{Name: "default"}))
		got[store.Policy](r, "update with a bad stage")(s.UpdatePolicy(ctx, long.ID, store.PolicyUpdate{Name: "longer", Stages: []store.PolicyStage{zero}}))
		got[store.Policy](r, "update missing")(s.UpdatePolicy(ctx, 999, store.PolicyUpdate{Name: ""}))
		got[store.Policy](r, "unchanged by failed updates")(s.GetPolicy(ctx, long.ID))
		got[[]store.Policy](r, "enabled in acme")(s.EnabledPolicies(ctx, acme.ID))
		got[[]store.Policy](r, "enabled in missing org")(s.EnabledPolicies(ctx, 999))
		page[store.Policy](r, "list")(s.ListPolicies(ctx, store.PolicyFilter{}, store.ListOptions{OrderBy: []string{"priority", "-name"}}))
		page[store.Policy](r, "list beta's")(s.ListPolicies(ctx, store.PolicyFilter{OrganizationIDs: []int64{beta.ID}}, store.ListOptions{}))
		page[store.Policy](r, "list bad order")(s.ListPolicies(ctx, store.PolicyFilter{}, store.ListOptions{OrderBy: []string{"condition"}}))
		got[store.Policy](r, "give long sre")(s.UpdatePolicy(ctx, long.ID, store.PolicyUpdate{
			Name: "longer", Enabled: false, Stages: []store.PolicyStage{stage("sre", &sre.ID)},
		}))
		r.err("delete sre, a stage's team", s.DeleteTeam(ctx, sre.ID))
		r.err("delete beta, which has policies", s.DeleteOrganization(ctx, beta.ID))
		r.err("delete long", s.DeletePolicy(ctx, long.ID))
		r.err("delete long again", s.DeletePolicy(ctx, long.ID))
		r.err("delete sre", s.DeleteTeam(ctx, sre.ID))
		got[store.Policy](r, "create after delete, under the limit")(s.CreatePolicy(ctx, store.NewPolicy{
			OrganizationID: acme.ID, Name: "more", MaxPerOrganization: 3,
		}))
	}},
}
