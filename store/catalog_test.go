package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

func itemNames(items []store.CatalogItem) []string {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.Name
	}
	return names
}

func TestStore_CreateCatalogItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	t.Run("round trip through GetCatalogItem", func(t *testing.T) {
		created, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: f.org.ID, Name: "Provision environment", Description: "A fresh env",
			Icon: "server", Category: "environments", Tags: []string{"prod", "aws"},
			WorkflowJobTemplateID: ptr(int64(12)), RequiresApproval: true, ApproverTeamID: &f.sre.ID,
		})
		require.NoError(t, err)
		got, err := s.GetCatalogItem(ctx, created.ID)
		require.NoError(t, err)
		assert.Equal(t, created, got)

		assert.NotZero(t, got.ID)
		assert.Equal(t, f.org.ID, got.OrganizationID)
		assert.Equal(t, "acme", got.OrganizationName)
		assert.Equal(t, "Provision environment", got.Name)
		assert.Equal(t, "A fresh env", got.Description)
		assert.Equal(t, "server", got.Icon)
		assert.Equal(t, "environments", got.Category)
		assert.Equal(t, []string{"prod", "aws"}, got.Tags)
		assert.Nil(t, got.JobTemplateID)
		assert.Equal(t, ptr(int64(12)), got.WorkflowJobTemplateID)
		assert.True(t, got.IsWorkflow())
		assert.True(t, got.RequiresApproval)
		assert.Equal(t, &f.sre.ID, got.ApproverTeamID)
		assert.Equal(t, "sre", got.ApproverTeamName)
		assert.True(t, got.Enabled, "enabled unless told otherwise")
		assert.False(t, got.Created.IsZero())
	})

	t.Run("defaults", func(t *testing.T) {
		got, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: f.org.ID, Name: "Minimal", JobTemplateID: ptr(int64(1)), Enabled: ptr(false),
		})
		require.NoError(t, err)
		assert.Equal(t, []string{}, got.Tags)
		assert.False(t, got.IsWorkflow())
		assert.Nil(t, got.ApproverTeamID)
		assert.Empty(t, got.ApproverTeamName)
		assert.False(t, got.Enabled)
		assert.False(t, got.RequiresApproval)
	})

	other, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	theirTeam, err := s.CreateTeam(ctx, other.ID, "ops", "")
	require.NoError(t, err)

	t.Run("names are unique per organization", func(t *testing.T) {
		_, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: f.org.ID, Name: "Restart service", JobTemplateID: ptr(int64(1)),
		})
		assert.ErrorIs(t, err, store.ErrConflict)
		_, err = s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: other.ID, Name: "Restart service", JobTemplateID: ptr(int64(1)),
		})
		assert.NoError(t, err)
	})

	countItems := func(t *testing.T) int {
		var n int
		require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM catalog_items`))
		return n
	}
	for name, tc := range map[string]struct {
		item store.NewCatalogItem
		want error
	}{
		"empty name":           {store.NewCatalogItem{OrganizationID: f.org.ID, JobTemplateID: ptr(int64(1))}, store.ErrInvalid},
		"no template":          {store.NewCatalogItem{OrganizationID: f.org.ID, Name: "x"}, store.ErrInvalid},
		"two templates":        {store.NewCatalogItem{OrganizationID: f.org.ID, Name: "x", JobTemplateID: ptr(int64(1)), WorkflowJobTemplateID: ptr(int64(2))}, store.ErrInvalid},
		"unknown organization": {store.NewCatalogItem{OrganizationID: 999999, Name: "x", JobTemplateID: ptr(int64(1))}, store.ErrInvalidReference},
		"unknown team":         {store.NewCatalogItem{OrganizationID: f.org.ID, Name: "x", JobTemplateID: ptr(int64(1)), ApproverTeamID: ptr(int64(999999))}, store.ErrInvalidReference},
		"another org's team":   {store.NewCatalogItem{OrganizationID: f.org.ID, Name: "x", JobTemplateID: ptr(int64(1)), ApproverTeamID: &theirTeam.ID}, store.ErrInvalidReference},
	} {
		t.Run("refuses "+name+" and keeps nothing", func(t *testing.T) {
			before := countItems(t)
			_, err := s.CreateCatalogItem(ctx, tc.item)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, countItems(t))
		})
	}

	t.Run("another org's team is named in the error", func(t *testing.T) {
		_, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: f.org.ID, Name: "x", JobTemplateID: ptr(int64(1)), ApproverTeamID: &theirTeam.ID,
		})
		assert.ErrorContains(t, err, "belongs to another organization")
	})

	t.Run("by name", func(t *testing.T) {
		got, err := s.GetCatalogItemByName(ctx, f.org.ID, "Restart service")
		require.NoError(t, err)
		assert.Equal(t, f.item, got)
		theirs, err := s.GetCatalogItemByName(ctx, other.ID, "Restart service")
		require.NoError(t, err)
		assert.Equal(t, other.ID, theirs.OrganizationID)
		_, err = s.GetCatalogItemByName(ctx, f.org.ID, "restart service")
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("unknown id is ErrNotFound", func(t *testing.T) {
		_, err := s.GetCatalogItem(ctx, 999999)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_UpdateCatalogItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	item, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{
		OrganizationID: f.org.ID, Name: "Deploy", Description: "d", Icon: "rocket", Category: "apps",
		Tags: []string{"a"}, JobTemplateID: ptr(int64(5)), RequiresApproval: true, ApproverTeamID: &f.sre.ID,
	})
	require.NoError(t, err)

	update := func(t *testing.T, u store.CatalogItemUpdate) store.CatalogItem {
		t.Helper()
		got, err := s.UpdateCatalogItem(ctx, item.ID, u)
		require.NoError(t, err)
		stored, err := s.GetCatalogItem(ctx, item.ID)
		require.NoError(t, err)
		assert.Equal(t, stored, got)
		return got
	}

	t.Run("nothing set changes nothing but modified", func(t *testing.T) {
		got := update(t, store.CatalogItemUpdate{})
		want := item
		want.Modified = got.Modified
		assert.Equal(t, want, got)
	})

	t.Run("set fields change, others stay", func(t *testing.T) {
		got := update(t, store.CatalogItemUpdate{
			Name: ptr("Deploy app"), Category: ptr(""), Tags: &[]string{"b", "c"}, Enabled: ptr(false),
		})
		assert.Equal(t, "Deploy app", got.Name)
		assert.Equal(t, "", got.Category)
		assert.Equal(t, []string{"b", "c"}, got.Tags)
		assert.False(t, got.Enabled)
		assert.Equal(t, "d", got.Description)
		assert.Equal(t, "rocket", got.Icon)
		assert.True(t, got.RequiresApproval)
		assert.Equal(t, ptr(int64(5)), got.JobTemplateID)
		assert.Equal(t, &f.sre.ID, got.ApproverTeamID)

		got = update(t, store.CatalogItemUpdate{Tags: &[]string{}, Description: ptr("new"), Icon: ptr(""), RequiresApproval: ptr(false)})
		assert.Equal(t, []string{}, got.Tags, "tags can be emptied")
		assert.Equal(t, "new", got.Description)
		assert.Equal(t, "", got.Icon)
		assert.False(t, got.RequiresApproval)
		assert.Equal(t, "Deploy app", got.Name)
	})

	t.Run("switching template kind", func(t *testing.T) {
		got := update(t, store.CatalogItemUpdate{WorkflowJobTemplateID: ptr(int64(40))})
		assert.Nil(t, got.JobTemplateID, "the other template is cleared")
		assert.Equal(t, ptr(int64(40)), got.WorkflowJobTemplateID)
		assert.True(t, got.IsWorkflow())

		got = update(t, store.CatalogItemUpdate{WorkflowJobTemplateID: ptr(int64(41))})
		assert.Equal(t, ptr(int64(41)), got.WorkflowJobTemplateID)

		got = update(t, store.CatalogItemUpdate{JobTemplateID: ptr(int64(6))})
		assert.Equal(t, ptr(int64(6)), got.JobTemplateID)
		assert.Nil(t, got.WorkflowJobTemplateID)
		assert.False(t, got.IsWorkflow())

		_, err := s.UpdateCatalogItem(ctx, item.ID, store.CatalogItemUpdate{
			JobTemplateID: ptr(int64(7)), WorkflowJobTemplateID: ptr(int64(8)),
		})
		assert.ErrorIs(t, err, store.ErrInvalid, "both at once breaks exactly one template")
		stored, err := s.GetCatalogItem(ctx, item.ID)
		require.NoError(t, err)
		assert.Equal(t, ptr(int64(6)), stored.JobTemplateID)
	})

	t.Run("approver team: set, clear, refuse", func(t *testing.T) {
		security, err := s.CreateTeam(ctx, f.org.ID, "security", "")
		require.NoError(t, err)
		got := update(t, store.CatalogItemUpdate{ApproverTeamID: &security.ID})
		assert.Equal(t, &security.ID, got.ApproverTeamID)
		assert.Equal(t, "security", got.ApproverTeamName)

		got = update(t, store.CatalogItemUpdate{ClearApproverTeam: true})
		assert.Nil(t, got.ApproverTeamID, "back to the org admins")
		assert.Empty(t, got.ApproverTeamName)

		_, err = s.UpdateCatalogItem(ctx, item.ID, store.CatalogItemUpdate{ApproverTeamID: &security.ID, ClearApproverTeam: true})
		assert.ErrorIs(t, err, store.ErrInvalid)

		other, err := s.CreateOrganization(ctx, "initech", "")
		require.NoError(t, err)
		theirs, err := s.CreateTeam(ctx, other.ID, "ops", "")
		require.NoError(t, err)
		_, err = s.UpdateCatalogItem(ctx, item.ID, store.CatalogItemUpdate{ApproverTeamID: &theirs.ID, Name: ptr("renamed")})
		require.ErrorIs(t, err, store.ErrInvalidReference)
		_, err = s.UpdateCatalogItem(ctx, item.ID, store.CatalogItemUpdate{ApproverTeamID: ptr(int64(999999))})
		require.ErrorIs(t, err, store.ErrInvalidReference)
		stored, err := s.GetCatalogItem(ctx, item.ID)
		require.NoError(t, err)
		assert.Nil(t, stored.ApproverTeamID, "refused updates change nothing")
		assert.Equal(t, "Deploy app", stored.Name)
	})

	t.Run("errors", func(t *testing.T) {
		_, err := s.UpdateCatalogItem(ctx, item.ID, store.CatalogItemUpdate{Name: ptr("Restart service")})
		assert.ErrorIs(t, err, store.ErrConflict)
		_, err = s.UpdateCatalogItem(ctx, item.ID, store.CatalogItemUpdate{Name: ptr("")})
		assert.ErrorIs(t, err, store.ErrInvalid)
		_, err = s.UpdateCatalogItem(ctx, 999999, store.CatalogItemUpdate{Name: ptr("x")})
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_DeleteCatalogItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	n, err := s.CountRequestsForItem(ctx, f.item.ID)
	require.NoError(t, err)
	assert.Zero(t, n)
	f.newRequest(t)
	f.submitAs(t, "bob", state{status: "rejected"})
	n, err = s.CountRequestsForItem(ctx, f.item.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "whatever their status")

	err = s.DeleteCatalogItem(ctx, f.item.ID)
	require.ErrorIs(t, err, store.ErrReferenced)
	assert.ErrorContains(t, err, "disable it instead")
	_, err = s.GetCatalogItem(ctx, f.item.ID)
	require.NoError(t, err)

	unused, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{
		OrganizationID: f.org.ID, Name: "Unused", JobTemplateID: ptr(int64(1)),
	})
	require.NoError(t, err)
	require.NoError(t, s.DeleteCatalogItem(ctx, unused.ID))
	_, err = s.GetCatalogItem(ctx, unused.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteCatalogItem(ctx, unused.ID), store.ErrNotFound)
	_, err = s.CountRequestsForItem(ctx, unused.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)

	t.Run("an organization with items is ErrReferenced", func(t *testing.T) {
		other, err := s.CreateOrganization(ctx, "initech", "")
		require.NoError(t, err)
		_, err = s.CreateCatalogItem(ctx, store.NewCatalogItem{OrganizationID: other.ID, Name: "x", JobTemplateID: ptr(int64(1))})
		require.NoError(t, err)
		assert.ErrorIs(t, s.DeleteOrganization(ctx, other.ID), store.ErrReferenced)
	})

	t.Run("requests must name an existing item", func(t *testing.T) {
		in := f.newRequestInput()
		in.CatalogItemID = unused.ID
		_, err := s.CreateRequest(ctx, in)
		assert.ErrorIs(t, err, store.ErrInvalidReference)
	})
}

func TestStore_ListCatalogItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	other, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	for _, n := range []store.NewCatalogItem{
		{OrganizationID: f.org.ID, Name: "Provision environment", Category: "environments", Tags: []string{"prod", "aws"}, WorkflowJobTemplateID: ptr(int64(2))},
		{OrganizationID: f.org.ID, Name: "Health check", Description: "Pings 100% of hosts", Category: "ops", Tags: []string{"safe"}, JobTemplateID: ptr(int64(3))},
		{OrganizationID: f.org.ID, Name: "Old thing", Category: "ops", JobTemplateID: ptr(int64(4)), Enabled: ptr(false)},
		{OrganizationID: other.ID, Name: "TPS report", Description: "For production", Category: "paperwork", Tags: []string{"Prod"}, JobTemplateID: ptr(int64(5))},
		{OrganizationID: other.ID, Name: "Retired", JobTemplateID: ptr(int64(6)), Enabled: ptr(false)},
	} {
		_, err := s.CreateCatalogItem(ctx, n)
		require.NoError(t, err)
	}
	// The fixture's "Restart service" (no category, no tags) comes first.

	for name, tc := range map[string]struct {
		filter store.CatalogItemFilter
		opts   store.ListOptions
		want   []string
	}{
		"all by id":         {store.CatalogItemFilter{}, store.ListOptions{}, []string{"Restart service", "Provision environment", "Health check", "Old thing", "TPS report", "Retired"}},
		"one organization":  {store.CatalogItemFilter{OrganizationIDs: []int64{other.ID}}, store.ListOptions{}, []string{"TPS report", "Retired"}},
		"no organizations":  {store.CatalogItemFilter{OrganizationIDs: []int64{}}, store.ListOptions{}, []string{}},
		"category":          {store.CatalogItemFilter{Category: "ops"}, store.ListOptions{}, []string{"Health check", "Old thing"}},
		"category is exact": {store.CatalogItemFilter{Category: "op"}, store.ListOptions{}, []string{}},
		"enabled":           {store.CatalogItemFilter{Enabled: ptr(true), Category: "ops"}, store.ListOptions{}, []string{"Health check"}},
		"disabled":          {store.CatalogItemFilter{Enabled: ptr(false)}, store.ListOptions{}, []string{"Old thing", "Retired"}},
		"disabled visible in one org": {store.CatalogItemFilter{DisabledVisibleIn: []int64{f.org.ID}},
			store.ListOptions{}, []string{"Restart service", "Provision environment", "Health check", "Old thing", "TPS report"}},
		"disabled visible nowhere": {store.CatalogItemFilter{DisabledVisibleIn: []int64{}, OrganizationIDs: []int64{other.ID}},
			store.ListOptions{}, []string{"TPS report"}},
		"disabled visible, only disabled": {store.CatalogItemFilter{DisabledVisibleIn: []int64{other.ID}, Enabled: ptr(false)},
			store.ListOptions{}, []string{"Retired"}},
		"tag":                {store.CatalogItemFilter{Tag: "prod"}, store.ListOptions{}, []string{"Provision environment"}},
		"unknown tag":        {store.CatalogItemFilter{Tag: "pro"}, store.ListOptions{}, []string{}},
		"search name":        {store.CatalogItemFilter{Search: "CHECK"}, store.ListOptions{}, []string{"Health check"}},
		"search description": {store.CatalogItemFilter{Search: "100%"}, store.ListOptions{}, []string{"Health check"}},
		"search category":    {store.CatalogItemFilter{Search: "paper"}, store.ListOptions{}, []string{"TPS report"}},
		"search exact tag":   {store.CatalogItemFilter{Search: "aws"}, store.ListOptions{}, []string{"Provision environment"}},
		"search any field":   {store.CatalogItemFilter{Search: "prod"}, store.ListOptions{OrderBy: []string{"name"}}, []string{"Provision environment", "TPS report"}},
		"search wildcard":    {store.CatalogItemFilter{Search: "_"}, store.ListOptions{}, []string{}},
		"search and filters": {store.CatalogItemFilter{Search: "prod", OrganizationIDs: []int64{f.org.ID}}, store.ListOptions{}, []string{"Provision environment"}},
		"by category, name desc": {store.CatalogItemFilter{OrganizationIDs: []int64{f.org.ID}}, store.ListOptions{OrderBy: []string{"category,-name"}},
			[]string{"Restart service", "Provision environment", "Old thing", "Health check"}},
		"by organization": {store.CatalogItemFilter{}, store.ListOptions{OrderBy: []string{"-organization", "name"}},
			[]string{"Retired", "TPS report", "Health check", "Old thing", "Provision environment", "Restart service"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, total, err := s.ListCatalogItems(ctx, tc.filter, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, itemNames(got))
			assert.Equal(t, len(tc.want), total)
		})
	}

	t.Run("rows are complete", func(t *testing.T) {
		got, _, err := s.ListCatalogItems(ctx, store.CatalogItemFilter{}, store.ListOptions{PageSize: 1})
		require.NoError(t, err)
		assert.Equal(t, []store.CatalogItem{f.item}, got)
		assert.Equal(t, "sre", got[0].ApproverTeamName)
		assert.Equal(t, "acme", got[0].OrganizationName)
	})

	t.Run("pages", func(t *testing.T) {
		got, total, err := s.ListCatalogItems(ctx, store.CatalogItemFilter{}, store.ListOptions{Page: 2, PageSize: 2, OrderBy: []string{"-id"}})
		require.NoError(t, err)
		assert.Equal(t, []string{"Old thing", "Health check"}, itemNames(got))
		assert.Equal(t, 6, total)
	})
}
