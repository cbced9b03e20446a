// Package storefake is an in-memory stand-in for *store.Store, for tests
// that exercise code above the store (handlers, the request service)
// without PostgreSQL. Store has the same methods, with the same signatures,
// as the subset of *store.Store listed in methods below, and returns the
// same values and the same sentinel errors (store.ErrNotFound, ErrConflict,
// ErrInvalidReference, ErrReferenced, ErrInvalid, ErrLimit, and
// *store.ListError with the store's own messages) in the same situations.
// A conformance test runs the same scenarios against both and compares.
//
// Faithful:
//   - ids increase per table from 1 and, like PostgreSQL sequences, are
//     consumed by inserts that fail on a constraint, so a scenario gives
//     the same ids on both;
//   - the schema's rules: empty names, uniqueness, foreign keys (with their
//     cascades, restrictions and SET NULL), CHECK constraints, policy
//     limits, and which error wins when several apply;
//   - every list filter of the store's filter structs, paging, order_by
//     with its whitelist, nulls last and the id tie-break; text sorts by
//     byte order, as PostgreSQL's C and C.UTF-8 collations do;
//   - extra_vars and node_survey_data come back as jsonb prints them (keys
//     by length then bytes, duplicates dropped, ", " and ": " separators,
//     numbers in numeric's canonical form);
//   - a canceled context fails a call like the driver does, and a context
//     past its deadline fails it with store.ErrUnavailable.
//
// Not faithful:
//   - timestamps come from the clock set with SetClock (time.Now by
//     default), truncated to microseconds; every timestamp one call writes
//     is the same instant, like now() in one transaction;
//   - error texts: the sentinel (and a ListError's message) is the same,
//     the rest of the message is not;
//   - case-insensitive search folds case with Go's strings.ToLower, which
//     may differ from PostgreSQL's lower() on some non-ASCII letters;
//   - JSON holding \u0000, which jsonb refuses, is accepted;
//   - a request's workflow state never changes: the fake has no
//     projection methods (RecordRequestState, ClaimJob), so requests stay
//     pending_approval with no current stage, no pending approvers, no
//     responses and no job, and the PendingRequestsUsing* and
//     PendingRequestsForUser lists stay empty.
//
// Fail makes a method return an error of the test's choosing.
package storefake

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/countersign/countersign/store"
)

// methods are the store methods the fake implements: the names Fail
// accepts.
var methods = []string{
	"AddOrgAdmin", "AddOrgMember", "AddTeamMember", "AuthenticateToken", "CreateCatalogItem",
	"CreateDecisionKey", "CreateOrganization", "CreatePolicy", "CreateRequest", "CreateTeam",
	"CreateToken", "CreateUser", "DeleteCatalogItem", "DeleteOrganization", "DeletePolicy",
	"DeleteRequest", "DeleteTeam", "DeleteUser", "EnabledPolicies", "GetCatalogItem",
	"GetDecisionKey", "GetOrganization", "GetOrganizationByName", "GetPolicy", "GetRequest",
	"GetTeam", "GetTeamByName", "GetToken", "GetUser", "GetUserByUsername", "LinkAWXOrganization",
	"ListCatalogItems", "ListDecisionKeys", "ListOrgAdminUsers", "ListOrgMemberUsers",
	"ListOrganizations", "ListPendingForPage", "ListPolicies", "ListRequests",
	"ListTeamMemberUsers", "ListTeams", "ListTokens", "ListUsers", "PendingRequests",
	"PendingRequestsForUser", "PendingRequestsUsingOrgAdmins", "PendingRequestsUsingTeam",
	"RemoveOrgAdmin", "RemoveOrgMember", "RemoveTeamMember", "RequestPublished",
	"RevokeDecisionKey", "RevokeToken", "Roster", "TouchToken", "UpdateCatalogItem",
	"UpdateOrganization", "UpdatePolicy", "UpdateTeam", "UpdateUser", "UserRoles",
}

// pair keys a membership: (team, user) or (organization, user).
type pair struct{ parent, user int64 }

// Store is the fake. The zero value is not usable; call New. It is safe
// for concurrent use: one mutex guards everything, so every call is
// atomic, like the store's transactions.
type Store struct {
	mu     sync.Mutex
	clock  func() time.Time
	faults map[string]fault
	seq    map[string]int64

	orgs        map[int64]*store.Organization
	users       map[int64]*store.User
	teams       map[int64]*store.Team
	teamMembers map[pair]bool
	orgAdmins   map[pair]bool
	orgMembers  map[pair]bool
	tokens      map[int64]*tokenRow
	keys        map[int64]*store.DecisionKey
	items       map[int64]*store.CatalogItem
	policies    map[int64]*store.Policy
	requests    map[int64]*store.Request
}

type fault struct {
	err  error
	once bool
}

// New returns an empty fake whose clock is time.Now.
func New() *Store {
	return &Store{
		clock:       time.Now,
		faults:      map[string]fault{},
		seq:         map[string]int64{},
		orgs:        map[int64]*store.Organization{},
		users:       map[int64]*store.User{},
		teams:       map[int64]*store.Team{},
		teamMembers: map[pair]bool{},
		orgAdmins:   map[pair]bool{},
		orgMembers:  map[pair]bool{},
		tokens:      map[int64]*tokenRow{},
		keys:        map[int64]*store.DecisionKey{},
		items:       map[int64]*store.CatalogItem{},
		policies:    map[int64]*store.Policy{},
		requests:    map[int64]*store.Request{},
	}
}

// SetClock makes now the source of every timestamp the fake writes.
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// Fail makes every later call of method return err (wrapped as the store
// wraps its errors, so errors.Is sees err) until Clear; a nil err clears.
// It panics for a method the fake does not have, so a typo cannot pass
// unnoticed.
func (s *Store) Fail(method string, err error) { s.setFault(method, err, false) }

// FailOnce is Fail for the next call of method only.
func (s *Store) FailOnce(method string, err error) { s.setFault(method, err, true) }

// Clear undoes Fail and FailOnce for method.
func (s *Store) Clear(method string) { s.setFault(method, nil, false) }

func (s *Store) setFault(method string, err error, once bool) {
	i := sort.SearchStrings(methods, method)
	if i == len(methods) || methods[i] != method {
		panic(fmt.Sprintf("storefake: no method %q", method))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.faults, method)
		return
	}
	s.faults[method] = fault{err: err, once: once}
}

// begin locks the fake for one call and returns why the call must fail
// before doing anything: an injected fault or the context. The caller
// must call s.mu.Unlock.
func (s *Store) begin(ctx context.Context, method, op string) error {
	s.mu.Lock()
	if f, ok := s.faults[method]; ok {
		if f.once {
			delete(s.faults, method)
		}
		return fmt.Errorf("store: %s: %w", op, f.err)
	}
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("store: %s: %w: %v", op, store.ErrUnavailable, err)
		}
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// now is the instant every timestamp of one call gets, at the precision
// of timestamptz.
func (s *Store) now() time.Time {
	return s.clock().Truncate(time.Microsecond)
}

// next consumes the next id of a table's sequence.
func (s *Store) next(table string) int64 {
	s.seq[table]++
	return s.seq[table]
}

// fail wraps a sentinel as the store does: "store: op: sentinel: detail".
func fail(op string, sentinel error, detail string, args ...any) error {
	if detail == "" {
		return fmt.Errorf("store: %s: %w", op, sentinel)
	}
	return fmt.Errorf("store: %s: %w: %s", op, sentinel, fmt.Sprintf(detail, args...))
}

func notFound(op string) error { return fail(op, store.ErrNotFound, "") }

func nonNil[E any](s []E) []E {
	if s == nil {
		return []E{}
	}
	return s
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneSlice[E any](s []E) []E {
	if s == nil {
		return nil
	}
	return append(make([]E, 0, len(s)), s...)
}
