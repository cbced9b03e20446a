package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

func TestStore_MailLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	req := f.newRequest(t)
	t0 := time.Now().Truncate(time.Second)
	use := store.MailLinkUse{LinkID: "link-1", Username: "bob", RequestID: req.ID, Stage: 0, Action: "approve", Expires: t0.Add(time.Hour)}

	t.Run("a link is claimed once, even by concurrent claims", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 5)
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = f.s.ClaimMailLink(ctx, use) }()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				assert.ErrorIs(t, err, store.ErrConflict)
			}
		}
		assert.Equal(t, 1, won)
		used, err := f.s.MailLinkUsed(ctx, "link-1")
		require.NoError(t, err)
		assert.True(t, used)
	})

	t.Run("a released link can be claimed again", func(t *testing.T) {
		require.NoError(t, f.s.ReleaseMailLink(ctx, "link-1"))
		used, err := f.s.MailLinkUsed(ctx, "link-1")
		require.NoError(t, err)
		assert.False(t, used)
		require.NoError(t, f.s.ClaimMailLink(ctx, use))
		require.NoError(t, f.s.ReleaseMailLink(ctx, "never-claimed"))
	})

	t.Run("a link of an unknown request", func(t *testing.T) {
		other := use
		other.LinkID, other.RequestID = "link-2", req.ID+1000
		assert.ErrorIs(t, f.s.ClaimMailLink(ctx, other), store.ErrInvalidReference)
	})

	t.Run("expired uses are deleted", func(t *testing.T) {
		n, err := f.s.DeleteExpiredMailLinks(ctx, t0.Add(30*time.Minute))
		require.NoError(t, err)
		assert.Zero(t, n)
		n, err = f.s.DeleteExpiredMailLinks(ctx, t0.Add(2*time.Hour))
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
	})
}
