package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/store"
)

func TestStore_UserSubjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	const iss = "https://idp.example.com"
	alice, err := s.CreateUser(ctx, store.NewUser{Username: "alice"})
	require.NoError(t, err)
	bob, err := s.CreateUser(ctx, store.NewUser{Username: "bob"})
	require.NoError(t, err)

	_, err = s.UserBySubject(ctx, iss, "s-alice")
	assert.ErrorIs(t, err, store.ErrNotFound, "no one is linked yet")

	require.NoError(t, s.LinkUserSubject(ctx, alice.ID, iss, "s-alice"))
	require.NoError(t, s.LinkUserSubject(ctx, alice.ID, iss, "s-alice"), "linking again is a no-op")
	got, err := s.UserBySubject(ctx, iss, "s-alice")
	require.NoError(t, err)
	assert.Equal(t, alice.ID, got.ID)
	_, err = s.UserBySubject(ctx, "https://other.example.com", "s-alice")
	assert.ErrorIs(t, err, store.ErrNotFound, "a subject is only unique within its issuer")

	assert.ErrorIs(t, s.LinkUserSubject(ctx, alice.ID, iss, "s-other"), store.ErrConflict, "a link is never replaced")
	assert.ErrorIs(t, s.LinkUserSubject(ctx, bob.ID, iss, "s-alice"), store.ErrConflict, "an identity links one user")
	assert.ErrorIs(t, s.LinkUserSubject(ctx, bob.ID, iss, ""), store.ErrInvalid)
	assert.ErrorIs(t, s.LinkUserSubject(ctx, bob.ID, "", "s-bob"), store.ErrInvalid)
	assert.ErrorIs(t, s.LinkUserSubject(ctx, bob.ID+1000, iss, "s-x"), store.ErrNotFound)
	require.NoError(t, s.LinkUserSubject(ctx, bob.ID, "https://other.example.com", "s-alice"))
}
