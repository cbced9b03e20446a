// Package requests is the request service: the multi-step operations on
// service requests that every channel (the REST API, the portal, the
// decision links of mails, and later chat) calls, so each lives in one place. It submits requests
// (validate the answers, resolve the plan, write the row, start the
// workflow, undo on failure), previews the launch form, sends decisions as
// workflow updates, withdraws and deletes requests, tells waiting requests
// when who may decide them changed, and says what a caller may do to a
// request (CapabilitiesOf).
//
// It answers with domain errors, never HTTP statuses: *Unavailable,
// *InFlight, *TemplateRefused, Invalid, *approval.Refusal and the store's
// and access's sentinels; the API maps them to statuses in one place.
//
// It depends on small interfaces (Store, the Temporal SDK's client.Client,
// TemplateSource) rather than on concrete types, so that a fake may stand
// in for each.
package requests

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// Store is what the service needs of PostgreSQL.
type Store interface {
	GetRequest(ctx context.Context, id int64) (store.Request, error)
	CreateRequest(ctx context.Context, nr store.NewRequest) (store.Request, error)
	DeleteRequest(ctx context.Context, id int64) error
	EnabledPolicies(ctx context.Context, orgID int64) ([]store.Policy, error)
	Roster(ctx context.Context, orgID int64, teamID *int64) (store.Roster, error)
	PendingRequests(ctx context.Context) ([]int64, error)
	PendingRequestsForUser(ctx context.Context, userID int64) ([]int64, error)
	PendingRequestsUsingTeam(ctx context.Context, teamID int64) ([]int64, error)
	PendingRequestsUsingOrgAdmins(ctx context.Context, orgID int64) ([]int64, error)
	RecordRequestState(ctx context.Context, st store.RequestState) (bool, error)
	CreateDelegation(ctx context.Context, n store.NewDelegation) (store.Delegation, error)
	DeleteDelegation(ctx context.Context, id int64) error
}

// Config holds the service's dependencies and settings.
type Config struct {
	Store    Store
	Temporal client.Client
	// Templates answers what AWX says of templates (usually a *Templates
	// cache).
	Templates TemplateSource
	Logger    *slog.Logger
	// TaskQueue is where request workflows are started.
	TaskQueue string
	// TemporalTimeout bounds each call to Temporal (queries, updates,
	// starts).
	TemporalTimeout time.Duration
	// Signer signs the service's decision proofs.
	Signer *proof.ServiceKeys
	// Now is the clock proofs are signed at (time.Now when nil).
	Now func() time.Time
	// StageLimits bound the stages of the plans frozen into requests.
	StageLimits approval.StageLimits
	// MailLinks records the uses of mails' decision links; without it,
	// every link is refused.
	MailLinks MailLinkStore
	// WorkflowRevision is the revision requests are started with
	// (workflows.Input.Revision): workflows.LatestRevision when 0. An
	// earlier one serves only to measure revisions side by side.
	WorkflowRevision int
}

// Service is the request service. Close waits for its background work.
type Service struct {
	cfg     Config
	log     *slog.Logger
	workers *workerProbe
	// bg tracks work done after answering (signals to waiting requests);
	// bgSlot serialises it.
	bg     sync.WaitGroup
	bgSlot chan struct{}
}

// New builds the service; cfg.Store, cfg.Temporal and cfg.Signer are
// required.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.WorkflowRevision <= 0 {
		cfg.WorkflowRevision = workflows.LatestRevision
	}
	if cfg.TemporalTimeout <= 0 {
		cfg.TemporalTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, log: cfg.Logger, workers: newWorkerProbe(cfg.Temporal, cfg.TaskQueue), bgSlot: make(chan struct{}, 1)}
}

// Close waits for the work started after answering to finish.
func (s *Service) Close() { s.bg.Wait() }

// PrincipalOf is user u with roles r as the access rules see them: the one
// way every channel builds who acts.
func PrincipalOf(u store.User, r store.Roles) access.Principal {
	p := access.Principal{UserID: u.ID, Username: u.Username, IsSuperuser: u.IsSuperuser, AdminOf: r.AdminOf, MemberOf: r.MemberOf}
	for _, t := range r.Teams {
		p.Teams = append(p.Teams, t.ID)
	}
	return p
}

// Actor is who calls the service, and through which channel.
type Actor struct {
	access.Principal
	// Teams name the actor's teams (policies test them).
	Teams []store.TeamRef
	// Channel is how the actor reached Countersign (proof.ChannelAPI,
	// proof.ChannelPortal, ...); decisions record it.
	Channel string
	// SignedInAt is when the actor last signed in interactively (a portal
	// session's sign-in), nil for a bearer token: a stage that requires a
	// recent sign-in judges approvals and rejections by it.
	SignedInAt *time.Time
}
