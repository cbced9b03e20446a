package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

func TestStore_Sessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	alice, bob := f.users["alice"], f.users["bob"]
	t0 := time.Now().Truncate(time.Second)
	lim := func(now time.Time) store.SessionLimits { return store.SessionLimits{Now: now, Idle: time.Hour} }

	plain, sess, err := s.CreateSession(ctx, alice.ID, "Mozilla/5.0 "+strings.Repeat("é", 300), t0, 24*time.Hour)
	require.NoError(t, err)

	t.Run("created", func(t *testing.T) {
		id, err := base64.RawURLEncoding.DecodeString(plain)
		require.NoError(t, err, "unpadded base64url")
		assert.Len(t, id, 32)
		assert.Equal(t, alice.ID, sess.UserID)
		assert.True(t, sess.Created.Equal(t0) && sess.LastSeen.Equal(t0) && sess.AuthTime.Equal(t0))
		assert.True(t, sess.Expires.Equal(t0.Add(24*time.Hour)))
		assert.Nil(t, sess.RevokedAt)
		assert.LessOrEqual(t, len(sess.UserAgent), store.MaxUserAgent)
		assert.True(t, strings.HasPrefix(sess.UserAgent, "Mozilla/5.0 éé"))
		assert.NotContains(t, sess.UserAgent, "\uFFFD", "cut on a character boundary")
	})

	t.Run("only the hash is stored", func(t *testing.T) {
		var rows []string
		require.NoError(t, s.DB().Select(&rows, `SELECT row_to_json(s)::text FROM sessions s`))
		for _, row := range rows {
			assert.NotContains(t, row, plain)
		}
		var hash []byte
		require.NoError(t, s.DB().Get(&hash, `SELECT id_hash FROM sessions WHERE id = $1`, sess.ID))
		want := sha256.Sum256([]byte(plain))
		assert.Equal(t, want[:], hash)
	})

	t.Run("authenticate and touch at most once a minute", func(t *testing.T) {
		u, got, err := s.AuthenticateSession(ctx, plain, lim(t0.Add(30*time.Second)))
		require.NoError(t, err)
		assert.Equal(t, alice.ID, u.ID)
		assert.Equal(t, sess.ID, got.ID)
		assert.True(t, got.LastSeen.Equal(t0), "not touched within the minute")
		_, got, err = s.AuthenticateSession(ctx, plain, lim(t0.Add(2*time.Minute)))
		require.NoError(t, err)
		assert.True(t, got.LastSeen.Equal(t0.Add(2*time.Minute)), "touched after a minute: %v", got.LastSeen)
		stored, err := s.GetSession(ctx, sess.ID)
		require.NoError(t, err)
		assert.True(t, stored.LastSeen.Equal(t0.Add(2*time.Minute)))
		assert.True(t, stored.AuthTime.Equal(t0), "using a session is not signing in")
	})

	t.Run("refused", func(t *testing.T) {
		last := t0.Add(2 * time.Minute)
		for name, l := range map[string]store.SessionLimits{
			"idle past the timeout":  lim(last.Add(time.Hour)),
			"past the lifetime":      {Now: t0.Add(24 * time.Hour), Idle: 48 * time.Hour},
			"long past the lifetime": {Now: t0.Add(25 * time.Hour), Idle: 48 * time.Hour},
		} {
			_, _, err := s.AuthenticateSession(ctx, plain, l)
			assert.ErrorIs(t, err, store.ErrNotFound, name)
		}
		_, _, err := s.AuthenticateSession(ctx, plain+"x", lim(last))
		assert.ErrorIs(t, err, store.ErrNotFound, "unknown id")
		_, _, err = s.AuthenticateSession(ctx, plain, lim(last.Add(59*time.Minute)))
		assert.NoError(t, err, "just within the idle timeout")
	})

	t.Run("inactive user", func(t *testing.T) {
		bobID, _, err := s.CreateSession(ctx, bob.ID, "", t0, time.Hour)
		require.NoError(t, err)
		_, err = s.UpdateUser(ctx, bob.ID, store.UserUpdate{IsActive: ptr(false)})
		require.NoError(t, err)
		_, _, err = s.AuthenticateSession(ctx, bobID, lim(t0))
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.UpdateUser(ctx, bob.ID, store.UserUpdate{IsActive: ptr(true)})
		require.NoError(t, err)
	})

	t.Run("list, revoke one, revoke all", func(t *testing.T) {
		now := t0.Add(3 * time.Minute)
		second, s2, err := s.CreateSession(ctx, alice.ID, "curl", now, time.Hour)
		require.NoError(t, err)
		rows, total, err := s.ListSessions(ctx, alice.ID, lim(now), store.ListOptions{OrderBy: []string{"-id"}})
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		require.Len(t, rows, 2)
		assert.Equal(t, []int64{s2.ID, sess.ID}, []int64{rows[0].ID, rows[1].ID})

		rows, total, err = s.ListSessions(ctx, alice.ID, lim(now.Add(2*time.Hour)), store.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 0, total, "idle and expired sessions are not listed")
		assert.NotNil(t, rows)

		require.NoError(t, s.RevokeSession(ctx, s2.ID))
		first, err := s.GetSession(ctx, s2.ID)
		require.NoError(t, err)
		require.NotNil(t, first.RevokedAt)
		require.NoError(t, s.RevokeSession(ctx, s2.ID), "again")
		again, err := s.GetSession(ctx, s2.ID)
		require.NoError(t, err)
		assert.True(t, first.RevokedAt.Equal(*again.RevokedAt), "the first revocation stays")
		_, _, err = s.AuthenticateSession(ctx, second, lim(now))
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, total, err = s.ListSessions(ctx, alice.ID, lim(now), store.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 1, total)

		bobID, _, err := s.CreateSession(ctx, bob.ID, "", now, time.Hour)
		require.NoError(t, err)
		require.NoError(t, s.RevokeUserSessions(ctx, alice.ID))
		_, _, err = s.AuthenticateSession(ctx, plain, lim(now))
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, _, err = s.AuthenticateSession(ctx, bobID, lim(now))
		assert.NoError(t, err, "other users' sessions stay")
		require.NoError(t, s.RevokeUserSessions(ctx, 999))
	})

	t.Run("missing", func(t *testing.T) {
		_, err := s.GetSession(ctx, 999)
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, s.RevokeSession(ctx, 999), store.ErrNotFound)
		_, _, err = s.ListSessions(ctx, 999, lim(t0), store.ListOptions{})
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, _, err = s.ListSessions(ctx, alice.ID, lim(t0), store.ListOptions{OrderBy: []string{"user_agent"}})
		assert.ErrorIs(t, err, store.ErrInvalid)
		_, _, err = s.CreateSession(ctx, 999, "", t0, time.Hour)
		assert.ErrorIs(t, err, store.ErrInvalidReference)
	})
}

func TestStore_CreateSessionAuthenticated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	alice := f.users["alice"]
	t0 := time.Now().Truncate(time.Second)

	_, sess, err := f.s.CreateSessionAuthenticated(ctx, alice.ID, "", t0, t0.Add(-time.Hour), 24*time.Hour)
	require.NoError(t, err)
	assert.True(t, sess.AuthTime.Equal(t0.Add(-time.Hour)), "the provider's login time")
	assert.True(t, sess.Created.Equal(t0) && sess.Expires.Equal(t0.Add(24*time.Hour)), "the lifetime runs from now")

	_, sess, err = f.s.CreateSessionAuthenticated(ctx, alice.ID, "", t0, t0.Add(time.Hour), 24*time.Hour)
	require.NoError(t, err)
	assert.True(t, sess.AuthTime.Equal(t0), "a login in the future is taken as now")
}

func TestStore_DeleteEndedSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	alice, bob := f.users["alice"], f.users["bob"]
	t0 := time.Now().Truncate(time.Second)
	lim := store.SessionLimits{Now: t0, Idle: 8 * time.Hour}

	// Each session is created at t0+at with this lifetime, and revoked
	// when asked; the id is kept to find it again.
	type session struct {
		user     int64
		at       time.Duration
		lifetime time.Duration
		revoke   bool
		ended    bool
		plain    string
		id       int64
	}
	sessions := map[string]*session{
		"fresh":                      {user: alice.ID, at: -time.Minute, lifetime: 24 * time.Hour},
		"idle one second short":      {user: alice.ID, at: -8*time.Hour + time.Second, lifetime: 24 * time.Hour},
		"expiring in a second":       {user: bob.ID, at: -time.Hour, lifetime: time.Hour + time.Second},
		"idle for the timeout":       {user: alice.ID, at: -8 * time.Hour, lifetime: 24 * time.Hour, ended: true},
		"expired just now":           {user: alice.ID, at: -time.Hour, lifetime: time.Hour, ended: true},
		"long expired":               {user: bob.ID, at: -48 * time.Hour, lifetime: 24 * time.Hour, ended: true},
		"revoked":                    {user: alice.ID, at: 0, lifetime: 24 * time.Hour, revoke: true, ended: true},
		"another user's, revoked":    {user: bob.ID, at: 0, lifetime: 24 * time.Hour, revoke: true, ended: true},
		"revoked, expired, and idle": {user: bob.ID, at: -30 * time.Hour, lifetime: 24 * time.Hour, revoke: true, ended: true},
	}
	ended := 0
	for name, x := range sessions {
		plain, sess, err := s.CreateSession(ctx, x.user, name, t0.Add(x.at), x.lifetime)
		require.NoError(t, err, name)
		x.plain, x.id = plain, sess.ID
		if x.revoke {
			require.NoError(t, s.RevokeSession(ctx, sess.ID), name)
		}
		if x.ended {
			ended++
		}
	}
	count := func() int {
		var n int
		require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM sessions`))
		return n
	}

	n, err := s.DeleteEndedSessions(ctx, lim, 0)
	require.NoError(t, err)
	assert.Zero(t, n, "an empty batch deletes nothing")
	assert.Equal(t, len(sessions), count())

	// Batches of 4 over 6 ended sessions: 4, then 2, then none.
	require.Equal(t, 6, ended)
	for _, want := range []int{4, 2, 0} {
		before := count()
		n, err := s.DeleteEndedSessions(ctx, lim, 4)
		require.NoError(t, err)
		assert.Equal(t, want, n)
		assert.Equal(t, before-want, count(), "it deletes what it reports")
	}

	for name, x := range sessions {
		_, err := s.GetSession(ctx, x.id)
		if x.ended {
			assert.ErrorIs(t, err, store.ErrNotFound, "%s is deleted", name)
			continue
		}
		assert.NoError(t, err, "%s stays", name)
		_, _, err = s.AuthenticateSession(ctx, x.plain, lim)
		assert.NoError(t, err, "%s still signs in", name)
	}
}
