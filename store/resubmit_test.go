package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

// A resubmission names its parent: the link reads both ways, a parent
// takes one resubmission only (also when two race), an unknown parent is
// refused, and deleting the parent leaves the child unlinked.
func TestStore_Resubmission(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	parent := f.newRequest(t)
	assert.Equal(t, []int64{}, parent.Children)
	assert.Nil(t, parent.ParentID)

	in := f.newRequestInput()
	in.ParentID = &parent.ID
	var wg sync.WaitGroup
	results := make([]error, 4)
	children := make([]store.Request, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			children[i], results[i] = f.s.CreateRequest(ctx, in)
		}()
	}
	wg.Wait()
	var child store.Request
	for i, err := range results {
		if err == nil {
			require.Zero(t, child.ID, "a second resubmission was recorded")
			child = children[i]
			continue
		}
		assert.ErrorIs(t, err, store.ErrConflict)
	}
	require.NotZero(t, child.ID, "one resubmission is recorded")
	assert.Equal(t, &parent.ID, child.ParentID)

	got, err := f.s.GetRequest(ctx, parent.ID)
	require.NoError(t, err)
	assert.Equal(t, []int64{child.ID}, got.Children)
	list, _, err := f.s.ListRequests(ctx, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"id"}})
	require.NoError(t, err)
	for _, r := range list {
		if r.ID == parent.ID {
			assert.Equal(t, []int64{child.ID}, r.Children, "lists know the children too")
		}
	}

	unknown := f.newRequestInput()
	missing := child.ID + 1000
	unknown.ParentID = &missing
	_, err = f.s.CreateRequest(ctx, unknown)
	assert.ErrorIs(t, err, store.ErrInvalidReference)

	require.NoError(t, f.s.DeleteRequest(ctx, parent.ID))
	got, err = f.s.GetRequest(ctx, child.ID)
	require.NoError(t, err)
	assert.Nil(t, got.ParentID)
}
