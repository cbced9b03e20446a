package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// CatalogItem is an AWX template offered to requesters (SPEC 3.2). Exactly
// one of JobTemplateID and WorkflowJobTemplateID is set.
type CatalogItem struct {
	ID               int64
	OrganizationID   int64
	OrganizationName string
	Name             string
	Description      string
	// Icon is a lucide icon name, empty for the default.
	Icon     string
	Category string
	// Tags is never nil.
	Tags                  []string
	JobTemplateID         *int64
	WorkflowJobTemplateID *int64
	RequiresApproval      bool
	// ApproverTeamID is nil when the organization's admins approve;
	// ApproverTeamName is then empty.
	ApproverTeamID   *int64
	ApproverTeamName string
	// Enabled items are the only ones requesters see and may submit.
	Enabled  bool
	Created  time.Time
	Modified time.Time
}

// IsWorkflow reports whether the item launches a workflow job template.
func (i CatalogItem) IsWorkflow() bool { return i.WorkflowJobTemplateID != nil }

// NewCatalogItem is what CreateCatalogItem needs. Exactly one of
// JobTemplateID and WorkflowJobTemplateID must be set (ErrInvalid
// otherwise).
type NewCatalogItem struct {
	OrganizationID        int64
	Name                  string
	Description           string
	Icon                  string
	Category              string
	Tags                  []string
	JobTemplateID         *int64
	WorkflowJobTemplateID *int64
	RequiresApproval      bool
	// ApproverTeamID must be a team of the item's organization; nil means
	// the organization's admins approve.
	ApproverTeamID *int64
	// Enabled nil means enabled, so an item is offered unless told
	// otherwise.
	Enabled *bool
}

// CatalogItemUpdate is a partial change to a catalog item: nil fields are
// left as they are. An item stays in its organization.
//
// Setting one template id switches the item to that kind and clears the
// other, so a job template item becomes a workflow item with just
// WorkflowJobTemplateID; setting both is ErrInvalid.
//
// ApproverTeamID sets the approver team; ClearApproverTeam hands approval
// back to the organization's admins. Using both is ErrInvalid.
type CatalogItemUpdate struct {
	Name                  *string
	Description           *string
	Icon                  *string
	Category              *string
	Tags                  *[]string
	JobTemplateID         *int64
	WorkflowJobTemplateID *int64
	RequiresApproval      *bool
	ApproverTeamID        *int64
	ClearApproverTeam     bool
	Enabled               *bool
}

// CatalogItemFilter narrows ListCatalogItems; the zero value lists all.
type CatalogItemFilter struct {
	// OrganizationIDs restricts the list to items of these organizations:
	// nil means no restriction, an empty slice means none at all.
	OrganizationIDs []int64
	// Category matches exactly.
	Category string
	// Enabled, when set, keeps only enabled (true) or disabled items.
	Enabled *bool
	// DisabledVisibleIn hides disabled items except in these organizations
	// (the ones a caller administers): nil means no restriction, an empty
	// slice hides every disabled item.
	DisabledVisibleIn []int64
	// Search matches items whose name, description or category contains
	// it, ignoring case, or that have it as a tag (exactly).
	Search string
	// Tag keeps items that have this tag (exactly).
	Tag string
}

// catalogItemRow is a catalog item as scanned; catalogItemSelect reads it.
type catalogItemRow struct {
	ID                    int64          `db:"id"`
	OrganizationID        int64          `db:"organization_id"`
	OrganizationName      string         `db:"organization_name"`
	Name                  string         `db:"name"`
	Description           string         `db:"description"`
	Icon                  string         `db:"icon"`
	Category              string         `db:"category"`
	Tags                  pq.StringArray `db:"tags"`
	JobTemplateID         *int64         `db:"job_template_id"`
	WorkflowJobTemplateID *int64         `db:"workflow_job_template_id"`
	RequiresApproval      bool           `db:"requires_approval"`
	ApproverTeamID        *int64         `db:"approver_team_id"`
	ApproverTeamName      string         `db:"approver_team_name"`
	Enabled               bool           `db:"enabled"`
	Created               time.Time      `db:"created"`
	Modified              time.Time      `db:"modified"`
}

func (r catalogItemRow) item() CatalogItem {
	return CatalogItem{
		ID:                    r.ID,
		OrganizationID:        r.OrganizationID,
		OrganizationName:      r.OrganizationName,
		Name:                  r.Name,
		Description:           r.Description,
		Icon:                  r.Icon,
		Category:              r.Category,
		Tags:                  nonNil(r.Tags),
		JobTemplateID:         r.JobTemplateID,
		WorkflowJobTemplateID: r.WorkflowJobTemplateID,
		RequiresApproval:      r.RequiresApproval,
		ApproverTeamID:        r.ApproverTeamID,
		ApproverTeamName:      r.ApproverTeamName,
		Enabled:               r.Enabled,
		Created:               r.Created,
		Modified:              r.Modified,
	}
}

// catalogItemFrom selects items (as i) with their organization's and
// approver team's names.
const catalogItemFrom = `SELECT i.id, i.organization_id, o.name AS organization_name, i.name,
		i.description, i.icon, i.category, i.tags, i.job_template_id, i.workflow_job_template_id,
		i.requires_approval, i.approver_team_id, COALESCE(t.name, '') AS approver_team_name,
		i.enabled, i.created, i.modified
	FROM catalog_items i
	JOIN organizations o ON o.id = i.organization_id
	LEFT JOIN teams t ON t.id = i.approver_team_id`

var catalogItemSort = sortFields{
	{name: "id", column: "i.id"}, {name: "name", column: "i.name"},
	{name: "category", column: "i.category"}, {name: "organization", column: "i.organization_id"},
	{name: "created", column: "i.created"}, {name: "modified", column: "i.modified"},
}

// CreateCatalogItem adds an item. ErrConflict when its organization has an
// item of that name; ErrInvalidReference for an unknown organization, or an
// approver team that does not exist or belongs to another organization;
// ErrInvalid for an empty name or not exactly one template.
func (s *Store) CreateCatalogItem(ctx context.Context, n NewCatalogItem) (CatalogItem, error) {
	var item CatalogItem
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		const q = `INSERT INTO catalog_items (organization_id, name, description, icon, category, tags,
				job_template_id, workflow_job_template_id, requires_approval, approver_team_id, enabled)
			VALUES (:organization_id, :name, :description, :icon, :category, :tags,
				:job_template_id, :workflow_job_template_id, :requires_approval, :approver_team_id,
				COALESCE(CAST(:enabled AS boolean), true))
			RETURNING id`
		var id int64
		err := namedGet(ctx, tx, &id, q, map[string]any{
			"organization_id":          n.OrganizationID,
			"name":                     n.Name,
			"description":              n.Description,
			"icon":                     n.Icon,
			"category":                 n.Category,
			"tags":                     pq.StringArray(nonNil(n.Tags)),
			"job_template_id":          n.JobTemplateID,
			"workflow_job_template_id": n.WorkflowJobTemplateID,
			"requires_approval":        n.RequiresApproval,
			"approver_team_id":         n.ApproverTeamID,
			"enabled":                  n.Enabled,
		})
		if err != nil {
			return err
		}
		if n.ApproverTeamID != nil {
			if err := checkTeams(ctx, tx, n.OrganizationID, []int64{*n.ApproverTeamID}); err != nil {
				return err
			}
		}
		item, err = getCatalogItem(ctx, tx, id)
		return err
	})
	return item, wrap("create catalog item", err)
}

// GetCatalogItem returns the item with this id, or ErrNotFound.
func (s *Store) GetCatalogItem(ctx context.Context, id int64) (CatalogItem, error) {
	item, err := getCatalogItem(ctx, s.db, id)
	return item, wrap("get catalog item", err)
}

// GetCatalogItemByName returns the item of an organization with exactly
// this name, or ErrNotFound.
func (s *Store) GetCatalogItemByName(ctx context.Context, orgID int64, name string) (CatalogItem, error) {
	const q = catalogItemFrom + ` WHERE i.organization_id = $1 AND i.name = $2`
	var row catalogItemRow
	if err := s.db.GetContext(ctx, &row, q, orgID, name); err != nil {
		return CatalogItem{}, wrap("get catalog item by name", err)
	}
	return row.item(), nil
}

func getCatalogItem(ctx context.Context, e sqlx.QueryerContext, id int64) (CatalogItem, error) {
	const q = catalogItemFrom + ` WHERE i.id = $1`
	var row catalogItemRow
	if err := sqlx.GetContext(ctx, e, &row, q, id); err != nil {
		return CatalogItem{}, err
	}
	return row.item(), nil
}

// UpdateCatalogItem applies u (see CatalogItemUpdate) and returns the item.
// ErrNotFound when it does not exist; ErrConflict for a name its
// organization already uses; ErrInvalidReference for an approver team that
// does not exist or belongs to another organization; ErrInvalid for an
// empty name, both template ids, or both ApproverTeamID and
// ClearApproverTeam. Requests already submitted are not affected.
func (s *Store) UpdateCatalogItem(ctx context.Context, id int64, u CatalogItemUpdate) (CatalogItem, error) {
	if u.ClearApproverTeam && u.ApproverTeamID != nil {
		return CatalogItem{}, wrap("update catalog item",
			fmt.Errorf("%w: an approver team cannot be set and cleared at once", ErrInvalid))
	}
	var tags any
	if u.Tags != nil {
		tags = pq.StringArray(nonNil(*u.Tags))
	}
	var item CatalogItem
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		// Setting one template clears the other; setting both leaves both
		// set, which the table's CHECK refuses.
		const q = `UPDATE catalog_items SET
				name = COALESCE(:name, name),
				description = COALESCE(:description, description),
				icon = COALESCE(:icon, icon),
				category = COALESCE(:category, category),
				tags = COALESCE(CAST(:tags AS text[]), tags),
				job_template_id = CASE
					WHEN CAST(:job_template_id AS bigint) IS NOT NULL THEN CAST(:job_template_id AS bigint)
					WHEN CAST(:workflow_job_template_id AS bigint) IS NOT NULL THEN NULL
					ELSE job_template_id END,
				workflow_job_template_id = CASE
					WHEN CAST(:workflow_job_template_id AS bigint) IS NOT NULL THEN CAST(:workflow_job_template_id AS bigint)
					WHEN CAST(:job_template_id AS bigint) IS NOT NULL THEN NULL
					ELSE workflow_job_template_id END,
				requires_approval = COALESCE(CAST(:requires_approval AS boolean), requires_approval),
				approver_team_id = CASE WHEN :clear_approver_team THEN NULL
					ELSE COALESCE(CAST(:approver_team_id AS bigint), approver_team_id) END,
				enabled = COALESCE(CAST(:enabled AS boolean), enabled),
				modified = now()
			WHERE id = :id
			RETURNING organization_id`
		var orgID int64
		err := namedGet(ctx, tx, &orgID, q, map[string]any{
			"id":                       id,
			"name":                     u.Name,
			"description":              u.Description,
			"icon":                     u.Icon,
			"category":                 u.Category,
			"tags":                     tags,
			"job_template_id":          u.JobTemplateID,
			"workflow_job_template_id": u.WorkflowJobTemplateID,
			"requires_approval":        u.RequiresApproval,
			"approver_team_id":         u.ApproverTeamID,
			"clear_approver_team":      u.ClearApproverTeam,
			"enabled":                  u.Enabled,
		})
		if err != nil {
			return err
		}
		if u.ApproverTeamID != nil {
			if err := checkTeams(ctx, tx, orgID, []int64{*u.ApproverTeamID}); err != nil {
				return err
			}
		}
		item, err = getCatalogItem(ctx, tx, id)
		return err
	})
	return item, wrap("update catalog item", err)
}

// DeleteCatalogItem deletes an item. ErrNotFound when it does not exist;
// ErrReferenced when requests were submitted for it, which are kept as the
// record of what ran: disable the item instead.
func (s *Store) DeleteCatalogItem(ctx context.Context, id int64) error {
	const q = `DELETE FROM catalog_items WHERE id = $1`
	err := deleteOne(ctx, s.db, "delete catalog item", q, id)
	if errors.Is(err, ErrReferenced) {
		return fmt.Errorf("store: delete catalog item: %w: catalog item %d has service requests; disable it instead",
			ErrReferenced, id)
	}
	return err
}

// ListCatalogItems returns a page of items matching f and how many match in
// all. Sortable: id, name, category, organization, created, modified.
// ErrInvalid for bad ListOptions.
func (s *Store) ListCatalogItems(ctx context.Context, f CatalogItemFilter, opts ListOptions) ([]CatalogItem, int, error) {
	p, err := opts.resolve(catalogItemSort)
	if err != nil {
		return nil, 0, wrap("list catalog items", err)
	}
	// Tags are matched with @>, which the GIN index on tags serves.
	const where = `
		WHERE (CAST(:org_ids AS bigint[]) IS NULL OR i.organization_id = ANY(:org_ids))
			AND (:category = '' OR i.category = :category)
			AND (CAST(:enabled AS boolean) IS NULL OR i.enabled = :enabled)
			AND (CAST(:disabled_in AS bigint[]) IS NULL OR i.enabled OR i.organization_id = ANY(:disabled_in))
			AND (:tag = '' OR i.tags @> ARRAY[CAST(:tag AS text)])
			AND (:search = '' OR i.name ILIKE :pattern OR i.description ILIKE :pattern
				OR i.category ILIKE :pattern OR i.tags @> ARRAY[CAST(:search AS text)])`
	const (
		q      = catalogItemFrom + where + ` ORDER BY `
		qCount = `SELECT count(*) FROM catalog_items i` + where
	)
	var (
		rows  []catalogItemRow
		total int
	)
	arg := p.args(map[string]any{
		"org_ids":     pq.Int64Array(f.OrganizationIDs),
		"category":    f.Category,
		"enabled":     f.Enabled,
		"disabled_in": pq.Int64Array(f.DisabledVisibleIn),
		"tag":         f.Tag,
		"search":      f.Search,
		"pattern":     containsPattern(f.Search),
	})
	if err := selectPage(ctx, s.db, &rows, q+p.orderBy+pageClause, &total, qCount, arg); err != nil {
		return nil, 0, wrap("list catalog items", err)
	}
	items := make([]CatalogItem, len(rows))
	for i, r := range rows {
		items[i] = r.item()
	}
	return items, total, nil
}

// CountRequestsForItem returns how many requests were submitted for an
// item, whatever their status; ErrNotFound when the item does not exist.
func (s *Store) CountRequestsForItem(ctx context.Context, itemID int64) (int, error) {
	const q = `SELECT (SELECT count(*) FROM service_requests r WHERE r.catalog_item_id = i.id)
		FROM catalog_items i WHERE i.id = $1`
	var n int
	if err := s.db.GetContext(ctx, &n, q, itemID); err != nil {
		return 0, wrap("count requests for item", err)
	}
	return n, nil
}

// checkTeams returns ErrInvalidReference unless every id in teamIDs is a
// team of organization orgID. Teams never change organization and a
// concurrent delete is caught by the foreign key, so checking inside the
// writing transaction is enough.
func checkTeams(ctx context.Context, e sqlx.QueryerContext, orgID int64, teamIDs []int64) error {
	if len(teamIDs) == 0 {
		return nil
	}
	const q = `SELECT id, organization_id FROM teams WHERE id = ANY($1)`
	var rows []struct {
		ID             int64 `db:"id"`
		OrganizationID int64 `db:"organization_id"`
	}
	if err := sqlx.SelectContext(ctx, e, &rows, q, pq.Int64Array(teamIDs)); err != nil {
		return err
	}
	orgOf := make(map[int64]int64, len(rows))
	for _, r := range rows {
		orgOf[r.ID] = r.OrganizationID
	}
	for _, id := range teamIDs {
		org, ok := orgOf[id]
		switch {
		case !ok:
			return fmt.Errorf("%w: team %d does not exist", ErrInvalidReference, id)
		case org != orgID:
			return fmt.Errorf("%w: team %d belongs to another organization (%d), not to organization %d",
				ErrInvalidReference, id, org, orgID)
		}
	}
	return nil
}
