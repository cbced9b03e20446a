package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/store"
)

// Catalog is the seeded catalog: items and policies by name.
type Catalog struct {
	Items    map[string]store.CatalogItem
	Policies map[string]store.Policy
}

// Names of the demo catalog items.
const (
	RestartService       = "Restart service"
	ProvisionEnvironment = "Provision environment"
	HealthCheck          = "Health check"
)

// SeedCatalog creates (or finds, by name) the catalog of SPEC 8.1 in the
// demo organization, backed by the simulator's demo templates:
// "Restart service" (approved by one of sre), "Provision environment" (a
// workflow with node surveys, under two policies) and "Health check" (no
// approval). Existing items and policies are left as they are, edits
// included.
func SeedCatalog(ctx context.Context, st *store.Store, id Identity) (Catalog, error) {
	cat := Catalog{Items: map[string]store.CatalogItem{}, Policies: map[string]store.Policy{}}
	sre, security := id.Teams["sre"].ID, id.Teams["security"].ID
	restart, provision, health := awxsim.DemoRestartServiceID, awxsim.DemoProvisionEnvironmentID, awxsim.DemoHealthCheckID
	items := []store.NewCatalogItem{
		{Name: RestartService, Description: "Restart a service of your application; an SRE approves.", Icon: "refresh-cw",
			Category: "operations", Tags: []string{"service", "restart"}, JobTemplateID: &restart,
			RequiresApproval: true, ApproverTeamID: &sre},
		{Name: ProvisionEnvironment, Description: "A database and the application, for a limited time.", Icon: "server",
			Category: "environments", Tags: []string{"dev", "self-service"}, WorkflowJobTemplateID: &provision},
		{Name: HealthCheck, Description: "Check that a service answers.", Icon: "activity",
			Category: "operations", Tags: []string{"read-only"}, JobTemplateID: &health},
	}
	for _, n := range items {
		n.OrganizationID = id.Org.ID
		item, err := getOrCreate(
			func() (store.CatalogItem, error) { return st.CreateCatalogItem(ctx, n) },
			func() (store.CatalogItem, error) { return st.GetCatalogItemByName(ctx, id.Org.ID, n.Name) })
		if err != nil {
			return cat, fmt.Errorf("seed catalog item %q: %w", n.Name, err)
		}
		cat.Items[n.Name] = item
	}
	// Policies apply to every item of the organization, so each condition
	// names its item.
	policies := []store.NewPolicy{
		{Name: "long-lived environments", Priority: 10,
			Condition: `item.name == "Provision environment" && extra_vars.ttl_days > 5`,
			Stages: []store.PolicyStage{
				{Name: "SRE review", ApproverTeamID: &sre, MinApprovers: 2, Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour,
					DenialMessage: "SRE declined the environment."},
				{Name: "Security review", ApproverTeamID: &security, MinApprovers: 1, Timeout: 48 * time.Hour, ReminderInterval: 24 * time.Hour,
					DenialMessage: "Security declined the environment."},
			}},
		{Name: "environments", Priority: 20, Condition: `item.name == "Provision environment"`,
			Stages: []store.PolicyStage{
				{Name: "SRE review", ApproverTeamID: &sre, MinApprovers: 2, Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour,
					DenialMessage: "SRE declined the environment."},
			}},
	}
	for _, n := range policies {
		n.OrganizationID = id.Org.ID
		p, err := getOrCreate(
			func() (store.Policy, error) { return st.CreatePolicy(ctx, n) },
			func() (store.Policy, error) { return st.GetPolicyByName(ctx, id.Org.ID, n.Name) })
		if err != nil {
			return cat, fmt.Errorf("seed policy %q: %w", n.Name, err)
		}
		cat.Policies[n.Name] = p
	}
	return cat, nil
}

// Seed seeds the whole demo: identity, then catalog.
func Seed(ctx context.Context, st *store.Store) (Identity, Catalog, error) {
	id, err := SeedIdentity(ctx, st)
	if err != nil {
		return id, Catalog{}, err
	}
	cat, err := SeedCatalog(ctx, st, id)
	return id, cat, err
}
