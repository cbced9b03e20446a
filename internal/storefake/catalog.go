package storefake

import (
	"context"
	"slices"
	"time"

	"github.com/countersign/countersign/store"
)

var catalogItemSort = sortFields[store.CatalogItem]{
	{name: "id", cmp: byValue(func(i store.CatalogItem) int64 { return i.ID })},
	{name: "name", cmp: byValue(func(i store.CatalogItem) string { return i.Name })},
	{name: "category", cmp: byValue(func(i store.CatalogItem) string { return i.Category })},
	{name: "organization", cmp: byValue(func(i store.CatalogItem) int64 { return i.OrganizationID })},
	{name: "created", cmp: byTime(func(i store.CatalogItem) time.Time { return i.Created })},
	{name: "modified", cmp: byTime(func(i store.CatalogItem) time.Time { return i.Modified })},
}

// item returns a copy of a stored item with the names the store joins in.
func (s *Store) item(i *store.CatalogItem) store.CatalogItem {
	out := *i
	out.Tags = nonNil(cloneSlice(i.Tags))
	out.JobTemplateID = clonePtr(i.JobTemplateID)
	out.WorkflowJobTemplateID = clonePtr(i.WorkflowJobTemplateID)
	out.ApproverTeamID = clonePtr(i.ApproverTeamID)
	out.OrganizationName = s.orgs[i.OrganizationID].Name
	out.ApproverTeamName = ""
	if i.ApproverTeamID != nil {
		out.ApproverTeamName = s.teams[*i.ApproverTeamID].Name
	}
	return out
}

// checkItem applies the schema's rules to a new or changed item, in the
// order PostgreSQL does: CHECK constraints, then uniqueness, then foreign
// keys, then the store's own check that the team is the organization's.
func (s *Store) checkItem(op string, i *store.CatalogItem) error {
	if i.Name == "" {
		return fail(op, store.ErrInvalid, "catalog_items_name_check")
	}
	if (i.JobTemplateID == nil) == (i.WorkflowJobTemplateID == nil) {
		return fail(op, store.ErrInvalid, "catalog_items_template_check")
	}
	for _, other := range s.items {
		if other.ID != i.ID && other.OrganizationID == i.OrganizationID && other.Name == i.Name {
			return fail(op, store.ErrConflict, "catalog_items_organization_id_name_key")
		}
	}
	if _, ok := s.orgs[i.OrganizationID]; !ok {
		return fail(op, store.ErrInvalidReference, "catalog_items_organization_id_fkey")
	}
	if i.ApproverTeamID != nil {
		return s.checkTeams(op, i.OrganizationID, []int64{*i.ApproverTeamID})
	}
	return nil
}

// checkTeams is ErrInvalidReference unless every team exists and belongs
// to organization orgID.
func (s *Store) checkTeams(op string, orgID int64, teamIDs []int64) error {
	for _, id := range teamIDs {
		t, ok := s.teams[id]
		switch {
		case !ok:
			return fail(op, store.ErrInvalidReference, "team %d does not exist", id)
		case t.OrganizationID != orgID:
			return fail(op, store.ErrInvalidReference, "team %d belongs to another organization (%d), not to organization %d",
				id, t.OrganizationID, orgID)
		}
	}
	return nil
}

// CreateCatalogItem is store.Store.CreateCatalogItem.
func (s *Store) CreateCatalogItem(ctx context.Context, n store.NewCatalogItem) (store.CatalogItem, error) {
	const op = "create catalog item"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateCatalogItem", op); err != nil {
		return store.CatalogItem{}, err
	}
	now := s.now()
	i := &store.CatalogItem{
		ID:                    s.next("catalog_items"),
		OrganizationID:        n.OrganizationID,
		Name:                  n.Name,
		Description:           n.Description,
		Icon:                  n.Icon,
		Category:              n.Category,
		Tags:                  nonNil(cloneSlice(n.Tags)),
		JobTemplateID:         clonePtr(n.JobTemplateID),
		WorkflowJobTemplateID: clonePtr(n.WorkflowJobTemplateID),
		RequiresApproval:      n.RequiresApproval,
		ApproverTeamID:        clonePtr(n.ApproverTeamID),
		Enabled:               n.Enabled == nil || *n.Enabled,
		Created:               now,
		Modified:              now,
	}
	if err := s.checkItem(op, i); err != nil {
		return store.CatalogItem{}, err
	}
	s.items[i.ID] = i
	return s.item(i), nil
}

// GetCatalogItem is store.Store.GetCatalogItem.
func (s *Store) GetCatalogItem(ctx context.Context, id int64) (store.CatalogItem, error) {
	const op = "get catalog item"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetCatalogItem", op); err != nil {
		return store.CatalogItem{}, err
	}
	i, ok := s.items[id]
	if !ok {
		return store.CatalogItem{}, notFound(op)
	}
	return s.item(i), nil
}

// UpdateCatalogItem is store.Store.UpdateCatalogItem.
func (s *Store) UpdateCatalogItem(ctx context.Context, id int64, u store.CatalogItemUpdate) (store.CatalogItem, error) {
	const op = "update catalog item"
	if u.ClearApproverTeam && u.ApproverTeamID != nil {
		return store.CatalogItem{}, fail(op, store.ErrInvalid, "an approver team cannot be set and cleared at once")
	}
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UpdateCatalogItem", op); err != nil {
		return store.CatalogItem{}, err
	}
	old, ok := s.items[id]
	if !ok {
		return store.CatalogItem{}, notFound(op)
	}
	i := s.item(old)
	set(&i.Name, u.Name)
	set(&i.Description, u.Description)
	set(&i.Icon, u.Icon)
	set(&i.Category, u.Category)
	if u.Tags != nil {
		i.Tags = nonNil(cloneSlice(*u.Tags))
	}
	// Setting one template clears the other; setting both leaves both
	// set, which checkItem refuses.
	switch {
	case u.JobTemplateID != nil:
		i.JobTemplateID = clonePtr(u.JobTemplateID)
		if u.WorkflowJobTemplateID != nil {
			i.WorkflowJobTemplateID = clonePtr(u.WorkflowJobTemplateID)
		} else {
			i.WorkflowJobTemplateID = nil
		}
	case u.WorkflowJobTemplateID != nil:
		i.WorkflowJobTemplateID = clonePtr(u.WorkflowJobTemplateID)
		i.JobTemplateID = nil
	}
	set(&i.RequiresApproval, u.RequiresApproval)
	switch {
	case u.ClearApproverTeam:
		i.ApproverTeamID = nil
	case u.ApproverTeamID != nil:
		i.ApproverTeamID = clonePtr(u.ApproverTeamID)
	}
	set(&i.Enabled, u.Enabled)
	i.Modified = s.now()
	if err := s.checkItem(op, &i); err != nil {
		return store.CatalogItem{}, err
	}
	s.items[id] = &i
	return s.item(&i), nil
}

// DeleteCatalogItem is store.Store.DeleteCatalogItem.
func (s *Store) DeleteCatalogItem(ctx context.Context, id int64) error {
	const op = "delete catalog item"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DeleteCatalogItem", op); err != nil {
		return err
	}
	if _, ok := s.items[id]; !ok {
		return notFound(op)
	}
	for _, r := range s.requests {
		if r.CatalogItemID == id {
			return fail(op, store.ErrReferenced, "catalog item %d has service requests; disable it instead", id)
		}
	}
	delete(s.items, id)
	return nil
}

// ListCatalogItems is store.Store.ListCatalogItems.
func (s *Store) ListCatalogItems(ctx context.Context, f store.CatalogItemFilter, opts store.ListOptions) ([]store.CatalogItem, int, error) {
	const op = "list catalog items"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListCatalogItems", op); err != nil {
		return nil, 0, err
	}
	var rows []store.CatalogItem
	for _, i := range s.items {
		switch {
		case !inIDs(f.OrganizationIDs, i.OrganizationID),
			f.Category != "" && i.Category != f.Category,
			f.Enabled != nil && i.Enabled != *f.Enabled,
			f.DisabledVisibleIn != nil && !i.Enabled && !slices.Contains(f.DisabledVisibleIn, i.OrganizationID),
			f.Tag != "" && !slices.Contains(i.Tags, f.Tag),
			f.Search != "" && !containsFold(i.Name, f.Search) && !containsFold(i.Description, f.Search) &&
				!containsFold(i.Category, f.Search) && !slices.Contains(i.Tags, f.Search):
			continue
		}
		rows = append(rows, s.item(i))
	}
	return page(op, rows, catalogItemSort, opts)
}
