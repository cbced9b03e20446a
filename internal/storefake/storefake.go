// Package storefake is an in-memory stand-in for *store.Store, for tests
// of code above the store (handlers, the request service) that need no
// PostgreSQL. Store has the methods listed in methods below with exactly
// the signatures of *store.Store's, and returns the same values and the
// same sentinel errors (store.ErrNotFound, ErrConflict, ErrJobTaken,
// ErrInvalidReference, ErrReferenced, ErrInvalid, ErrLimit, and a
// *store.ListError with the store's own message) in the same situations. A
// conformance test runs the same scenarios on both and compares every
// result; a change to the store's behaviour must be mirrored here.
//
// Faithful:
//   - ids increase per table from 1 and, like PostgreSQL's sequences, are
//     used up by inserts that fail on a constraint, so a scenario gives the
//     same ids on both;
//   - the schema's rules: empty names, uniqueness, foreign keys with their
//     cascades, restrictions and SET NULL, CHECK constraints, the policy
//     limit, and which error wins when several apply; a failed call changes
//     nothing;
//   - every filter of the store's filter structs (search, tags,
//     visibility, undecided...), paging, order_by with its whitelist and
//     messages, nulls last and the id tie-break; text sorts by byte order,
//     as PostgreSQL's C and C.UTF-8 collations do;
//   - JSON columns read back as jsonb prints them (keys by length then
//     bytes, the last duplicate kept, ", " and ": ", numbers in numeric's
//     form), durations to the second, timestamps to the microsecond as
//     PostgreSQL rounds them;
//   - RecordRequestState and ClaimJob, so tests can move a request
//     through its lifecycle as the worker does;
//   - a canceled context fails a call with context.Canceled, one past its
//     deadline with store.ErrUnavailable.
//
// Not faithful:
//   - timestamps the store takes from now() come from the clock set with
//     SetClock (time.Now by default), the same instant for one call; their
//     location is the clock's, not the database session's;
//   - what a method returns alongside an error is unspecified (the store
//     fills some fields as it scans; the fake returns zero values), and
//     error texts match only in their sentinel and ListError message;
//   - case-insensitive search folds case with strings.ToLower, which may
//     differ from PostgreSQL's lower() for some non-ASCII letters, and
//     JSON holding \u0000, which jsonb refuses, is accepted;
//   - a snapshot recorded concurrently with a claim never hits the
//     store's "changed while recorded" retry error: one mutex serialises
//     every call.
//
// Fail and FailOnce make a method return an error of the test's choosing,
// such as store.ErrUnavailable.
package storefake

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/countersign/countersign/store"
)

// methods are the store methods the fake implements: the names Fail
// accepts.
var methods = []string{
	"AddOrgAdmin", "AddOrgMember", "AddTeamMember", "AuthenticateSession", "AuthenticateToken", "ClaimJob",
	"CreateCatalogItem", "CreateDecisionKey", "CreateDelegation", "CreateOrganization", "CreatePolicy", "CreateRequest",
	"CreateSession", "CreateTeam", "CreateToken", "CreateUser", "DeleteCatalogItem", "DeleteDelegation", "DeleteEndedSessions",
	"DeleteOrganization", "DeletePolicy", "DeleteRequest", "DeleteTeam", "DeleteUser", "DirectOrgMemberships",
	"EnabledPolicies", "GetCatalogItem", "GetDecisionKey", "GetDelegation", "GetOrganization", "GetOrganizationByName",
	"GetPolicy", "GetRequest", "GetSession", "GetTeam", "GetTeamByName", "GetToken", "GetUser",
	"GetUserByUsername", "LinkAWXOrganization", "LinkUserSubject", "ListCatalogItems", "ListDecisionKeys", "ListDelegations",
	"ListOrgAdminUsers", "ListOrgMemberUsers", "ListOrganizations", "ListPendingForPage", "ListPolicies",
	"ListRequests", "ListSessions", "ListTeamMemberUsers", "ListTeams", "ListTokens", "ListUsers",
	"PendingRequests", "PendingRequestsForUser", "PendingRequestsUsingOrgAdmins", "PendingRequestsUsingTeam",
	"RecordRequestState", "RemoveOrgAdmin", "RemoveOrgMember", "RemoveTeamMember",
	"RevokeDecisionKey", "RevokeSession", "RevokeSessionSecret", "RevokeToken", "RevokeUserSessions", "Roster", "TouchToken",
	"UpdateCatalogItem", "UpdateOrganization", "UpdatePolicy", "UpdateTeam", "UpdateUser", "UserBySubject",
	"UserRoles",
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
	subjects    map[int64]subject
	teams       map[int64]*store.Team
	teamMembers map[pair]bool
	orgAdmins   map[pair]bool
	orgMembers  map[pair]bool
	tokens      map[int64]*tokenRow
	keys        map[int64]*store.DecisionKey
	delegations map[int64]*store.Delegation
	sessions    map[int64]*sessionRow
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
		subjects:    map[int64]subject{},
		teams:       map[int64]*store.Team{},
		teamMembers: map[pair]bool{},
		orgAdmins:   map[pair]bool{},
		orgMembers:  map[pair]bool{},
		tokens:      map[int64]*tokenRow{},
		keys:        map[int64]*store.DecisionKey{},
		delegations: map[int64]*store.Delegation{},
		sessions:    map[int64]*sessionRow{},
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
// before doing anything: an injected fault or the context. Every method
// defers s.mu.Unlock() and then calls begin, so that it holds the lock
// until it returns, whatever path it takes.
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
	return micro(s.clock())
}

// micro is t as PostgreSQL stores a timestamp the driver sends with
// nanoseconds: it parses the fraction as a double and rounds its
// microseconds half to even, float errors and all.
func micro(t time.Time) time.Time {
	frac, _ := strconv.ParseFloat(fmt.Sprintf("0.%09d", t.Nanosecond()), 64)
	return t.Truncate(time.Second).Add(time.Duration(math.RoundToEven(frac*1e6)) * time.Microsecond)
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
