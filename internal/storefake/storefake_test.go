package storefake_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/storefake"
	"github.com/countersign/countersign/store"
)

func TestStore_Fail(t *testing.T) {
	ctx := context.Background()
	s := storefake.New()
	org, err := s.CreateOrganization(ctx, "acme", "")
	require.NoError(t, err)

	t.Run("until cleared", func(t *testing.T) {
		s.Fail("GetOrganization", store.ErrUnavailable)
		for range 2 {
			_, err := s.GetOrganization(ctx, org.ID)
			assert.ErrorIs(t, err, store.ErrUnavailable)
		}
		_, err := s.GetOrganizationByName(ctx, "acme")
		assert.NoError(t, err, "other methods are not affected")
		s.Clear("GetOrganization")
		_, err = s.GetOrganization(ctx, org.ID)
		assert.NoError(t, err)
	})
	t.Run("once", func(t *testing.T) {
		boom := errors.New("boom")
		s.FailOnce("DeleteOrganization", boom)
		assert.ErrorIs(t, s.DeleteOrganization(ctx, org.ID), boom)
		_, err := s.GetOrganization(ctx, org.ID)
		require.NoError(t, err, "a failed call changes nothing")
		assert.NoError(t, s.DeleteOrganization(ctx, org.ID))
	})
	t.Run("nil clears", func(t *testing.T) {
		s.Fail("ListUsers", store.ErrUnavailable)
		s.Fail("ListUsers", nil)
		_, _, err := s.ListUsers(ctx, store.UserFilter{}, store.ListOptions{})
		assert.NoError(t, err)
	})
	t.Run("every method may fail", func(t *testing.T) {
		methods := reflect.TypeFor[Store]()
		for i := range methods.NumMethod() {
			assert.NotPanics(t, func() { s.Clear(methods.Method(i).Name) }, methods.Method(i).Name)
		}
	})
	t.Run("unknown method", func(t *testing.T) {
		assert.Panics(t, func() { s.Fail("GetOrganisation", store.ErrUnavailable) })
	})
}

func TestStore_SetClock(t *testing.T) {
	ctx := context.Background()
	s := storefake.New()
	now := time.Date(2026, 5, 1, 12, 0, 0, 123456289, time.UTC)
	s.SetClock(func() time.Time { return now })

	u, err := s.CreateUser(ctx, store.NewUser{Username: "alice"})
	require.NoError(t, err)
	assert.Equal(t, now.Truncate(time.Microsecond), u.Created, "timestamptz keeps microseconds")
	assert.Equal(t, u.Created, u.Modified)

	now = now.Add(time.Hour)
	u, err = s.UpdateUser(ctx, u.ID, store.UserUpdate{FirstName: ptr("Alice")})
	require.NoError(t, err)
	assert.Equal(t, now.Add(-time.Hour).Truncate(time.Microsecond), u.Created)
	assert.Equal(t, now.Truncate(time.Microsecond), u.Modified)
}

// Values handed in or out are copies: changing them changes nothing
// stored, as with a database.
func TestStore_Copies(t *testing.T) {
	ctx := context.Background()
	s := storefake.New()
	org, err := s.CreateOrganization(ctx, "acme", "")
	require.NoError(t, err)
	tags := []string{"linux"}
	item, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{
		OrganizationID: org.ID, Name: "Restart", JobTemplateID: ptr(int64(7)), Tags: tags,
	})
	require.NoError(t, err)
	tags[0] = "changed"
	item.Tags[0] = "changed too"
	*item.JobTemplateID = 8

	item, err = s.GetCatalogItem(ctx, item.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"linux"}, item.Tags)
	assert.Equal(t, int64(7), *item.JobTemplateID)

	u, err := s.CreateUser(ctx, store.NewUser{Username: "alice"})
	require.NoError(t, err)
	vars := json.RawMessage(`{"a": 1}`)
	req, err := s.CreateRequest(ctx, store.NewRequest{
		OrganizationID: org.ID, CatalogItemID: item.ID, RequesterID: u.ID, ExtraVars: vars,
	})
	require.NoError(t, err)
	vars[2] = 'b'
	req.ExtraVars[2] = 'c'
	req, err = s.GetRequest(ctx, req.ID)
	require.NoError(t, err)
	assert.JSONEq(t, `{"a": 1}`, string(req.ExtraVars))
}

// Run with -race: one mutex guards the fake, and ids stay unique.
func TestStore_Concurrent(t *testing.T) {
	ctx := context.Background()
	s := storefake.New()
	org, err := s.CreateOrganization(ctx, "acme", "")
	require.NoError(t, err)
	const n = 40
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u, err := s.CreateUser(ctx, store.NewUser{Username: string(rune('a'+i%26)) + string(rune('0'+i/26))})
			if assert.NoError(t, err) {
				ids[i] = u.ID
				assert.NoError(t, s.AddOrgMember(ctx, org.ID, u.ID))
			}
			_, _, err = s.ListOrgMemberUsers(ctx, org.ID, store.ListOptions{})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, id := range ids {
		assert.False(t, seen[id], "id %d given twice", id)
		seen[id] = true
	}
	_, total, err := s.ListOrgMemberUsers(ctx, org.ID, store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, n, total)
}
