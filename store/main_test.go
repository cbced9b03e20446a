package store_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fixture is a small organization: an org admin (erin), a requester
// (alice), a team "sre" with bob and carol, a superuser (admin) and a
// catalog item "Restart service" approved by sre.
type fixture struct {
	s     *store.Store
	org   store.Organization
	sre   store.Team
	item  store.CatalogItem
	users map[string]store.User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	f := &fixture{s: s, users: map[string]store.User{}}
	var err error
	f.org, err = s.CreateOrganization(ctx, "acme", "Acme Corp")
	require.NoError(t, err)
	for _, name := range []string{"admin", "erin", "alice", "bob", "carol"} {
		u, err := s.CreateUser(ctx, store.NewUser{
			Username: name, Email: name + "@example.com", IsSuperuser: name == "admin",
		})
		require.NoError(t, err)
		f.users[name] = u
	}
	f.sre, err = s.CreateTeam(ctx, f.org.ID, "sre", "Site reliability")
	require.NoError(t, err)
	require.NoError(t, s.AddTeamMember(ctx, f.sre.ID, f.users["bob"].ID))
	require.NoError(t, s.AddTeamMember(ctx, f.sre.ID, f.users["carol"].ID))
	require.NoError(t, s.AddOrgAdmin(ctx, f.org.ID, f.users["erin"].ID))
	f.item, err = s.CreateCatalogItem(ctx, store.NewCatalogItem{
		OrganizationID: f.org.ID, Name: "Restart service", JobTemplateID: ptr(int64(7)),
		RequiresApproval: true, ApproverTeamID: &f.sre.ID,
	})
	require.NoError(t, err)
	return f
}

// newFixtureOnOneConnection is newFixture with a pool of one connection,
// so that the statements it prepares can be read from
// pg_prepared_statements, and so that a call needing a second connection
// while it holds one waits forever instead of passing.
func newFixtureOnOneConnection(t testing.TB) *fixture {
	t.Helper()
	f := newFixture(t)
	f.s.DB().SetMaxOpenConns(1)
	return f
}

// newRequest submits a request by alice with one sre stage and one
// org-admin stage.
func (f *fixture) newRequest(t *testing.T) store.Request {
	t.Helper()
	req, err := f.s.CreateRequest(context.Background(), f.newRequestInput())
	require.NoError(t, err)
	return req
}

func (f *fixture) newRequestInput() store.NewRequest {
	return store.NewRequest{
		OrganizationID:    f.org.ID,
		CatalogItemID:     f.item.ID,
		CatalogItemName:   "Restart service",
		RequesterID:       f.users["alice"].ID,
		RequesterUsername: "alice",
		Justification:     "nginx is stuck",
		ExtraVars:         []byte(`{"service": "nginx", "password": "$encrypted$"}`),
		Stages: []store.NewStage{
			{
				Name: "SRE", ApproverTeamID: &f.sre.ID, ApproverTeamName: "sre", MinApprovers: 2,
				DenialMessage: "Talk to SRE first", Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour,
			},
			{Name: "Admins", MinApprovers: 1, Timeout: time.Hour},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// ts is a timestamp PostgreSQL stores exactly (microseconds, UTC).
func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// assertSettledOnGenericPlan checks that the statement of s's one
// connection whose text is LIKE pattern stopped being planned on every
// call. PostgreSQL tries five custom plans before it compares.
func assertSettledOnGenericPlan(t *testing.T, s *store.Store, pattern string) {
	t.Helper()
	var plans struct {
		Generic int `db:"generic_plans"`
		Custom  int `db:"custom_plans"`
	}
	require.NoError(t, s.DB().GetContext(context.Background(), &plans,
		`SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE $1`, pattern))
	assert.Positive(t, plans.Generic, "custom plans: %d", plans.Custom)
	assert.LessOrEqual(t, plans.Custom, 5, "PostgreSQL tries five custom plans before it compares")
}
