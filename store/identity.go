package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Organization is a tenant: catalog items, teams and requests belong to one.
type Organization struct {
	ID          int64  `db:"id"`
	Name        string `db:"name"`
	Description string `db:"description"`
	// AWXOrganization is the AWX organization whose templates the
	// organization's admins may offer; nil when only superusers choose.
	AWXOrganization *int64    `db:"awx_organization"`
	Created         time.Time `db:"created"`
	Modified        time.Time `db:"modified"`
}

// User is a person who can sign in. Inactive users keep their history but
// are never eligible to decide and receive no notifications.
type User struct {
	ID          int64     `db:"id"`
	Username    string    `db:"username"`
	Email       string    `db:"email"`
	FirstName   string    `db:"first_name"`
	LastName    string    `db:"last_name"`
	IsSuperuser bool      `db:"is_superuser"`
	IsActive    bool      `db:"is_active"`
	Created     time.Time `db:"created"`
	Modified    time.Time `db:"modified"`
}

// NewUser is what CreateUser needs; the user starts active.
type NewUser struct {
	Username    string `db:"username"`
	Email       string `db:"email"`
	FirstName   string `db:"first_name"`
	LastName    string `db:"last_name"`
	IsSuperuser bool   `db:"is_superuser"`
}

// Team is a named group of users inside one organization; approval stages
// name a team as their approvers.
type Team struct {
	ID             int64     `db:"id"`
	OrganizationID int64     `db:"organization_id"`
	Name           string    `db:"name"`
	Description    string    `db:"description"`
	Created        time.Time `db:"created"`
	Modified       time.Time `db:"modified"`
}

// Roster says who may act on an approval stage right now: the active members
// of the stage's team, the active admins of the request's organization and
// the active superusers. Each list is sorted by username (byte order) and
// never nil.
//
// Delegations are the delegations active now of the users who decide the
// stage (the team's members, or the org admins when it has no team), both
// users active, sorted by delegator then delegate (nil when there are
// none); NextDelegationChange is
// when one of those users' delegations next starts or ends (nil: none
// will), when the roster must be read again.
type Roster struct {
	// TeamName is the team's name; empty without a team.
	TeamName             string
	TeamMembers          []string
	OrgAdmins            []string
	Superusers           []string
	Delegations          []RosterDelegation
	NextDelegationChange *time.Time
}

// RosterDelegation is a delegation as a roster carries it.
type RosterDelegation struct {
	Delegator string    `json:"delegator"`
	Delegate  string    `json:"delegate"`
	Starts    time.Time `json:"starts"`
	Ends      time.Time `json:"ends"`
}

// Contact is where to reach a user.
type Contact struct {
	Username string `db:"username"`
	Email    string `db:"email"`
}

const (
	organizationColumns = `id, name, description, awx_organization, created, modified`
	userColumns         = `id, username, email, first_name, last_name, is_superuser, is_active, created, modified`
	teamColumns         = `id, organization_id, name, description, created, modified`
)

// CreateOrganization adds an organization. A name already in use is
// ErrConflict; an empty name is ErrInvalid.
func (s *Store) CreateOrganization(ctx context.Context, name, description string) (Organization, error) {
	const q = `INSERT INTO organizations (name, description) VALUES (:name, :description)
		RETURNING ` + organizationColumns
	var o Organization
	err := namedGet(ctx, s.db, &o, q, map[string]any{"name": name, "description": description})
	return o, wrap("create organization", err)
}

// LinkAWXOrganization sets (or, with nil, clears) the AWX organization whose
// templates the organization's admins may offer. ErrNotFound when there is
// no such organization.
func (s *Store) LinkAWXOrganization(ctx context.Context, id int64, awxOrg *int64) (Organization, error) {
	const q = `UPDATE organizations SET awx_organization = $2, modified = now()
		WHERE id = $1 RETURNING ` + organizationColumns
	var o Organization
	err := s.db.GetContext(ctx, &o, q, id, awxOrg)
	return o, wrap("link AWX organization", err)
}

// GetOrganization returns the organization with this id, or ErrNotFound.
func (s *Store) GetOrganization(ctx context.Context, id int64) (Organization, error) {
	const q = `SELECT ` + organizationColumns + ` FROM organizations WHERE id = $1`
	var o Organization
	err := s.db.GetContext(ctx, &o, q, id)
	return o, wrap("get organization", err)
}

// GetOrganizationByName returns the organization with this exact name, or
// ErrNotFound.
func (s *Store) GetOrganizationByName(ctx context.Context, name string) (Organization, error) {
	const q = `SELECT ` + organizationColumns + ` FROM organizations WHERE name = $1`
	var o Organization
	err := s.db.GetContext(ctx, &o, q, name)
	return o, wrap("get organization by name", err)
}

// DeleteOrganization deletes an organization with its teams, memberships and
// admins. ErrNotFound when it does not exist; ErrReferenced when it still has
// service requests, which are kept as the record of what was automated, or
// catalog items or approval policies, which must be deleted first.
func (s *Store) DeleteOrganization(ctx context.Context, id int64) error {
	const q = `DELETE FROM organizations WHERE id = $1`
	return deleteOne(ctx, s.db, "delete organization", q, id)
}

// CreateUser adds an active user. A username already in use (compared
// exactly) is ErrConflict; an empty one is ErrInvalid.
func (s *Store) CreateUser(ctx context.Context, u NewUser) (User, error) {
	const q = `INSERT INTO users (username, email, first_name, last_name, is_superuser)
		VALUES (:username, :email, :first_name, :last_name, :is_superuser)
		RETURNING ` + userColumns
	var out User
	err := namedGet(ctx, s.db, &out, q, u)
	return out, wrap("create user", err)
}

// GetUser returns the user with this id, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id int64) (User, error) {
	const q = `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	var u User
	err := s.db.GetContext(ctx, &u, q, id)
	return u, wrap("get user", err)
}

// GetUserByUsername returns the user with exactly this username, active or
// not, or ErrNotFound.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (User, error) {
	const q = `SELECT ` + userColumns + ` FROM users WHERE username = $1`
	var u User
	err := s.db.GetContext(ctx, &u, q, username)
	return u, wrap("get user by username", err)
}

// SetUserActive activates or deactivates a user; ErrNotFound when there is no
// such user. Running requests pick the change up the next time their
// approvers are resolved.
func (s *Store) SetUserActive(ctx context.Context, id int64, active bool) error {
	const q = `UPDATE users SET is_active = $2, modified = now() WHERE id = $1`
	n, err := rowsAffected(s.db.ExecContext(ctx, q, id, active))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return wrap("set user active", err)
}

// DeleteUser deletes a user with their memberships and API tokens.
// ErrNotFound when there is no such user; ErrReferenced when they have
// requested, approved, rejected or commented on anything (deactivate them
// instead): decisions are recorded by username, and a new user of the same
// name must never inherit them.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	const q = `DELETE FROM users u WHERE u.id = $1
		AND NOT EXISTS (SELECT 1 FROM service_request_responses r WHERE r.username = u.username)
		RETURNING u.id`
	var deleted int64
	err := s.db.GetContext(ctx, &deleted, q, id)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.GetUser(ctx, id); gerr != nil {
			return gerr
		}
		return fmt.Errorf("store: delete user: %w: they decided or commented on requests", ErrReferenced)
	}
	if err != nil {
		return fmt.Errorf("store: delete user: %w", mapDeleteError(err))
	}
	return nil
}

// CreateTeam adds a team to an organization. A name already used in that
// organization is ErrConflict; an unknown organization is
// ErrInvalidReference.
func (s *Store) CreateTeam(ctx context.Context, orgID int64, name, description string) (Team, error) {
	const q = `INSERT INTO teams (organization_id, name, description)
		VALUES (:organization_id, :name, :description)
		RETURNING ` + teamColumns
	var t Team
	err := namedGet(ctx, s.db, &t, q, map[string]any{
		"organization_id": orgID, "name": name, "description": description,
	})
	return t, wrap("create team", err)
}

// GetTeam returns the team with this id, or ErrNotFound.
func (s *Store) GetTeam(ctx context.Context, id int64) (Team, error) {
	const q = `SELECT ` + teamColumns + ` FROM teams WHERE id = $1`
	var t Team
	err := s.db.GetContext(ctx, &t, q, id)
	return t, wrap("get team", err)
}

// GetTeamByName returns the team of an organization with this name, or
// ErrNotFound.
func (s *Store) GetTeamByName(ctx context.Context, orgID int64, name string) (Team, error) {
	const q = `SELECT ` + teamColumns + ` FROM teams WHERE organization_id = $1 AND name = $2`
	var t Team
	err := s.db.GetContext(ctx, &t, q, orgID, name)
	return t, wrap("get team by name", err)
}

// AddTeamMember makes a user a member of a team. Adding an existing member is
// a no-op; an unknown team or user is ErrInvalidReference.
func (s *Store) AddTeamMember(ctx context.Context, teamID, userID int64) error {
	const q = `INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	_, err := s.db.ExecContext(ctx, q, teamID, userID)
	return wrap("add team member", err)
}

// RemoveTeamMember removes a user from a team; ErrNotFound when they were
// not a member.
func (s *Store) RemoveTeamMember(ctx context.Context, teamID, userID int64) error {
	const q = `DELETE FROM team_members WHERE team_id = $1 AND user_id = $2`
	return deleteOne(ctx, s.db, "remove team member", q, teamID, userID)
}

// ListTeamMembers returns the usernames of a team's members, inactive ones
// included, sorted; ErrNotFound when there is no such team. Use Roster for who
// may decide.
func (s *Store) ListTeamMembers(ctx context.Context, teamID int64) ([]string, error) {
	const q = `SELECT ARRAY(
			SELECT u.username FROM team_members m JOIN users u ON u.id = m.user_id
			WHERE m.team_id = t.id ORDER BY u.username COLLATE "C")
		FROM teams t WHERE t.id = $1`
	var names pq.StringArray
	err := s.db.GetContext(ctx, &names, q, teamID)
	if err != nil {
		return nil, wrap("list team members", err)
	}
	return nonNil(names), nil
}

// AddOrgAdmin makes a user an admin of an organization. Adding an existing
// admin is a no-op; an unknown organization or user is ErrInvalidReference.
func (s *Store) AddOrgAdmin(ctx context.Context, orgID, userID int64) error {
	const q = `INSERT INTO organization_admins (organization_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	_, err := s.db.ExecContext(ctx, q, orgID, userID)
	return wrap("add organization admin", err)
}

// RemoveOrgAdmin removes a user from an organization's admins; ErrNotFound
// when they were not one.
func (s *Store) RemoveOrgAdmin(ctx context.Context, orgID, userID int64) error {
	const q = `DELETE FROM organization_admins WHERE organization_id = $1 AND user_id = $2`
	return deleteOne(ctx, s.db, "remove organization admin", q, orgID, userID)
}

// AddOrgMember makes a user a member of an organization. Adding an existing
// member is a no-op; an unknown organization or user is
// ErrInvalidReference.
func (s *Store) AddOrgMember(ctx context.Context, orgID, userID int64) error {
	const q = `INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	_, err := s.db.ExecContext(ctx, q, orgID, userID)
	return wrap("add organization member", err)
}

// RemoveOrgMember removes a user from an organization's members; ErrNotFound
// when they were not one.
func (s *Store) RemoveOrgMember(ctx context.Context, orgID, userID int64) error {
	const q = `DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2`
	return deleteOne(ctx, s.db, "remove organization member", q, orgID, userID)
}

// ListOrgAdmins returns the usernames of an organization's admins, inactive
// ones included, sorted; ErrNotFound when there is no such organization.
func (s *Store) ListOrgAdmins(ctx context.Context, orgID int64) ([]string, error) {
	const q = `SELECT ARRAY(
			SELECT u.username FROM organization_admins a JOIN users u ON u.id = a.user_id
			WHERE a.organization_id = o.id ORDER BY u.username COLLATE "C")
		FROM organizations o WHERE o.id = $1`
	var names pq.StringArray
	err := s.db.GetContext(ctx, &names, q, orgID)
	if err != nil {
		return nil, wrap("list organization admins", err)
	}
	return nonNil(names), nil
}

// ListSuperusers returns the usernames of all superusers, inactive ones
// included, sorted.
func (s *Store) ListSuperusers(ctx context.Context) ([]string, error) {
	const q = `SELECT username FROM users WHERE is_superuser ORDER BY username COLLATE "C"`
	var names []string
	err := s.db.SelectContext(ctx, &names, q)
	if err != nil {
		return nil, wrap("list superusers", err)
	}
	return nonNil(names), nil
}

// Roster returns who may act on a stage of a request in organization orgID
// whose approver team is teamID (nil: the organization's admins decide, and
// TeamMembers is empty). Only active users are listed. ErrNotFound when the
// organization does not exist or the team is not one of its teams. It costs
// one round trip.
func (s *Store) Roster(ctx context.Context, orgID int64, teamID *int64) (Roster, error) {
	const q = `SELECT
		EXISTS (SELECT 1 FROM organizations WHERE id = $1) AS org_found,
		($2::bigint IS NULL OR EXISTS (SELECT 1 FROM teams WHERE id = $2 AND organization_id = $1)) AS team_found,
		COALESCE((SELECT name FROM teams WHERE id = $2 AND organization_id = $1), '') AS team_name,
		ARRAY(SELECT u.username FROM team_members m JOIN users u ON u.id = m.user_id
			WHERE m.team_id = $2 AND u.is_active ORDER BY u.username COLLATE "C") AS team_members,
		ARRAY(SELECT u.username FROM organization_admins a JOIN users u ON u.id = a.user_id
			WHERE a.organization_id = $1 AND u.is_active ORDER BY u.username COLLATE "C") AS org_admins,
		ARRAY(SELECT username FROM users
			WHERE is_superuser AND is_active ORDER BY username COLLATE "C") AS superusers,
		COALESCE((SELECT json_agg(json_build_object('delegator', dr.username, 'delegate', de.username,
				'starts', d.starts, 'ends', d.ends) ORDER BY dr.username COLLATE "C", de.username COLLATE "C", d.id)
			FROM delegations d JOIN users dr ON dr.id = d.delegator JOIN users de ON de.id = d.delegate
			WHERE d.delegator IN (` + stageDeciderIDs + `) AND dr.is_active AND de.is_active
				AND d.starts <= now() AND d.ends > now()), '[]') AS delegations,
		(SELECT min(CASE WHEN d.starts > now() THEN d.starts ELSE d.ends END) FROM delegations d
			WHERE d.delegator IN (` + stageDeciderIDs + `) AND d.ends > now()) AS next_delegation_change`
	var row struct {
		OrgFound    bool           `db:"org_found"`
		TeamFound   bool           `db:"team_found"`
		TeamName    string         `db:"team_name"`
		TeamMembers pq.StringArray `db:"team_members"`
		OrgAdmins   pq.StringArray `db:"org_admins"`
		Superusers  pq.StringArray `db:"superusers"`
		Delegations []byte         `db:"delegations"`
		NextChange  *time.Time     `db:"next_delegation_change"`
	}
	// Prepared: PostgreSQL took several times longer to plan this query
	// than to run it, on every submission and every stage.
	if err := s.getPrepared(ctx, &row, q, orgID, teamID); err != nil {
		return Roster{}, wrap("roster", err)
	}
	if !row.OrgFound {
		return Roster{}, wrap("roster", fmt.Errorf("%w: organization %d", ErrNotFound, orgID))
	}
	if !row.TeamFound {
		return Roster{}, wrap("roster", fmt.Errorf("%w: team %d in organization %d", ErrNotFound, *teamID, orgID))
	}
	var delegations []RosterDelegation
	if err := json.Unmarshal(row.Delegations, &delegations); err != nil {
		return Roster{}, fmt.Errorf("store: roster: delegations: %w", err)
	}
	if len(delegations) == 0 {
		delegations = nil
	}
	for i := range delegations {
		delegations[i].Starts, delegations[i].Ends = delegations[i].Starts.UTC(), delegations[i].Ends.UTC()
	}
	if row.NextChange != nil {
		t := row.NextChange.UTC()
		row.NextChange = &t
	}
	return Roster{
		TeamName:             row.TeamName,
		TeamMembers:          nonNil(row.TeamMembers),
		OrgAdmins:            nonNil(row.OrgAdmins),
		Superusers:           nonNil(row.Superusers),
		Delegations:          delegations,
		NextDelegationChange: row.NextChange,
	}, nil
}

// stageDeciderIDs selects the ids of the users who decide a stage of
// organization $1 whose approver team is $2: the team's members, or the
// organization's admins when $2 is NULL. Their delegations are the roster's.
const stageDeciderIDs = `SELECT user_id FROM team_members WHERE $2::bigint IS NOT NULL AND team_id = $2
	UNION ALL SELECT user_id FROM organization_admins WHERE $2::bigint IS NULL AND organization_id = $1`

// UserContacts returns the contact of each active user among usernames,
// sorted by username; unknown and inactive users are left out, and so are
// duplicates.
func (s *Store) UserContacts(ctx context.Context, usernames []string) ([]Contact, error) {
	if len(usernames) == 0 {
		return []Contact{}, nil
	}
	const q = `SELECT username, email FROM users
		WHERE username = ANY($1) AND is_active ORDER BY username COLLATE "C"`
	var out []Contact
	if err := s.db.SelectContext(ctx, &out, q, pq.Array(usernames)); err != nil {
		return nil, wrap("user contacts", err)
	}
	return nonNil(out), nil
}

// deleteOne runs a DELETE expected to remove exactly one row: ErrNotFound
// when it removed none, ErrReferenced when other rows still point at it.
func deleteOne(ctx context.Context, e sqlx.ExecerContext, op, q string, args ...any) error {
	n, err := rowsAffected(e.ExecContext(ctx, q, args...))
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, mapDeleteError(err))
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	return nil
}

func nonNil[S ~[]E, E any](s S) []E {
	if s == nil {
		return []E{}
	}
	return []E(s)
}

// RosterReader reads rosters; *Store is one.
type RosterReader interface {
	Roster(ctx context.Context, orgID int64, teamID *int64) (Roster, error)
}

// StageRoster is who may act on a stage whose approver team is teamID, as
// every reader of it must see it: a team deleted since the plan was
// frozen leaves the stage to the organization's admins and superusers
// (teamGone), since nobody can be a member of it any more.
func StageRoster(ctx context.Context, rr RosterReader, orgID int64, teamID *int64) (r Roster, teamGone bool, err error) {
	r, err = rr.Roster(ctx, orgID, teamID)
	if errors.Is(err, ErrNotFound) && teamID != nil {
		r, err = rr.Roster(ctx, orgID, nil)
		teamGone = err == nil
	}
	return r, teamGone, err
}
