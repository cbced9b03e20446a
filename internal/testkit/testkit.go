// Package testkit assembles the real components behind the activities for
// tests: a fresh PostgreSQL database with the demo organization, the AWX
// simulator in process, an AWX client and an Activities value, plus a
// notifier that records what it is given.
package testkit

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// AWXToken is the token the simulator accepts and the client sends.
const AWXToken = "test-awx-token"

// AWXUser is the AWX user behind AWXToken; jobs are created by it.
const AWXUser = "countersign"

// Stack is one test's world.
type Stack struct {
	// DatabaseURL is the stack's own database, for other processes.
	DatabaseURL string
	Store       *store.Store
	Identity    demo.Identity
	Sim         *awxsim.Server
	SimURL      string
	AWX         *awx.Client
	Notifier    *Notifier
	Activities  *activities.Activities
}

// NewStack builds a Stack; sim tunes the simulator (its token and user are
// set here). Everything is released when the test ends.
func NewStack(t testing.TB, sim awxsim.Config) *Stack {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	// Request ids name workflows; tests share one Temporal server but each
	// has its own database, so ids must not repeat across tests.
	_, err = st.DB().ExecContext(ctx, `SELECT setval('service_requests_id_seq', $1)`, uniqueIDBase())
	require.NoError(t, err)
	id, err := demo.SeedIdentity(ctx, st)
	require.NoError(t, err)

	sim.Tokens = []string{AWXToken}
	sim.Username = AWXUser
	simServer := awxsim.New(sim)
	srv := httptest.NewServer(simServer)
	t.Cleanup(srv.Close)
	client, err := awx.New(srv.URL, AWXToken)
	require.NoError(t, err)

	n := &Notifier{}
	return &Stack{
		DatabaseURL: dbURL,
		Store:       st,
		Identity:    id,
		Sim:         simServer,
		SimURL:      srv.URL,
		AWX:         client,
		Notifier:    n,
		Activities: &activities.Activities{
			Store:            st,
			AWX:              client,
			Notifier:         n,
			Logger:           slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
			PollInterval:     50 * time.Millisecond,
			LaunchSettleTime: 100 * time.Millisecond,
			Keys:             st,
			Decisions:        proof.ModeTrusted,
			APIKeys:          ServiceKeys(),
		},
	}
}

// uniqueIDBase is a random starting point for request ids.
func uniqueIDBase() int64 {
	return rand.Int64N(1<<40) + 1_000_000
}

// AddUser creates a user and makes them a member of team.
func (s *Stack) AddUser(t testing.TB, username, team string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.Store.CreateUser(ctx, store.NewUser{Username: username, Email: username + "@acme.example"})
	require.NoError(t, err)
	require.NoError(t, s.Store.AddTeamMember(ctx, s.Identity.Teams[team].ID, u.ID))
}

// Stage is a plan stage decided by team (empty: the org admins).
func (s *Stack) Stage(name, team string, minApprovers int, timeout, reminder time.Duration) approval.Stage {
	st := approval.Stage{Name: name, MinApprovers: minApprovers, DenialMessage: name + " declined",
		Timeout: approval.Duration(timeout), ReminderInterval: approval.Duration(reminder)}
	if team != "" {
		st.ApproverTeam = &approval.Ref{ID: s.Identity.Teams[team].ID, Name: team}
	}
	return st
}

// Request describes a request to create.
type Request struct {
	Item           string
	Template       workflows.Template
	Requester      string
	ExtraVars      map[string]any
	NodeSurveyData map[string]map[string]any
	Stages         []approval.Stage
	Settings       workflows.Settings
}

// ProvisionEnvironment is a request for the demo workflow template with
// valid answers.
func ProvisionEnvironment(stages ...approval.Stage) Request {
	return Request{
		Item:      "Provision environment",
		Template:  workflows.Template{Kind: awx.WorkflowJobTemplate, ID: awxsim.DemoProvisionEnvironmentID},
		Requester: "alice",
		ExtraVars: map[string]any{"env_name": "demo-env", "ttl_days": 7},
		NodeSurveyData: map[string]map[string]any{
			"create-database": {"db_size": "small", "db_password": "s3cret-pass"},
			"deploy-app":      {"replicas": 2},
		},
		Stages: stages,
	}
}

// RestartService is a request for the demo job template with a survey.
func RestartService(stages ...approval.Stage) Request {
	return Request{
		Item:      "Restart service",
		Template:  workflows.Template{Kind: awx.JobTemplate, ID: awxsim.DemoRestartServiceID},
		Requester: "alice",
		ExtraVars: map[string]any{"service_name": "api", "drain_seconds": 30, "reason": "deploy hotfix"},
		Stages:    stages,
	}
}

// HealthCheck is a request for the demo job template without a survey,
// whose launches carry neither answers nor the request marker.
func HealthCheck(stages ...approval.Stage) Request {
	return Request{
		Item:      "Health check",
		Template:  workflows.Template{Kind: awx.JobTemplate, ID: awxsim.DemoHealthCheckID},
		Requester: "alice",
		ExtraVars: map[string]any{},
		Stages:    stages,
	}
}

// Create records the request in PostgreSQL, as the API does at submission,
// and returns the workflow input that starts it.
func (s *Stack) Create(t testing.TB, r Request) workflows.Input {
	t.Helper()
	plan := approval.Plan{Source: approval.PlanNone, Stages: []approval.Stage{}}
	if len(r.Stages) > 0 {
		plan = approval.Plan{Source: approval.PlanFromPolicy, PolicyName: "test policy", Stages: approval.NormalizeStages(r.Stages)}
	}
	vars, err := json.Marshal(r.ExtraVars)
	require.NoError(t, err)
	nodes, err := json.Marshal(r.NodeSurveyData)
	require.NoError(t, err)
	item := s.catalogItem(t, r)
	nr := store.NewRequest{
		OrganizationID:    s.Identity.Org.ID,
		CatalogItemID:     item.ID,
		CatalogItemName:   r.Item,
		RequesterID:       s.Identity.Users[r.Requester].ID,
		RequesterUsername: r.Requester,
		Justification:     "needed for a test",
		ExtraVars:         vars,
		NodeSurveyData:    nodes,
	}
	for _, st := range plan.Stages {
		ns := store.NewStage{Name: st.Name, MinApprovers: st.MinApprovers, DenialMessage: st.DenialMessage,
			Timeout: st.Timeout.Std(), ReminderInterval: st.ReminderInterval.Std()}
		if st.ApproverTeam != nil {
			ns.ApproverTeamID, ns.ApproverTeamName = &st.ApproverTeam.ID, st.ApproverTeam.Name
		}
		nr.Stages = append(nr.Stages, ns)
	}
	row, err := s.Store.CreateRequest(context.Background(), nr)
	require.NoError(t, err)
	return workflows.Input{
		RequestID:      row.ID,
		Organization:   approval.Ref{ID: s.Identity.Org.ID, Name: s.Identity.Org.Name},
		CatalogItem:    approval.Ref{ID: item.ID, Name: r.Item},
		Template:       r.Template,
		Requester:      r.Requester,
		Justification:  nr.Justification,
		ExtraVars:      r.ExtraVars,
		NodeSurveyData: r.NodeSurveyData,
		Plan:           plan,
		Settings:       r.Settings,
	}
}

// catalogItem finds or creates the catalog item r is for, launching
// r.Template.
func (s *Stack) catalogItem(t testing.TB, r Request) store.CatalogItem {
	t.Helper()
	ctx := context.Background()
	item, err := s.Store.GetCatalogItemByName(ctx, s.Identity.Org.ID, r.Item)
	if errors.Is(err, store.ErrNotFound) {
		ni := store.NewCatalogItem{OrganizationID: s.Identity.Org.ID, Name: r.Item}
		id := r.Template.ID
		if r.Template.Kind == awx.WorkflowJobTemplate {
			ni.WorkflowJobTemplateID = &id
		} else {
			ni.JobTemplateID = &id
		}
		item, err = s.Store.CreateCatalogItem(ctx, ni)
	}
	require.NoError(t, err)
	return item
}

// Notifier records notifications; Fail, when set, decides each delivery's
// error.
type Notifier struct {
	mu   sync.Mutex
	sent []notify.Notification
	Fail func(n notify.Notification) error
}

// Notify records n unless Fail refuses it.
func (n *Notifier) Notify(_ context.Context, msg notify.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.Fail != nil {
		if err := n.Fail(msg); err != nil {
			return err
		}
	}
	n.sent = append(n.sent, msg)
	return nil
}

// Sent returns what was delivered, in order.
func (n *Notifier) Sent() []notify.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]notify.Notification(nil), n.sent...)
}

// AsSubmitted is in as the API starts it today: with the roster of its
// first stage read now (workflows.Input.Roster) and the latest revision, so the
// request's workflow shares publishing with the API. Without it, in is
// started as the CLI, or an API before those, would.
func (s *Stack) AsSubmitted(t testing.TB, in workflows.Input) workflows.Input {
	t.Helper()
	roster, err := requests.RosterAtStart(context.Background(), s.Store, in)
	require.NoError(t, err)
	in.Roster, in.Revision = roster, workflows.LatestRevision
	return in
}
