package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Policy is an approval policy (SPEC 3.3): when Condition holds for a
// request of its organization, its stages are the request's plan. Among
// matching enabled policies the lowest Priority wins, ties the lowest ID.
type Policy struct {
	ID             int64
	OrganizationID int64
	Name           string
	Priority       int
	// Condition is a CEL expression; empty always matches. The store keeps
	// it as text: checking it is the caller's job.
	Condition string
	Enabled   bool
	Created   time.Time
	Modified  time.Time
	// Stages in order; never nil.
	Stages []PolicyStage
}

// PolicyStage is one stage of a policy. When writing, Position and
// ApproverTeamName are ignored: positions are the stages' indexes and the
// team's name is read from the team.
type PolicyStage struct {
	Position int
	Name     string
	// ApproverTeamID is nil when the organization's admins approve; it must
	// be a team of the policy's organization.
	ApproverTeamID   *int64
	ApproverTeamName string
	// MinApprovers is at least 1.
	MinApprovers  int
	DenialMessage string
	// Timeout is at least a second; ReminderInterval 0 means no reminders.
	// Both are stored to the second.
	Timeout          time.Duration
	ReminderInterval time.Duration
	// RequireRecentLogin 0 means none; stored to the second.
	RequireRecentLogin time.Duration
	// MaxExtension and WarnBefore 0 mean none; stored to the second.
	MaxExtension time.Duration
	WarnBefore   time.Duration
	// Escalations in order; nil when none.
	Escalations []PolicyEscalation
}

// PolicyEscalation is an escalation step of a policy's stage. When
// writing, ApproverTeamName is ignored.
type PolicyEscalation struct {
	// After is at least a second; stored to the second.
	After time.Duration
	// ApproverTeamID must be a team of the policy's organization.
	ApproverTeamID   int64
	ApproverTeamName string
}

// NewPolicy is what CreatePolicy needs.
type NewPolicy struct {
	OrganizationID int64
	Name           string
	Priority       int
	Condition      string
	// Enabled nil means enabled.
	Enabled *bool
	Stages  []PolicyStage
	// MaxPerOrganization, when above 0, is how many policies the
	// organization may have: CreatePolicy refuses with ErrLimit when it
	// has that many already.
	MaxPerOrganization int
}

// PolicyUpdate replaces every field of a policy and all its stages; a
// policy stays in its organization.
type PolicyUpdate struct {
	Name      string
	Priority  int
	Condition string
	Enabled   bool
	Stages    []PolicyStage
}

// PolicyFilter narrows ListPolicies; the zero value lists all.
type PolicyFilter struct {
	// OrganizationIDs restricts the list to policies of these
	// organizations: nil means no restriction, an empty slice means none.
	OrganizationIDs []int64
}

// policyRow is an approval_policies row.
type policyRow struct {
	ID             int64     `db:"id"`
	OrganizationID int64     `db:"organization_id"`
	Name           string    `db:"name"`
	Priority       int       `db:"priority"`
	Condition      string    `db:"condition"`
	Enabled        bool      `db:"enabled"`
	Created        time.Time `db:"created"`
	Modified       time.Time `db:"modified"`
}

const policyColumns = `id, organization_id, name, priority, condition, enabled, created, modified`

// policyStageRow is an approval_policy_stages row with its team's name.
type policyStageRow struct {
	PolicyID                int64  `db:"policy_id"`
	Position                int    `db:"position"`
	Name                    string `db:"name"`
	ApproverTeamID          *int64 `db:"approver_team_id"`
	ApproverTeamName        string `db:"approver_team_name"`
	MinApprovers            int    `db:"min_approvers"`
	DenialMessage           string `db:"denial_message"`
	TimeoutSeconds          int64  `db:"timeout_seconds"`
	ReminderIntervalSeconds int64  `db:"reminder_interval_seconds"`
	RecentLoginSeconds      int64  `db:"require_recent_login_seconds"`
	MaxExtensionSeconds     int64  `db:"max_extension_seconds"`
	WarnBeforeSeconds       int64  `db:"warn_before_seconds"`
}

// policyEscalationRow is an approval_policy_stage_escalations row with its
// team's name.
type policyEscalationRow struct {
	PolicyID         int64  `db:"policy_id"`
	Position         int    `db:"position"`
	Step             int    `db:"step"`
	AfterSeconds     int64  `db:"after_seconds"`
	ApproverTeamID   int64  `db:"approver_team_id"`
	ApproverTeamName string `db:"approver_team_name"`
}

var policySort = sortFields{
	{name: "id", column: "id"}, {name: "name", column: "name"},
	{name: "priority", column: "priority"}, {name: "organization", column: "organization_id"},
	{name: "created", column: "created"}, {name: "modified", column: "modified"},
}

// CreatePolicy adds a policy with its stages in one transaction.
// ErrConflict when its organization has a policy of that name;
// ErrInvalidReference for an unknown organization or a stage team that does
// not exist or belongs to another organization; ErrInvalid for an empty
// policy or stage name, MinApprovers below 1, a Timeout under a second or a
// negative ReminderInterval; ErrLimit when the organization already has
// MaxPerOrganization policies.
func (s *Store) CreatePolicy(ctx context.Context, n NewPolicy) (Policy, error) {
	var p Policy
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if n.MaxPerOrganization > 0 {
			if err := checkPolicyLimit(ctx, tx, n.OrganizationID, n.MaxPerOrganization); err != nil {
				return err
			}
		}
		const q = `INSERT INTO approval_policies (organization_id, name, priority, condition, enabled)
			VALUES (:organization_id, :name, :priority, :condition, COALESCE(CAST(:enabled AS boolean), true))
			RETURNING id`
		var id int64
		err := namedGet(ctx, tx, &id, q, map[string]any{
			"organization_id": n.OrganizationID, "name": n.Name, "priority": n.Priority,
			"condition": n.Condition, "enabled": n.Enabled,
		})
		if err != nil {
			return err
		}
		if err := insertPolicyStages(ctx, tx, id, n.OrganizationID, n.Stages); err != nil {
			return err
		}
		p, err = getPolicy(ctx, tx, id)
		return err
	})
	return p, wrap("create policy", err)
}

// checkPolicyLimit locks the organization's row, so that concurrent
// creations in one organization count one after the other, and refuses
// with ErrLimit when it has limit policies already. An organization that does
// not exist is left to the insert's foreign key.
func checkPolicyLimit(ctx context.Context, tx *sqlx.Tx, orgID int64, limit int) error {
	const lock = `SELECT id FROM organizations WHERE id = $1 FOR NO KEY UPDATE`
	var id int64
	if err := tx.GetContext(ctx, &id, lock, orgID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	const count = `SELECT count(*) FROM approval_policies WHERE organization_id = $1`
	var n int
	if err := tx.GetContext(ctx, &n, count, orgID); err != nil {
		return err
	}
	if n >= limit {
		return fmt.Errorf("%w: the organization has %d policies", ErrLimit, n)
	}
	return nil
}

// GetPolicy returns a policy with its stages in order, or ErrNotFound.
func (s *Store) GetPolicy(ctx context.Context, id int64) (Policy, error) {
	var p Policy
	err := withTx(ctx, s.db, readOnly, func(tx *sqlx.Tx) error {
		var err error
		p, err = getPolicy(ctx, tx, id)
		return err
	})
	return p, wrap("get policy", err)
}

// GetPolicyByName returns the policy of an organization with exactly this
// name, with its stages, or ErrNotFound.
func (s *Store) GetPolicyByName(ctx context.Context, orgID int64, name string) (Policy, error) {
	var p Policy
	err := withTx(ctx, s.db, readOnly, func(tx *sqlx.Tx) error {
		const q = `SELECT id FROM approval_policies WHERE organization_id = $1 AND name = $2`
		var id int64
		if err := tx.GetContext(ctx, &id, q, orgID, name); err != nil {
			return err
		}
		var err error
		p, err = getPolicy(ctx, tx, id)
		return err
	})
	return p, wrap("get policy by name", err)
}

func getPolicy(ctx context.Context, e sqlx.QueryerContext, id int64) (Policy, error) {
	const q = `SELECT ` + policyColumns + ` FROM approval_policies WHERE id = $1`
	var row policyRow
	if err := sqlx.GetContext(ctx, e, &row, q, id); err != nil {
		return Policy{}, err
	}
	ps, err := withStages(ctx, e, []policyRow{row})
	if err != nil {
		return Policy{}, err
	}
	return ps[0], nil
}

// UpdatePolicy replaces a policy's fields and stages in one transaction and
// returns it. Requests already submitted keep the plan they were given.
// ErrNotFound when it does not exist; otherwise the errors of CreatePolicy,
// and nothing changes.
func (s *Store) UpdatePolicy(ctx context.Context, id int64, u PolicyUpdate) (Policy, error) {
	var p Policy
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		const q = `UPDATE approval_policies SET name = :name, priority = :priority,
				condition = :condition, enabled = :enabled, modified = now()
			WHERE id = :id RETURNING organization_id`
		var orgID int64
		err := namedGet(ctx, tx, &orgID, q, map[string]any{
			"id": id, "name": u.Name, "priority": u.Priority, "condition": u.Condition, "enabled": u.Enabled,
		})
		if err != nil {
			return err
		}
		const del = `DELETE FROM approval_policy_stages WHERE policy_id = $1`
		if _, err := tx.ExecContext(ctx, del, id); err != nil {
			return err
		}
		if err := insertPolicyStages(ctx, tx, id, orgID, u.Stages); err != nil {
			return err
		}
		p, err = getPolicy(ctx, tx, id)
		return err
	})
	return p, wrap("update policy", err)
}

// insertPolicyStages checks that the stages' teams belong to the policy's
// organization, then inserts the stages at positions 0, 1, ...
func insertPolicyStages(ctx context.Context, tx *sqlx.Tx, policyID, orgID int64, stages []PolicyStage) error {
	if len(stages) == 0 {
		return nil
	}
	var teams []int64
	rows := make([]policyStageRow, len(stages))
	var steps []policyEscalationRow
	for i, st := range stages {
		if st.ApproverTeamID != nil {
			teams = append(teams, *st.ApproverTeamID)
		}
		for j, e := range st.Escalations {
			teams = append(teams, e.ApproverTeamID)
			steps = append(steps, policyEscalationRow{PolicyID: policyID, Position: i, Step: j,
				AfterSeconds: int64(e.After / time.Second), ApproverTeamID: e.ApproverTeamID})
		}
		rows[i] = policyStageRow{
			PolicyID:                policyID,
			Position:                i,
			Name:                    st.Name,
			ApproverTeamID:          st.ApproverTeamID,
			MinApprovers:            st.MinApprovers,
			DenialMessage:           st.DenialMessage,
			TimeoutSeconds:          int64(st.Timeout / time.Second),
			ReminderIntervalSeconds: int64(st.ReminderInterval / time.Second),
			RecentLoginSeconds:      int64(st.RequireRecentLogin / time.Second),
			MaxExtensionSeconds:     int64(st.MaxExtension / time.Second),
			WarnBeforeSeconds:       int64(st.WarnBefore / time.Second),
		}
	}
	if err := checkTeams(ctx, tx, orgID, teams); err != nil {
		return err
	}
	const q = `INSERT INTO approval_policy_stages (policy_id, position, name, approver_team_id,
			min_approvers, denial_message, timeout_seconds, reminder_interval_seconds, require_recent_login_seconds,
			max_extension_seconds, warn_before_seconds)
		VALUES (:policy_id, :position, :name, :approver_team_id,
			:min_approvers, :denial_message, :timeout_seconds, :reminder_interval_seconds, :require_recent_login_seconds,
			:max_extension_seconds, :warn_before_seconds)`
	if _, err := sqlx.NamedExecContext(ctx, tx, q, rows); err != nil || len(steps) == 0 {
		return err
	}
	const qe = `INSERT INTO approval_policy_stage_escalations (policy_id, position, step, after_seconds, approver_team_id)
		VALUES (:policy_id, :position, :step, :after_seconds, :approver_team_id)`
	_, err := sqlx.NamedExecContext(ctx, tx, qe, steps)
	return err
}

// DeletePolicy deletes a policy and its stages; ErrNotFound when it does
// not exist. Requests already submitted keep the plan they were given.
func (s *Store) DeletePolicy(ctx context.Context, id int64) error {
	const q = `DELETE FROM approval_policies WHERE id = $1`
	return deleteOne(ctx, s.db, "delete policy", q, id)
}

// ListPolicies returns a page of policies matching f, each with its stages,
// and how many match in all; it costs three queries whatever the page size.
// Sortable: id, name, priority, organization, created, modified. ErrInvalid
// for bad ListOptions.
func (s *Store) ListPolicies(ctx context.Context, f PolicyFilter, opts ListOptions) ([]Policy, int, error) {
	p, err := opts.resolve(policySort)
	if err != nil {
		return nil, 0, wrap("list policies", err)
	}
	const where = ` FROM approval_policies
		WHERE CAST(:org_ids AS bigint[]) IS NULL OR organization_id = ANY(:org_ids)`
	const (
		q      = `SELECT ` + policyColumns + where + ` ORDER BY `
		qCount = `SELECT count(*)` + where
	)
	var (
		out   []Policy
		total int
	)
	arg := p.args(map[string]any{"org_ids": pq.Int64Array(f.OrganizationIDs)})
	err = withTx(ctx, s.db, readOnly, func(tx *sqlx.Tx) error {
		var rows []policyRow
		if err := namedSelect(ctx, tx, &rows, q+p.orderBy+pageClause, arg); err != nil {
			return err
		}
		if err := namedGet(ctx, tx, &total, qCount, arg); err != nil {
			return err
		}
		out, err = withStages(ctx, tx, rows)
		return err
	})
	if err != nil {
		return nil, 0, wrap("list policies", err)
	}
	return out, total, nil
}

// EnabledPolicies returns an organization's enabled policies with their
// stages, in the order plan resolution tries them (priority, then id):
// what a submission reads. An unknown organization has none.
func (s *Store) EnabledPolicies(ctx context.Context, orgID int64) ([]Policy, error) {
	const q = `SELECT ` + policyColumns + ` FROM approval_policies
		WHERE organization_id = $1 AND enabled ORDER BY priority, id`
	var out []Policy
	err := withTx(ctx, s.db, readOnly, func(tx *sqlx.Tx) error {
		var rows []policyRow
		if err := tx.SelectContext(ctx, &rows, q, orgID); err != nil {
			return err
		}
		var err error
		out, err = withStages(ctx, tx, rows)
		return err
	})
	if err != nil {
		return nil, wrap("enabled policies", err)
	}
	return out, nil
}

// withStages loads the stages of every policy in rows with one query and
// returns the policies in the order of rows.
func withStages(ctx context.Context, e sqlx.QueryerContext, rows []policyRow) ([]Policy, error) {
	out := make([]Policy, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	index := make(map[int64]int, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		index[r.ID] = i
		out[i] = Policy{
			ID: r.ID, OrganizationID: r.OrganizationID, Name: r.Name, Priority: r.Priority,
			Condition: r.Condition, Enabled: r.Enabled, Created: r.Created, Modified: r.Modified,
			Stages: []PolicyStage{},
		}
	}
	const q = `SELECT s.policy_id, s.position, s.name, s.approver_team_id,
			COALESCE(t.name, '') AS approver_team_name, s.min_approvers, s.denial_message,
			s.timeout_seconds, s.reminder_interval_seconds, s.require_recent_login_seconds,
			s.max_extension_seconds, s.warn_before_seconds
		FROM approval_policy_stages s LEFT JOIN teams t ON t.id = s.approver_team_id
		WHERE s.policy_id = ANY($1) ORDER BY s.policy_id, s.position`
	var stages []policyStageRow
	if err := sqlx.SelectContext(ctx, e, &stages, q, pq.Int64Array(ids)); err != nil {
		return nil, err
	}
	for _, st := range stages {
		p := &out[index[st.PolicyID]]
		p.Stages = append(p.Stages, PolicyStage{
			Position:           st.Position,
			Name:               st.Name,
			ApproverTeamID:     st.ApproverTeamID,
			ApproverTeamName:   st.ApproverTeamName,
			MinApprovers:       st.MinApprovers,
			DenialMessage:      st.DenialMessage,
			Timeout:            time.Duration(st.TimeoutSeconds) * time.Second,
			ReminderInterval:   time.Duration(st.ReminderIntervalSeconds) * time.Second,
			RequireRecentLogin: time.Duration(st.RecentLoginSeconds) * time.Second,
			MaxExtension:       time.Duration(st.MaxExtensionSeconds) * time.Second,
			WarnBefore:         time.Duration(st.WarnBeforeSeconds) * time.Second,
		})
	}
	const qe = `SELECT e.policy_id, e.position, e.step, e.after_seconds, e.approver_team_id, t.name AS approver_team_name
		FROM approval_policy_stage_escalations e JOIN teams t ON t.id = e.approver_team_id
		WHERE e.policy_id = ANY($1) ORDER BY e.policy_id, e.position, e.step`
	var steps []policyEscalationRow
	if err := sqlx.SelectContext(ctx, e, &steps, qe, pq.Int64Array(ids)); err != nil {
		return nil, err
	}
	for _, e := range steps {
		p := &out[index[e.PolicyID]]
		if e.Position >= len(p.Stages) {
			continue
		}
		st := &p.Stages[e.Position]
		st.Escalations = append(st.Escalations, PolicyEscalation{After: time.Duration(e.AfterSeconds) * time.Second,
			ApproverTeamID: e.ApproverTeamID, ApproverTeamName: e.ApproverTeamName})
	}
	return out, nil
}
