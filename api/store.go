package api

import (
	"context"
	"time"

	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/sso"
	"github.com/countersign/countersign/store"
)

// Store is what the API needs of PostgreSQL: the request service's Store
// (the API hands it on) and the catalog, identity, policies and request
// index its handlers read and write. *store.Store implements it; tests
// without PostgreSQL pass an in-memory fake (internal/storefake). The
// methods keep *store.Store's contract: its sentinel errors
// (store.ErrNotFound, ErrConflict, ErrReferenced, ...) are what
// errorResponse maps.
type Store interface {
	requests.Store

	// Identity and authentication.
	AuthenticateToken(ctx context.Context, plain string) (store.User, store.Token, store.Roles, error)
	TouchToken(ctx context.Context, tokenID int64, now time.Time) error
	CreateToken(ctx context.Context, userID int64, description string) (string, store.Token, error)
	GetToken(ctx context.Context, id int64) (store.Token, error)
	ListTokens(ctx context.Context, userID int64, opts store.ListOptions) ([]store.Token, int, error)
	RevokeToken(ctx context.Context, id int64) error
	CreateDecisionKey(ctx context.Context, k store.DecisionKey) (store.DecisionKey, error)
	GetDecisionKey(ctx context.Context, id int64) (store.DecisionKey, error)
	ListDecisionKeys(ctx context.Context, userID int64, opts store.ListOptions) ([]store.DecisionKey, int, error)
	RevokeDecisionKey(ctx context.Context, id int64) error
	GetDelegation(ctx context.Context, id int64) (store.Delegation, error)
	ListDelegations(ctx context.Context, userID int64, opts store.ListOptions) ([]store.Delegation, int, error)
	UserRoles(ctx context.Context, userID int64) (store.Roles, error)

	// Portal sessions.
	CreateSession(ctx context.Context, userID int64, userAgent string, now time.Time, lifetime time.Duration) (string, store.Session, error)
	CreateSessionAuthenticated(ctx context.Context, userID int64, userAgent string, now, authTime time.Time, lifetime time.Duration) (string, store.Session, error)
	AuthenticateSession(ctx context.Context, plain string, lim store.SessionLimits) (store.User, store.Session, error)
	GetSession(ctx context.Context, id int64) (store.Session, error)
	ListSessions(ctx context.Context, userID int64, lim store.SessionLimits, opts store.ListOptions) ([]store.Session, int, error)
	RevokeSession(ctx context.Context, id int64) error
	RevokeSessionSecret(ctx context.Context, plain string) error
	RevokeUserSessions(ctx context.Context, userID int64) error
	DeleteEndedSessions(ctx context.Context, lim store.SessionLimits, batch int) (int, error)

	// Users.
	CreateUser(ctx context.Context, u store.NewUser) (store.User, error)
	GetUser(ctx context.Context, id int64) (store.User, error)
	GetUserByUsername(ctx context.Context, username string) (store.User, error)
	UpdateUser(ctx context.Context, id int64, u store.UserUpdate) (store.User, error)
	DeleteUser(ctx context.Context, id int64) error
	ListUsers(ctx context.Context, f store.UserFilter, opts store.ListOptions) ([]store.User, int, error)
	UserBySubject(ctx context.Context, issuer, subject string) (store.User, error)
	LinkUserSubject(ctx context.Context, userID int64, issuer, subject string) error
	DirectOrgMemberships(ctx context.Context, userID int64) ([]int64, error)

	// Organizations and their admins and members.
	CreateOrganization(ctx context.Context, name, description string) (store.Organization, error)
	GetOrganization(ctx context.Context, id int64) (store.Organization, error)
	GetOrganizationByName(ctx context.Context, name string) (store.Organization, error)
	UpdateOrganization(ctx context.Context, id int64, name, description string) (store.Organization, error)
	LinkAWXOrganization(ctx context.Context, id int64, awxOrg *int64) (store.Organization, error)
	DeleteOrganization(ctx context.Context, id int64) error
	ListOrganizations(ctx context.Context, f store.OrganizationFilter, opts store.ListOptions) ([]store.Organization, int, error)
	AddOrgAdmin(ctx context.Context, orgID, userID int64) error
	RemoveOrgAdmin(ctx context.Context, orgID, userID int64) error
	ListOrgAdminUsers(ctx context.Context, orgID int64, opts store.ListOptions) ([]store.User, int, error)
	AddOrgMember(ctx context.Context, orgID, userID int64) error
	RemoveOrgMember(ctx context.Context, orgID, userID int64) error
	ListOrgMemberUsers(ctx context.Context, orgID int64, opts store.ListOptions) ([]store.User, int, error)

	// Teams and their members.
	CreateTeam(ctx context.Context, orgID int64, name, description string) (store.Team, error)
	GetTeam(ctx context.Context, id int64) (store.Team, error)
	GetTeamByName(ctx context.Context, orgID int64, name string) (store.Team, error)
	UpdateTeam(ctx context.Context, id int64, name, description string) (store.Team, error)
	DeleteTeam(ctx context.Context, id int64) error
	ListTeams(ctx context.Context, f store.TeamFilter, opts store.ListOptions) ([]store.Team, int, error)
	AddTeamMember(ctx context.Context, teamID, userID int64) error
	RemoveTeamMember(ctx context.Context, teamID, userID int64) error
	ListTeamMemberUsers(ctx context.Context, teamID int64, opts store.ListOptions) ([]store.User, int, error)

	// The catalog and its policies.
	CreateCatalogItem(ctx context.Context, n store.NewCatalogItem) (store.CatalogItem, error)
	GetCatalogItem(ctx context.Context, id int64) (store.CatalogItem, error)
	UpdateCatalogItem(ctx context.Context, id int64, u store.CatalogItemUpdate) (store.CatalogItem, error)
	DeleteCatalogItem(ctx context.Context, id int64) error
	ListCatalogItems(ctx context.Context, f store.CatalogItemFilter, opts store.ListOptions) ([]store.CatalogItem, int, error)
	CreatePolicy(ctx context.Context, n store.NewPolicy) (store.Policy, error)
	GetPolicy(ctx context.Context, id int64) (store.Policy, error)
	UpdatePolicy(ctx context.Context, id int64, u store.PolicyUpdate) (store.Policy, error)
	DeletePolicy(ctx context.Context, id int64) error
	ListPolicies(ctx context.Context, f store.PolicyFilter, opts store.ListOptions) ([]store.Policy, int, error)

	// The request index (the projection of the workflows' states).
	ListRequests(ctx context.Context, f store.RequestFilter, opts store.ListOptions) ([]store.Request, int, error)
	ListPendingForPage(ctx context.Context, username string, opts store.ListOptions) ([]store.Request, int, error)
}

// PostgreSQL serves the API, and the API's store serves sign-in
// provisioning.
var (
	_ Store     = (*store.Store)(nil)
	_ sso.Store = Store(nil)
)
