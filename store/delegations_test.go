package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

func TestStore_Delegations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	bob, carol, alice, erin := f.users["bob"], f.users["carol"], f.users["alice"], f.users["erin"]
	now := time.Now().UTC().Truncate(time.Microsecond)

	t.Run("create, get, list, delete", func(t *testing.T) {
		d, err := s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: bob.ID, DelegateID: carol.ID,
			Starts: now, Ends: now.Add(time.Hour), Reason: "holiday", CreatedBy: bob.ID, Now: now})
		require.NoError(t, err)
		assert.Equal(t, "bob", d.DelegatorUsername)
		assert.Equal(t, "carol", d.DelegateUsername)
		assert.Equal(t, &bob.ID, d.CreatedBy)
		assert.True(t, d.Starts.Equal(now))
		got, err := s.GetDelegation(ctx, d.ID)
		require.NoError(t, err)
		assert.Equal(t, d.ID, got.ID)
		assert.Equal(t, "holiday", got.Reason)
		list, total, err := s.ListDelegations(ctx, bob.ID, store.ListOptions{OrderBy: []string{"-ends"}})
		require.NoError(t, err)
		assert.Equal(t, 1, total)
		require.Len(t, list, 1)
		_, total, err = s.ListDelegations(ctx, carol.ID, store.ListOptions{})
		require.NoError(t, err)
		assert.Zero(t, total, "a delegate's list holds what they gave, not what they got")
		require.NoError(t, s.DeleteDelegation(ctx, d.ID))
		assert.ErrorIs(t, s.DeleteDelegation(ctx, d.ID), store.ErrNotFound)
		_, err = s.GetDelegation(ctx, d.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("schema rules", func(t *testing.T) {
		_, err := s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: bob.ID, DelegateID: bob.ID,
			Starts: now, Ends: now.Add(time.Hour), CreatedBy: bob.ID, Now: now})
		assert.ErrorIs(t, err, store.ErrInvalid)
		_, err = s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: bob.ID, DelegateID: carol.ID,
			Starts: now, Ends: now, CreatedBy: bob.ID, Now: now})
		assert.ErrorIs(t, err, store.ErrInvalid)
		_, err = s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: bob.ID, DelegateID: carol.ID + 1000,
			Starts: now, Ends: now.Add(time.Hour), CreatedBy: bob.ID, Now: now})
		assert.ErrorIs(t, err, store.ErrInvalidReference)
		_, _, err = s.ListDelegations(ctx, carol.ID+1000, store.ListOptions{})
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("a bound on delegations that have not ended", func(t *testing.T) {
		for i := range 2 {
			_, err := s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: alice.ID, DelegateID: carol.ID,
				Starts: now.Add(time.Duration(i) * time.Hour), Ends: now.Add(time.Duration(i+1) * time.Hour), CreatedBy: alice.ID,
				MaxOpen: 2, Now: now})
			require.NoError(t, err)
		}
		_, err := s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: alice.ID, DelegateID: carol.ID,
			Starts: now, Ends: now.Add(time.Hour), CreatedBy: alice.ID, MaxOpen: 2, Now: now})
		assert.ErrorIs(t, err, store.ErrLimit)
		_, err = s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: alice.ID, DelegateID: carol.ID,
			Starts: now, Ends: now.Add(time.Hour), CreatedBy: alice.ID, MaxOpen: 2, Now: now.Add(90 * time.Minute)})
		assert.NoError(t, err, "ended delegations do not count")
	})

	t.Run("rosters carry the active delegations of the stage's deciders", func(t *testing.T) {
		active, err := s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: bob.ID, DelegateID: alice.ID,
			Starts: now.Add(-time.Hour), Ends: now.Add(2 * time.Hour), CreatedBy: bob.ID, Now: now})
		require.NoError(t, err)
		future, err := s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: carol.ID, DelegateID: erin.ID,
			Starts: now.Add(time.Hour), Ends: now.Add(3 * time.Hour), CreatedBy: carol.ID, Now: now})
		require.NoError(t, err)
		_, err = s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: erin.ID, DelegateID: carol.ID,
			Starts: now.Add(-time.Hour), Ends: now.Add(30 * time.Minute), CreatedBy: erin.ID, Now: now})
		require.NoError(t, err)

		r, err := s.Roster(ctx, f.org.ID, &f.sre.ID)
		require.NoError(t, err)
		require.Len(t, r.Delegations, 1, "erin decides no sre stage; carol's has not started")
		assert.Equal(t, "bob", r.Delegations[0].Delegator)
		assert.Equal(t, "alice", r.Delegations[0].Delegate)
		assert.True(t, r.Delegations[0].Ends.Equal(active.Ends))
		require.NotNil(t, r.NextDelegationChange)
		assert.True(t, r.NextDelegationChange.Equal(future.Starts), "carol's starts first")

		r, err = s.Roster(ctx, f.org.ID, nil)
		require.NoError(t, err)
		require.Len(t, r.Delegations, 1)
		assert.Equal(t, "erin", r.Delegations[0].Delegator)
		require.NotNil(t, r.NextDelegationChange)
		assert.True(t, r.NextDelegationChange.Equal(now.Add(30*time.Minute)), "erin's ends")

		require.NoError(t, s.SetUserActive(ctx, alice.ID, false))
		r, err = s.Roster(ctx, f.org.ID, &f.sre.ID)
		require.NoError(t, err)
		assert.Empty(t, r.Delegations, "an inactive delegate gets nothing")
	})
}
