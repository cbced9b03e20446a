package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

func TestStore_CreateToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	alice := f.users["alice"]

	plain, tok, err := s.CreateToken(ctx, alice.ID, "laptop")
	require.NoError(t, err)

	t.Run("format", func(t *testing.T) {
		require.True(t, strings.HasPrefix(plain, "cs_"), plain)
		secret, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(plain, "cs_"))
		require.NoError(t, err, "unpadded base64url")
		assert.Len(t, secret, 32)
		assert.Equal(t, plain[:8], tok.Prefix)
		assert.Equal(t, alice.ID, tok.UserID)
		assert.Equal(t, "laptop", tok.Description)
		assert.Nil(t, tok.LastUsed)
		assert.Nil(t, tok.RevokedAt)
		assert.WithinDuration(t, time.Now(), tok.Created, time.Minute)
	})

	t.Run("every token is different", func(t *testing.T) {
		again, tok2, err := s.CreateToken(ctx, alice.ID, "laptop")
		require.NoError(t, err)
		assert.NotEqual(t, plain, again)
		assert.NotEqual(t, tok.ID, tok2.ID)
	})

	t.Run("only the hash is stored", func(t *testing.T) {
		var rows []string
		require.NoError(t, s.DB().Select(&rows, `SELECT row_to_json(t)::text FROM api_tokens t`))
		require.NotEmpty(t, rows)
		secret := strings.TrimPrefix(plain, "cs_")
		for _, row := range rows {
			assert.NotContains(t, row, plain)
			assert.NotContains(t, row, secret[len(secret)-16:], "not even the part after the prefix")
		}
		var hash []byte
		require.NoError(t, s.DB().Get(&hash, `SELECT token_hash FROM api_tokens WHERE id = $1`, tok.ID))
		want := sha256.Sum256([]byte(plain))
		assert.Equal(t, want[:], hash)
	})

	t.Run("unknown user is ErrInvalidReference", func(t *testing.T) {
		_, _, err := s.CreateToken(ctx, 999999, "")
		assert.ErrorIs(t, err, store.ErrInvalidReference)
	})
}

func TestStore_ImportToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	tok, err := s.ImportToken(ctx, f.users["bob"].ID, "demo", "dev-bob")
	require.NoError(t, err)
	assert.Equal(t, "dev-bob", tok.Prefix, "shorter than a prefix: all of it")
	u, got, _, err := s.AuthenticateToken(ctx, "dev-bob")
	require.NoError(t, err)
	assert.Equal(t, "bob", u.Username)
	assert.Equal(t, tok, got)

	long, err := s.ImportToken(ctx, f.users["carol"].ID, "demo", "dev-carol")
	require.NoError(t, err)
	assert.Equal(t, "dev-caro", long.Prefix)

	_, err = s.ImportToken(ctx, f.users["alice"].ID, "", "dev-bob")
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = s.ImportToken(ctx, f.users["alice"].ID, "", "")
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.ImportToken(ctx, 999999, "", "dev-nobody")
	assert.ErrorIs(t, err, store.ErrInvalidReference)
}

func TestStore_AuthenticateToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	bob := f.users["bob"]
	plain, tok, err := s.CreateToken(ctx, bob.ID, "ci")
	require.NoError(t, err)

	t.Run("a valid token", func(t *testing.T) {
		u, got, roles, err := s.AuthenticateToken(ctx, plain)
		require.NoError(t, err)
		assert.Equal(t, bob, u)
		assert.Equal(t, tok, got)
		want, err := s.UserRoles(ctx, bob.ID)
		require.NoError(t, err)
		require.NotEmpty(t, want.Teams)
		assert.Equal(t, want, roles, "the user's roles, as UserRoles reads them")
	})

	t.Run("unknown or altered tokens", func(t *testing.T) {
		for _, guess := range []string{"", "cs_", plain[:len(plain)-1], plain + "x", strings.ToUpper(plain), tok.Prefix} {
			_, _, _, err := s.AuthenticateToken(ctx, guess)
			assert.ErrorIs(t, err, store.ErrNotFound, guess)
		}
	})

	t.Run("an inactive user's token", func(t *testing.T) {
		require.NoError(t, s.SetUserActive(ctx, bob.ID, false))
		_, _, _, err := s.AuthenticateToken(ctx, plain)
		assert.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, s.SetUserActive(ctx, bob.ID, true))
		_, _, _, err = s.AuthenticateToken(ctx, plain)
		assert.NoError(t, err, "works again once reactivated")
	})

	t.Run("a revoked token", func(t *testing.T) {
		require.NoError(t, s.RevokeToken(ctx, tok.ID))
		_, _, _, err := s.AuthenticateToken(ctx, plain)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("a deleted user's tokens go with them", func(t *testing.T) {
		dave, err := s.CreateUser(ctx, store.NewUser{Username: "dave"})
		require.NoError(t, err)
		plain, tok, err := s.CreateToken(ctx, dave.ID, "")
		require.NoError(t, err)
		require.NoError(t, s.DeleteUser(ctx, dave.ID))
		_, _, _, err = s.AuthenticateToken(ctx, plain)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.GetToken(ctx, tok.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_TouchToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	_, tok, err := s.CreateToken(ctx, f.users["alice"].ID, "")
	require.NoError(t, err)
	lastUsed := func(t *testing.T) *time.Time {
		t.Helper()
		got, err := s.GetToken(ctx, tok.ID)
		require.NoError(t, err)
		return got.LastUsed
	}

	t0 := ts("2030-05-01T10:00:00Z")
	require.NoError(t, s.TouchToken(ctx, tok.ID, t0))
	assertSameTime(t, &t0, lastUsed(t))

	// Within a minute: no write; exactly a minute is not older than one.
	require.NoError(t, s.TouchToken(ctx, tok.ID, t0.Add(30*time.Second)))
	assertSameTime(t, &t0, lastUsed(t))
	require.NoError(t, s.TouchToken(ctx, tok.ID, t0.Add(time.Minute)))
	assertSameTime(t, &t0, lastUsed(t))

	t1 := t0.Add(time.Minute + time.Second)
	require.NoError(t, s.TouchToken(ctx, tok.ID, t1))
	assertSameTime(t, &t1, lastUsed(t))

	// An earlier time never moves it back.
	require.NoError(t, s.TouchToken(ctx, tok.ID, t0))
	assertSameTime(t, &t1, lastUsed(t))

	assert.NoError(t, s.TouchToken(ctx, 999999, t1), "an unknown token is left alone")
}

func TestStore_ListTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	alice := f.users["alice"]
	var toks []store.Token
	for _, desc := range []string{"laptop", "ci", "backup"} {
		_, tok, err := s.CreateToken(ctx, alice.ID, desc)
		require.NoError(t, err)
		toks = append(toks, tok)
	}
	_, _, err := s.CreateToken(ctx, f.users["bob"].ID, "bob's")
	require.NoError(t, err)
	require.NoError(t, s.RevokeToken(ctx, toks[1].ID))
	require.NoError(t, s.TouchToken(ctx, toks[2].ID, ts("2030-01-01T00:00:00Z")))

	descriptions := func(ts []store.Token) []string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = t.Description
		}
		return out
	}

	got, total, err := s.ListTokens(ctx, alice.ID, store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"laptop", "ci", "backup"}, descriptions(got), "revoked ones included, not bob's")
	assert.Equal(t, 3, total)
	assert.NotNil(t, got[1].RevokedAt)
	stored, err := s.GetToken(ctx, toks[1].ID)
	require.NoError(t, err)
	assert.Equal(t, stored, got[1])

	got, _, err = s.ListTokens(ctx, alice.ID, store.ListOptions{OrderBy: []string{"description"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"backup", "ci", "laptop"}, descriptions(got))
	got, _, err = s.ListTokens(ctx, alice.ID, store.ListOptions{OrderBy: []string{"-last_used"}})
	require.NoError(t, err)
	assert.Equal(t, "backup", got[0].Description, "never-used tokens last")

	got, total, err = s.ListTokens(ctx, alice.ID, store.ListOptions{PageSize: 2, Page: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"backup"}, descriptions(got))
	assert.Equal(t, 3, total)

	got, total, err = s.ListTokens(ctx, f.users["carol"].ID, store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []store.Token{}, got)
	assert.Zero(t, total)

	_, _, err = s.ListTokens(ctx, 999999, store.ListOptions{})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.ListTokens(ctx, alice.ID, store.ListOptions{OrderBy: []string{"token_hash"}})
	assert.ErrorIs(t, err, store.ErrInvalid)
}

func TestStore_RevokeToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	_, tok, err := s.CreateToken(ctx, f.users["alice"].ID, "")
	require.NoError(t, err)

	require.NoError(t, s.RevokeToken(ctx, tok.ID))
	first, err := s.GetToken(ctx, tok.ID)
	require.NoError(t, err)
	require.NotNil(t, first.RevokedAt)
	assert.WithinDuration(t, time.Now(), *first.RevokedAt, time.Minute)

	require.NoError(t, s.RevokeToken(ctx, tok.ID), "revoking twice is a no-op")
	again, err := s.GetToken(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, first, again, "the first revocation time is kept")

	assert.ErrorIs(t, s.RevokeToken(ctx, 999999), store.ErrNotFound)
	_, err = s.GetToken(ctx, 999999)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// Authentication runs prepared statements, made once for the pool: many
// first calls at once share one, and each sees the data as it is now (a
// revoked token, a team left), not as it was when it was prepared.
func TestStore_AuthenticationStatementsArePreparedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	alice := f.users["alice"]
	plain, tok, err := s.CreateToken(ctx, alice.ID, "laptop")
	require.NoError(t, err)

	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, _, _, err := s.AuthenticateToken(ctx, plain)
			assert.NoError(t, err)
			assert.Equal(t, alice.ID, u.ID)
			_, err = s.UserRoles(ctx, alice.ID)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 2, s.PreparedStatements(), "the token's and the roles' statements, once each however many asked at once")

	sre := store.TeamRef{ID: f.sre.ID, Name: f.sre.Name, OrganizationID: f.org.ID}
	require.NoError(t, s.AddTeamMember(ctx, f.sre.ID, alice.ID))
	roles, err := s.UserRoles(ctx, alice.ID)
	require.NoError(t, err)
	assert.Contains(t, roles.Teams, sre)
	_, _, roles, err = s.AuthenticateToken(ctx, plain)
	require.NoError(t, err)
	assert.Contains(t, roles.Teams, sre, "the token's lookup reads the roles too")
	require.NoError(t, s.RemoveTeamMember(ctx, f.sre.ID, alice.ID))
	roles, err = s.UserRoles(ctx, alice.ID)
	require.NoError(t, err)
	assert.NotContains(t, roles.Teams, sre)
	_, _, roles, err = s.AuthenticateToken(ctx, plain)
	require.NoError(t, err)
	assert.NotContains(t, roles.Teams, sre)

	require.NoError(t, s.RevokeToken(ctx, tok.ID))
	_, _, _, err = s.AuthenticateToken(ctx, plain)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UserRoles(ctx, -1)
	assert.ErrorIs(t, err, store.ErrNotFound)
}
