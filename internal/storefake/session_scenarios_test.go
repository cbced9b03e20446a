package storefake_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/countersign/countersign/store"
)

// sessionResult is what a scenario records of a new session: the session
// and the length of its random id.
type sessionResult struct {
	IDLength int
	Session  store.Session
}

var sessionScenarios = []scenario{
	{"sessions", func(ctx context.Context, s Store, r *rec) {
		alice := got[store.User](r, "create alice")(s.CreateUser(ctx, store.NewUser{Username: "alice"}))
		bob := got[store.User](r, "create bob")(s.CreateUser(ctx, store.NewUser{Username: "bob"}))
		t0 := time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)
		at := func(d time.Duration) store.SessionLimits { return store.SessionLimits{Now: t0.Add(d), Idle: time.Hour} }
		create := func(label string, user int64, ua string, lifetime time.Duration) string {
			plain, x, err := s.CreateSession(ctx, user, ua, t0, lifetime)
			r.add(label, sessionResult{IDLength: len(plain), Session: x}, err)
			return plain
		}
		auth := func(label, plain string, lim store.SessionLimits) {
			u, x, err := s.AuthenticateSession(ctx, plain, lim)
			r.add(label, map[string]any{"user": u, "session": x, "last_seen": x.LastSeen.Sub(t0).String()}, err)
		}
		first := create("create for alice", alice.ID, "Mozilla/5.0 "+strings.Repeat("€", 100), 3*time.Hour)
		second := create("create another for alice", alice.ID, "curl\xff", time.Hour)
		bobs := create("create for bob", bob.ID, "", 3*time.Hour)
		create("create for nobody", 999, "", time.Hour)

		auth("authenticate", first, at(30*time.Second))
		auth("authenticate after a minute", first, at(2*time.Minute))
		auth("authenticate unknown", first+"x", at(time.Minute))
		auth("authenticate idle", second, at(90*time.Minute))
		auth("authenticate expired", first, store.SessionLimits{Now: t0.Add(3 * time.Hour), Idle: 24 * time.Hour})
		page[store.Session](r, "list alice's")(s.ListSessions(ctx, alice.ID, at(2*time.Minute), store.ListOptions{OrderBy: []string{"-last_seen"}}))
		page[store.Session](r, "list alice's later")(s.ListSessions(ctx, alice.ID, at(70*time.Minute), store.ListOptions{}))
		page[store.Session](r, "list nobody's")(s.ListSessions(ctx, 999, at(0), store.ListOptions{}))
		page[store.Session](r, "list by unknown")(s.ListSessions(ctx, alice.ID, at(0), store.ListOptions{OrderBy: []string{"user_agent"}}))

		_, x, _ := s.AuthenticateSession(ctx, bobs, at(0))
		r.err("revoke bob's", s.RevokeSession(ctx, x.ID))
		r.err("revoke bob's again", s.RevokeSession(ctx, x.ID))
		r.err("revoke missing", s.RevokeSession(ctx, 999))
		r.err("revoke by secret, unknown", s.RevokeSessionSecret(ctx, bobs+"x"))
		r.err("revoke by secret, already revoked", s.RevokeSessionSecret(ctx, bobs))
		got[store.Session](r, "get bob's")(s.GetSession(ctx, x.ID))
		got[store.Session](r, "get missing")(s.GetSession(ctx, 999))
		auth("authenticate revoked", bobs, at(0))

		got[store.User](r, "deactivate alice")(s.UpdateUser(ctx, alice.ID, store.UserUpdate{IsActive: ptr(false)}))
		auth("authenticate inactive", first, at(3*time.Minute))
		got[store.User](r, "reactivate alice")(s.UpdateUser(ctx, alice.ID, store.UserUpdate{IsActive: ptr(true)}))
		r.err("revoke all of alice's", s.RevokeUserSessions(ctx, alice.ID))
		r.err("revoke all of nobody's", s.RevokeUserSessions(ctx, 999))
		auth("authenticate after revoking all", first, at(3*time.Minute))
		page[store.Session](r, "list alice's after revoking all")(s.ListSessions(ctx, alice.ID, at(3*time.Minute), store.ListOptions{}))

		bobs = create("create again for bob", bob.ID, "", time.Hour)
		r.err("delete bob", s.DeleteUser(ctx, bob.ID))
		auth("authenticate deleted", bobs, at(0))
		got[store.Session](r, "get deleted user's")(s.GetSession(ctx, x.ID))
	}},
	{"deleting ended sessions", func(ctx context.Context, s Store, r *rec) {
		alice := got[store.User](r, "create alice")(s.CreateUser(ctx, store.NewUser{Username: "alice"}))
		t0 := time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)
		lim := store.SessionLimits{Now: t0, Idle: time.Hour}
		var ids []int64
		create := func(label string, at, lifetime time.Duration) int64 {
			_, x, err := s.CreateSession(ctx, alice.ID, label, t0.Add(at), lifetime)
			r.add(label, x, err)
			ids = append(ids, x.ID)
			return x.ID
		}
		create("create fresh", -time.Minute, 3*time.Hour)
		create("create idle", -time.Hour, 3*time.Hour)
		create("create almost idle", -time.Hour+time.Microsecond, 3*time.Hour)
		create("create expired", -30*time.Minute, 30*time.Minute)
		create("create about to expire", -30*time.Minute, 30*time.Minute+time.Microsecond)
		r.err("revoke one", s.RevokeSession(ctx, create("create revoked", 0, 3*time.Hour)))

		deleted := func(label string, batch int) {
			n, err := s.DeleteEndedSessions(ctx, lim, batch)
			r.add(label, n, err)
		}
		deleted("delete none", 0)
		deleted("delete a negative batch", -1)
		deleted("delete two", 2)
		deleted("delete two more", 2)
		deleted("delete what is left", 2)
		for _, id := range ids {
			got[store.Session](r, fmt.Sprintf("get %d", id))(s.GetSession(ctx, id))
		}
	}},
}
