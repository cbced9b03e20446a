package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/store"
)

// The rules every list shares, exercised through organizations.
func TestStore_ListOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	const n = 60
	for i := range n {
		// Names run against ids, so ordering by name is visibly not by id.
		_, err := s.CreateOrganization(ctx, fmt.Sprintf("org%02d", n-1-i), "")
		require.NoError(t, err)
	}
	list := func(t *testing.T, opts store.ListOptions) ([]string, int) {
		t.Helper()
		got, total, err := s.ListOrganizations(ctx, store.OrganizationFilter{}, opts)
		require.NoError(t, err)
		return orgNames(got), total
	}

	t.Run("default: first page of 25 by id", func(t *testing.T) {
		names, total := list(t, store.ListOptions{})
		assert.Equal(t, n, total)
		require.Len(t, names, store.DefaultPageSize)
		assert.Equal(t, "org59", names[0])
		assert.Equal(t, "org35", names[24])
	})

	t.Run("pages partition the list", func(t *testing.T) {
		var all []string
		for page := 1; page <= 3; page++ {
			names, total := list(t, store.ListOptions{Page: page, PageSize: 25, OrderBy: []string{"name"}})
			assert.Equal(t, n, total)
			all = append(all, names...)
		}
		require.Len(t, all, n)
		for i, name := range all {
			assert.Equal(t, fmt.Sprintf("org%02d", i), name)
		}
	})

	t.Run("a page beyond the end is empty and still counts", func(t *testing.T) {
		names, total := list(t, store.ListOptions{Page: 4, PageSize: 25})
		assert.Empty(t, names)
		assert.Equal(t, n, total)
	})

	t.Run("page size bounds", func(t *testing.T) {
		names, _ := list(t, store.ListOptions{PageSize: 1})
		assert.Len(t, names, 1)
		names, _ = list(t, store.ListOptions{PageSize: store.MaxPageSize})
		assert.Len(t, names, n)
		for _, bad := range []store.ListOptions{{PageSize: store.MaxPageSize + 1}, {PageSize: -1}, {Page: -1}, {Page: 1 << 40, PageSize: 200}} {
			_, _, err := s.ListOrganizations(ctx, store.OrganizationFilter{}, bad)
			assert.ErrorIs(t, err, store.ErrInvalid, "%+v", bad)
		}
	})

	t.Run("descending and several fields", func(t *testing.T) {
		names, _ := list(t, store.ListOptions{OrderBy: []string{"-name"}, PageSize: 2})
		assert.Equal(t, []string{"org59", "org58"}, names)
		names, _ = list(t, store.ListOptions{OrderBy: []string{"created", "-id"}, PageSize: 2})
		assert.Len(t, names, 2)
		names, _ = list(t, store.ListOptions{OrderBy: []string{" -id , name", ""}, PageSize: 2})
		assert.Equal(t, []string{"org00", "org01"}, names, "comma-separated, spaces and empty entries tolerated")
	})

	t.Run("unknown fields are refused with the choices", func(t *testing.T) {
		_, _, err := s.ListOrganizations(ctx, store.OrganizationFilter{}, store.ListOptions{OrderBy: []string{"foo"}})
		require.ErrorIs(t, err, store.ErrInvalid)
		assert.EqualError(t, err,
			`store: list organizations: invalid value: cannot order by "foo": choose from id, name, created, modified`)
	})

	t.Run("order_by never reaches SQL", func(t *testing.T) {
		for _, evil := range []string{
			"name; DROP TABLE organizations",
			"name DESC",
			"(SELECT 1)",
			"name--",
			"--name",
			"+name",
			"NAME",
			`"name"`,
			"1",
			"organizations.name",
		} {
			_, _, err := s.ListOrganizations(ctx, store.OrganizationFilter{}, store.ListOptions{OrderBy: []string{evil}})
			assert.ErrorIs(t, err, store.ErrInvalid, evil)
		}
		_, total := list(t, store.ListOptions{})
		assert.Equal(t, n, total, "the table is intact")
	})
}
