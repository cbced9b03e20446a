package storefake_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/internal/storefake"
	"github.com/countersign/countersign/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Store is the part of *store.Store the fake stands in for. The packages
// that depend on it declare their own interfaces; this one keeps the fake
// and the store in step, method for method.
type Store interface {
	AddOrgAdmin(ctx context.Context, orgID, userID int64) error
	AddOrgMember(ctx context.Context, orgID, userID int64) error
	AddTeamMember(ctx context.Context, teamID, userID int64) error
	AuthenticateSession(ctx context.Context, plain string, lim store.SessionLimits) (store.User, store.Session, error)
	AuthenticateToken(ctx context.Context, plain string) (store.User, store.Token, store.Roles, error)
	CreateCatalogItem(ctx context.Context, n store.NewCatalogItem) (store.CatalogItem, error)
	CreateDecisionKey(ctx context.Context, k store.DecisionKey) (store.DecisionKey, error)
	CreateDelegation(ctx context.Context, n store.NewDelegation) (store.Delegation, error)
	CreateOrganization(ctx context.Context, name, description string) (store.Organization, error)
	CreatePolicy(ctx context.Context, n store.NewPolicy) (store.Policy, error)
	CreateRequest(ctx context.Context, nr store.NewRequest) (store.Request, error)
	CreateSession(ctx context.Context, userID int64, userAgent string, now time.Time, lifetime time.Duration) (string, store.Session, error)
	CreateTeam(ctx context.Context, orgID int64, name, description string) (store.Team, error)
	CreateToken(ctx context.Context, userID int64, description string) (string, store.Token, error)
	CreateUser(ctx context.Context, u store.NewUser) (store.User, error)
	DeleteCatalogItem(ctx context.Context, id int64) error
	DeleteDelegation(ctx context.Context, id int64) error
	DeleteEndedSessions(ctx context.Context, lim store.SessionLimits, batch int) (int, error)
	DeleteOrganization(ctx context.Context, id int64) error
	DeletePolicy(ctx context.Context, id int64) error
	DeleteRequest(ctx context.Context, id int64) error
	DeleteTeam(ctx context.Context, id int64) error
	DeleteUser(ctx context.Context, id int64) error
	DirectOrgMemberships(ctx context.Context, userID int64) ([]int64, error)
	EnabledPolicies(ctx context.Context, orgID int64) ([]store.Policy, error)
	GetCatalogItem(ctx context.Context, id int64) (store.CatalogItem, error)
	GetDecisionKey(ctx context.Context, id int64) (store.DecisionKey, error)
	GetDelegation(ctx context.Context, id int64) (store.Delegation, error)
	GetOrganization(ctx context.Context, id int64) (store.Organization, error)
	GetOrganizationByName(ctx context.Context, name string) (store.Organization, error)
	GetPolicy(ctx context.Context, id int64) (store.Policy, error)
	GetRequest(ctx context.Context, id int64) (store.Request, error)
	GetSession(ctx context.Context, id int64) (store.Session, error)
	GetTeam(ctx context.Context, id int64) (store.Team, error)
	GetTeamByName(ctx context.Context, orgID int64, name string) (store.Team, error)
	GetToken(ctx context.Context, id int64) (store.Token, error)
	GetUser(ctx context.Context, id int64) (store.User, error)
	GetUserByUsername(ctx context.Context, username string) (store.User, error)
	LinkAWXOrganization(ctx context.Context, id int64, awxOrg *int64) (store.Organization, error)
	LinkUserSubject(ctx context.Context, userID int64, issuer, subject string) error
	ListCatalogItems(ctx context.Context, f store.CatalogItemFilter, opts store.ListOptions) ([]store.CatalogItem, int, error)
	ListDecisionKeys(ctx context.Context, userID int64, opts store.ListOptions) ([]store.DecisionKey, int, error)
	ListDelegations(ctx context.Context, userID int64, opts store.ListOptions) ([]store.Delegation, int, error)
	ListOrgAdminUsers(ctx context.Context, orgID int64, opts store.ListOptions) ([]store.User, int, error)
	ListOrgMemberUsers(ctx context.Context, orgID int64, opts store.ListOptions) ([]store.User, int, error)
	ListOrganizations(ctx context.Context, f store.OrganizationFilter, opts store.ListOptions) ([]store.Organization, int, error)
	ListPendingForPage(ctx context.Context, username string, opts store.ListOptions) ([]store.Request, int, error)
	ListPolicies(ctx context.Context, f store.PolicyFilter, opts store.ListOptions) ([]store.Policy, int, error)
	ListRequests(ctx context.Context, f store.RequestFilter, opts store.ListOptions) ([]store.Request, int, error)
	ListSessions(ctx context.Context, userID int64, lim store.SessionLimits, opts store.ListOptions) ([]store.Session, int, error)
	ListTeamMemberUsers(ctx context.Context, teamID int64, opts store.ListOptions) ([]store.User, int, error)
	ListTeams(ctx context.Context, f store.TeamFilter, opts store.ListOptions) ([]store.Team, int, error)
	ListTokens(ctx context.Context, userID int64, opts store.ListOptions) ([]store.Token, int, error)
	ListUsers(ctx context.Context, f store.UserFilter, opts store.ListOptions) ([]store.User, int, error)
	PendingRequests(ctx context.Context) ([]int64, error)
	PendingRequestsForUser(ctx context.Context, userID int64) ([]int64, error)
	PendingRequestsUsingOrgAdmins(ctx context.Context, orgID int64) ([]int64, error)
	PendingRequestsUsingTeam(ctx context.Context, teamID int64) ([]int64, error)
	RemoveOrgAdmin(ctx context.Context, orgID, userID int64) error
	RemoveOrgMember(ctx context.Context, orgID, userID int64) error
	RemoveTeamMember(ctx context.Context, teamID, userID int64) error
	RevokeDecisionKey(ctx context.Context, id int64) error
	RevokeSession(ctx context.Context, id int64) error
	RevokeSessionSecret(ctx context.Context, plain string) error
	RevokeToken(ctx context.Context, id int64) error
	RevokeUserSessions(ctx context.Context, userID int64) error
	Roster(ctx context.Context, orgID int64, teamID *int64) (store.Roster, error)
	TouchToken(ctx context.Context, tokenID int64, now time.Time) error
	UpdateCatalogItem(ctx context.Context, id int64, u store.CatalogItemUpdate) (store.CatalogItem, error)
	UpdateOrganization(ctx context.Context, id int64, name, description string) (store.Organization, error)
	UpdatePolicy(ctx context.Context, id int64, u store.PolicyUpdate) (store.Policy, error)
	UpdateTeam(ctx context.Context, id int64, name, description string) (store.Team, error)
	UpdateUser(ctx context.Context, id int64, u store.UserUpdate) (store.User, error)
	UserBySubject(ctx context.Context, issuer, subject string) (store.User, error)
	UserRoles(ctx context.Context, userID int64) (store.Roles, error)

	// The projection methods, which tests use to move requests on.
	ClaimJob(ctx context.Context, requestID int64, jobType string, jobID int64) error
	RecordRequestState(ctx context.Context, st store.RequestState) (applied bool, err error)
}

var (
	_ Store = (*store.Store)(nil)
	_ Store = (*storefake.Store)(nil)
)

// scenario is a sequence of calls whose results are recorded; it must
// give the same record on the store and on the fake.
type scenario struct {
	name string
	run  func(ctx context.Context, s Store, r *rec)
}

// TestConformance runs every scenario on a fresh real store and on a
// fresh fake, and compares their records step by step.
func TestConformance(t *testing.T) {
	var all []scenario
	for _, group := range [][]scenario{identityScenarios, accessScenarios, catalogScenarios, requestScenarios, stateScenarios, sessionScenarios, delegationScenarios} {
		all = append(all, group...)
	}
	for _, sc := range all {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			var real, fake []step
			t.Run("real", func(t *testing.T) { real = record(pgtest.NewStore(t), sc) })
			t.Run("fake", func(t *testing.T) { fake = record(storefake.New(), sc) })
			if real == nil || fake == nil {
				return
			}
			for i := range max(len(real), len(fake)) {
				switch {
				case i >= len(real):
					t.Errorf("the fake has an extra step %q", fake[i].Label)
				case i >= len(fake):
					t.Errorf("the fake lacks step %q", real[i].Label)
				default:
					assert.Equal(t, real[i], fake[i], "step %d: %s", i, real[i].Label)
				}
			}
		})
	}
}

func record(s Store, sc scenario) []step {
	r := &rec{steps: []step{}}
	sc.run(context.Background(), s, r)
	return r.steps
}

// rec is the record of one run: each call's results, made comparable.
type rec struct{ steps []step }

type step struct {
	Label string
	Value any
	Err   string
}

// add records a step; v is normalized (see normalize), err classified.
// What a call returns with an error is unspecified (the store fills some
// fields as it scans), so only the error is recorded then.
func (r *rec) add(label string, v any, err error) {
	if err != nil {
		v = nil
	}
	r.steps = append(r.steps, step{Label: label, Value: normalize(reflect.ValueOf(v)), Err: classify(err)})
}

// err records a call that returns only an error.
func (r *rec) err(label string, err error) { r.add(label, nil, err) }

// got records a call with one result and returns that result.
func got[T any](r *rec, label string) func(T, error) T {
	return func(v T, err error) T {
		r.add(label, v, err)
		return v
	}
}

// page records a list call: the page and the total.
func page[T any](r *rec, label string) func([]T, int, error) []T {
	return func(rows []T, total int, err error) []T {
		r.add(label, map[string]any{"rows": rows, "total": total}, err)
		return rows
	}
}

// classify names the sentinel an error wraps: what callers may rely on.
// A ListError keeps its message, which reaches clients.
func classify(err error) string {
	if err == nil {
		return ""
	}
	var listErr *store.ListError
	if errors.As(err, &listErr) {
		return "list error: " + listErr.Message
	}
	for _, s := range []error{
		store.ErrNotFound, store.ErrJobTaken, store.ErrConflict, store.ErrInvalidReference, store.ErrReferenced,
		store.ErrInvalid, store.ErrLimit, store.ErrUnavailable, context.Canceled,
	} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "unclassified: " + err.Error()
}

// normalize turns v into plain maps, slices and values, keeping nil apart
// from empty (it shows in JSON) and replacing every timestamp by whether it
// is set: the fake's clock is not the database's.
func normalize(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch x := v.Interface().(type) {
	case time.Time:
		if x.IsZero() {
			return "zero time"
		}
		return "time"
	case json.RawMessage:
		if x == nil {
			return nil
		}
		return "json " + string(x)
	case store.Token:
		// The prefix is the start of a random token text.
		x.Prefix = fmt.Sprintf("%d characters", len(x.Prefix))
		v = reflect.ValueOf(x)
	case []byte:
		if x == nil {
			return nil
		}
		return "bytes " + hex.EncodeToString(x)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return normalize(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = normalize(v.Index(i))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[fmt.Sprint(k.Interface())] = normalize(v.MapIndex(k))
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out[v.Type().Field(i).Name] = normalize(v.Field(i))
			}
		}
		return out
	}
	return v.Interface()
}

func ptr[T any](v T) *T { return &v }

// instants records timestamps a scenario chose itself (not the clock's)
// exactly, in UTC: they must come back as PostgreSQL stores them.
func instants(ts ...*time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		if t != nil {
			out[i] = t.UTC().Format(time.RFC3339Nano)
		}
	}
	return out
}
