package store

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// OrganizationFilter narrows ListOrganizations; the zero value lists all.
type OrganizationFilter struct {
	// Name matches exactly.
	Name string
	// IDs restricts the list to these organizations (the ones a caller may
	// see): nil means no restriction, an empty slice means none at all.
	IDs []int64
}

// UserFilter narrows ListUsers; the zero value lists all.
type UserFilter struct {
	// Username matches exactly.
	Username string
	// Search matches users whose username, first or last name or email
	// contains it, ignoring case.
	Search string
	// Visibility restricts the list to the users one caller may see; nil
	// means everyone, as for a superuser.
	Visibility *UserVisibility
}

// UserVisibility is who is looking at users: they see themselves (UserID)
// and the members and admins of the organizations they administer
// (AdminOrgIDs).
type UserVisibility struct {
	UserID      int64
	AdminOrgIDs []int64
}

// UserUpdate is a partial change to a user: nil fields are left as they are.
type UserUpdate struct {
	Email       *string
	FirstName   *string
	LastName    *string
	IsSuperuser *bool
	IsActive    *bool
}

// TeamFilter narrows ListTeams; the zero value lists all.
type TeamFilter struct {
	// OrganizationIDs restricts the list to teams of these organizations:
	// nil means no restriction, an empty slice means none at all.
	OrganizationIDs []int64
	// Name matches exactly.
	Name string
}

// Roles is what a user may do by membership, as the API's authorisation
// reads it on every call. Superuser status is on the User itself.
type Roles struct {
	// Teams the user is a member of, by organization id then name.
	Teams []TeamRef
	// AdminOf lists the organizations the user administers, ascending.
	AdminOf []int64
	// MemberOf lists the organizations where the user is in some team or
	// is an admin, ascending and without repeats.
	MemberOf []int64
}

// TeamRef names a team and its organization.
type TeamRef struct {
	ID             int64
	Name           string
	OrganizationID int64
}

// Sortable fields of each identity list.
var (
	organizationSort = sortFields{
		{name: "id", column: "id"}, {name: "name", column: "name"},
		{name: "created", column: "created"}, {name: "modified", column: "modified"},
	}
	userSort = sortFields{
		{name: "id", column: "u.id"}, {name: "username", column: "u.username"},
		{name: "email", column: "u.email"}, {name: "first_name", column: "u.first_name"},
		{name: "last_name", column: "u.last_name"},
		{name: "created", column: "u.created"}, {name: "modified", column: "u.modified"},
	}
	teamSort = sortFields{
		{name: "id", column: "id"}, {name: "name", column: "name"},
		{name: "organization", column: "organization_id"},
		{name: "created", column: "created"}, {name: "modified", column: "modified"},
	}
)

// qualifiedUserColumns is userColumns for queries that join users as u.
const qualifiedUserColumns = `u.id, u.username, u.email, u.first_name, u.last_name,
	u.is_superuser, u.is_active, u.created, u.modified`

// ListOrganizations returns a page of organizations matching f and how many
// match in all. Sortable: id, name, created, modified. ErrInvalid for bad
// ListOptions.
func (s *Store) ListOrganizations(ctx context.Context, f OrganizationFilter, opts ListOptions) ([]Organization, int, error) {
	p, err := opts.resolve(organizationSort)
	if err != nil {
		return nil, 0, wrap("list organizations", err)
	}
	const where = ` FROM organizations
		WHERE (:name = '' OR name = :name)
			AND (CAST(:ids AS bigint[]) IS NULL OR id = ANY(:ids))`
	const (
		q      = `SELECT ` + organizationColumns + where + ` ORDER BY `
		qCount = `SELECT count(*)` + where
	)
	var (
		rows  []Organization
		total int
	)
	arg := p.args(map[string]any{"name": f.Name, "ids": pq.Int64Array(f.IDs)})
	if err := selectPage(ctx, s.db, &rows, q+p.orderBy+pageClause, &total, qCount, arg); err != nil {
		return nil, 0, wrap("list organizations", err)
	}
	return nonNil(rows), total, nil
}

// pageClause ends every page query.
const pageClause = ` LIMIT :limit OFFSET :offset`

// UpdateOrganization renames an organization and replaces its description.
// ErrNotFound when it does not exist; ErrConflict when the name is taken;
// ErrInvalid for an empty name.
func (s *Store) UpdateOrganization(ctx context.Context, id int64, name, description string) (Organization, error) {
	const q = `UPDATE organizations SET name = :name, description = :description, modified = now()
		WHERE id = :id RETURNING ` + organizationColumns
	var o Organization
	err := namedGet(ctx, s.db, &o, q, map[string]any{"id": id, "name": name, "description": description})
	return o, wrap("update organization", err)
}

// ListUsers returns a page of users matching f, inactive ones included, and
// how many match in all. Sortable: id, username, email, first_name,
// last_name, created, modified. ErrInvalid for bad ListOptions.
func (s *Store) ListUsers(ctx context.Context, f UserFilter, opts ListOptions) ([]User, int, error) {
	p, err := opts.resolve(userSort)
	if err != nil {
		return nil, 0, wrap("list users", err)
	}
	const where = ` FROM users u
		WHERE (:username = '' OR u.username = :username)
			AND (:search = '' OR u.username ILIKE :pattern OR u.first_name ILIKE :pattern
				OR u.last_name ILIKE :pattern OR u.email ILIKE :pattern)
			AND (NOT CAST(:restricted AS boolean) OR u.id = :viewer_id
				OR EXISTS (SELECT 1 FROM organization_admins a
					WHERE a.user_id = u.id AND a.organization_id = ANY(:viewer_admin_orgs))
				OR EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id
					WHERE m.user_id = u.id AND t.organization_id = ANY(:viewer_admin_orgs))
				OR EXISTS (SELECT 1 FROM organization_members om
					WHERE om.user_id = u.id AND om.organization_id = ANY(:viewer_admin_orgs)))`
	const (
		q      = `SELECT ` + qualifiedUserColumns + where + ` ORDER BY `
		qCount = `SELECT count(*)` + where
	)
	var (
		rows  []User
		total int
	)
	arg := p.args(map[string]any{
		"username": f.Username, "search": f.Search, "pattern": containsPattern(f.Search),
		"restricted": f.Visibility != nil, "viewer_id": nil, "viewer_admin_orgs": nil,
	})
	if v := f.Visibility; v != nil {
		arg["viewer_id"] = v.UserID
		arg["viewer_admin_orgs"] = pq.Int64Array(nonNil(v.AdminOrgIDs))
	}
	if err := selectPage(ctx, s.db, &rows, q+p.orderBy+pageClause, &total, qCount, arg); err != nil {
		return nil, 0, wrap("list users", err)
	}
	return nonNil(rows), total, nil
}

// UpdateUser changes the fields of u that are set and returns the user.
// ErrNotFound when there is no such user. Deactivating a user takes effect
// for running requests the next time their approvers are resolved.
func (s *Store) UpdateUser(ctx context.Context, id int64, u UserUpdate) (User, error) {
	const q = `UPDATE users SET
			email = COALESCE(:email, email),
			first_name = COALESCE(:first_name, first_name),
			last_name = COALESCE(:last_name, last_name),
			is_superuser = COALESCE(CAST(:is_superuser AS boolean), is_superuser),
			is_active = COALESCE(CAST(:is_active AS boolean), is_active),
			modified = now()
		WHERE id = :id RETURNING ` + userColumns
	var out User
	err := namedGet(ctx, s.db, &out, q, map[string]any{
		"id": id, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"is_superuser": u.IsSuperuser, "is_active": u.IsActive,
	})
	return out, wrap("update user", err)
}

// UserRoles returns a user's teams and the organizations they administer or
// belong to, in one round trip; ErrNotFound when there is no such user.
func (s *Store) UserRoles(ctx context.Context, userID int64) (Roles, error) {
	const q = `SELECT ` + rolesColumns + ` FROM users u ` + rolesJoin + ` WHERE u.id = $1`
	var row rolesRow
	if err := s.getPrepared(ctx, &row, q, userID); err != nil {
		return Roles{}, wrap("user roles", err)
	}
	return row.roles(), nil
}

// rolesColumns and rolesJoin read the roles of the user u of a query,
// into a rolesRow. The three team arrays are aggregated in the same order,
// so their elements line up.
const (
	rolesColumns = `tm.ids AS team_ids, tm.names AS team_names, tm.orgs AS team_orgs,
		ARRAY(SELECT a.organization_id FROM organization_admins a
			WHERE a.user_id = u.id ORDER BY 1) AS admin_of,
		ARRAY(SELECT a.organization_id FROM organization_admins a WHERE a.user_id = u.id
			UNION
			SELECT t.organization_id FROM team_members m JOIN teams t ON t.id = m.team_id
			WHERE m.user_id = u.id
			UNION
			SELECT om.organization_id FROM organization_members om WHERE om.user_id = u.id
			ORDER BY 1) AS member_of`
	rolesJoin = `CROSS JOIN LATERAL (
			SELECT array_agg(t.id ORDER BY t.organization_id, t.name, t.id) AS ids,
				array_agg(t.name ORDER BY t.organization_id, t.name, t.id) AS names,
				array_agg(t.organization_id ORDER BY t.organization_id, t.name, t.id) AS orgs
			FROM team_members m JOIN teams t ON t.id = m.team_id
			WHERE m.user_id = u.id) tm`
)

// rolesRow is what rolesColumns read.
type rolesRow struct {
	TeamIDs   pq.Int64Array  `db:"team_ids"`
	TeamNames pq.StringArray `db:"team_names"`
	TeamOrgs  pq.Int64Array  `db:"team_orgs"`
	AdminOf   pq.Int64Array  `db:"admin_of"`
	MemberOf  pq.Int64Array  `db:"member_of"`
}

func (r rolesRow) roles() Roles {
	roles := Roles{
		Teams:    make([]TeamRef, len(r.TeamIDs)),
		AdminOf:  nonNil(r.AdminOf),
		MemberOf: nonNil(r.MemberOf),
	}
	for i := range r.TeamIDs {
		roles.Teams[i] = TeamRef{ID: r.TeamIDs[i], Name: r.TeamNames[i], OrganizationID: r.TeamOrgs[i]}
	}
	return roles
}

// ListTeams returns a page of teams matching f and how many match in all.
// Sortable: id, name, organization, created, modified. ErrInvalid for bad
// ListOptions.
func (s *Store) ListTeams(ctx context.Context, f TeamFilter, opts ListOptions) ([]Team, int, error) {
	p, err := opts.resolve(teamSort)
	if err != nil {
		return nil, 0, wrap("list teams", err)
	}
	const where = ` FROM teams
		WHERE (CAST(:org_ids AS bigint[]) IS NULL OR organization_id = ANY(:org_ids))
			AND (:name = '' OR name = :name)`
	const (
		q      = `SELECT ` + teamColumns + where + ` ORDER BY `
		qCount = `SELECT count(*)` + where
	)
	var (
		rows  []Team
		total int
	)
	arg := p.args(map[string]any{"org_ids": pq.Int64Array(f.OrganizationIDs), "name": f.Name})
	if err := selectPage(ctx, s.db, &rows, q+p.orderBy+pageClause, &total, qCount, arg); err != nil {
		return nil, 0, wrap("list teams", err)
	}
	return nonNil(rows), total, nil
}

// UpdateTeam renames a team and replaces its description; it stays in its
// organization. ErrNotFound when it does not exist; ErrConflict when its
// organization has another team of that name; ErrInvalid for an empty name.
// Requests already submitted keep the team name they were planned with.
func (s *Store) UpdateTeam(ctx context.Context, id int64, name, description string) (Team, error) {
	const q = `UPDATE teams SET name = :name, description = :description, modified = now()
		WHERE id = :id RETURNING ` + teamColumns
	var t Team
	err := namedGet(ctx, s.db, &t, q, map[string]any{"id": id, "name": name, "description": description})
	return t, wrap("update team", err)
}

// DeleteTeam deletes a team and its memberships. ErrNotFound when it does
// not exist; ErrReferenced while a catalog item or an approval policy stage
// names it as approvers (change those first, so that who approves never
// changes silently). Stages of submitted requests keep the team's name.
func (s *Store) DeleteTeam(ctx context.Context, id int64) error {
	const q = `DELETE FROM teams WHERE id = $1`
	return deleteOne(ctx, s.db, "delete team", q, id)
}

// ListTeamMemberUsers returns a page of a team's members, inactive ones
// included, and how many there are. Sortable as ListUsers. ErrNotFound when
// there is no such team; ErrInvalid for bad ListOptions.
func (s *Store) ListTeamMemberUsers(ctx context.Context, teamID int64, opts ListOptions) ([]User, int, error) {
	const (
		q = `SELECT ` + qualifiedUserColumns + ` FROM team_members m JOIN users u ON u.id = m.user_id
			WHERE m.team_id = :parent ORDER BY `
		qCount = `SELECT EXISTS (SELECT 1 FROM teams WHERE id = :parent) AS found,
			(SELECT count(*) FROM team_members WHERE team_id = :parent) AS total`
	)
	users, total, err := listUsersOf(ctx, s.db, q, qCount, teamID, opts)
	return users, total, wrap("list team members", err)
}

// ListOrgAdminUsers returns a page of an organization's admins, inactive
// ones included, and how many there are. Sortable as ListUsers. ErrNotFound
// when there is no such organization; ErrInvalid for bad ListOptions.
func (s *Store) ListOrgAdminUsers(ctx context.Context, orgID int64, opts ListOptions) ([]User, int, error) {
	const (
		q = `SELECT ` + qualifiedUserColumns + ` FROM organization_admins a JOIN users u ON u.id = a.user_id
			WHERE a.organization_id = :parent ORDER BY `
		qCount = `SELECT EXISTS (SELECT 1 FROM organizations WHERE id = :parent) AS found,
			(SELECT count(*) FROM organization_admins WHERE organization_id = :parent) AS total`
	)
	users, total, err := listUsersOf(ctx, s.db, q, qCount, orgID, opts)
	return users, total, wrap("list organization admins", err)
}

// ListOrgMemberUsers returns a page of an organization's members (those
// added as members; team members and admins belong to it too but are
// listed with their teams and as admins) and how many there are;
// ErrNotFound when there is no such organization.
func (s *Store) ListOrgMemberUsers(ctx context.Context, orgID int64, opts ListOptions) ([]User, int, error) {
	const (
		q = `SELECT ` + qualifiedUserColumns + ` FROM organization_members om JOIN users u ON u.id = om.user_id
			WHERE om.organization_id = :parent ORDER BY `
		qCount = `SELECT EXISTS (SELECT 1 FROM organizations WHERE id = :parent) AS found,
			(SELECT count(*) FROM organization_members WHERE organization_id = :parent) AS total`
	)
	users, total, err := listUsersOf(ctx, s.db, q, qCount, orgID, opts)
	return users, total, wrap("list organization members", err)
}

// listUsersOf pages the users related to one parent row: q selects them
// (its ORDER BY left open), qCount says whether the parent exists and how
// many users it has.
func listUsersOf(ctx context.Context, db *sqlx.DB, q, qCount string, parent int64, opts ListOptions) ([]User, int, error) {
	p, err := opts.resolve(userSort)
	if err != nil {
		return nil, 0, err
	}
	var (
		rows  []User
		count struct {
			Found bool `db:"found"`
			Total int  `db:"total"`
		}
	)
	arg := p.args(map[string]any{"parent": parent})
	if err := selectPage(ctx, db, &rows, q+p.orderBy+pageClause, &count, qCount, arg); err != nil {
		return nil, 0, err
	}
	if !count.Found {
		return nil, 0, ErrNotFound
	}
	return nonNil(rows), count.Total, nil
}
