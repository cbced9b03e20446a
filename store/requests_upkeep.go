package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// The refresh targets: when a team's members, an organization's admins or
// the superusers change, the workflows of the requests whose open stage
// they decide must recompute their pending approvers. Only the current
// stage matters; later stages resolve their approvers when they open.

// PendingRequestsUsingTeam returns the ids, ascending, of the requests
// pending approval whose current stage is decided by team teamID, as its
// approver team or a team it was escalated to.
func (s *Store) PendingRequestsUsingTeam(ctx context.Context, teamID int64) ([]int64, error) {
	const q = `SELECT r.id FROM service_requests r
		JOIN service_request_stages st ON st.request_id = r.id AND st.position = r.current_stage
		WHERE r.status = 'pending_approval' AND (st.approver_team_id = $1 OR st.escalation_team_ids @> ARRAY[$1::bigint])
		ORDER BY r.id`
	return s.selectIDs(ctx, "pending requests using team", q, teamID)
}

// PendingRequestsUsingOrgAdmins returns the ids, ascending, of the
// requests of organization orgID pending approval whose current stage has
// no approver team, so is decided by the organization's admins.
func (s *Store) PendingRequestsUsingOrgAdmins(ctx context.Context, orgID int64) ([]int64, error) {
	const q = `SELECT r.id FROM service_requests r
		JOIN service_request_stages st ON st.request_id = r.id AND st.position = r.current_stage
		WHERE r.status = 'pending_approval' AND r.organization_id = $1 AND st.approver_team_id IS NULL
		ORDER BY r.id`
	return s.selectIDs(ctx, "pending requests using organization admins", q, orgID)
}

// PendingRequestsForUser returns the ids of requests in pending_approval
// whose current stage the user could decide by membership: their team's
// stages, and the stages of their organizations' admins; or as a delegate,
// by the membership of someone whose delegation to them has not ended.
// Changes to one user (deactivated, say) only concern these.
func (s *Store) PendingRequestsForUser(ctx context.Context, userID int64) ([]int64, error) {
	const q = `WITH deciders AS (SELECT $1::bigint AS user_id
			UNION SELECT delegator FROM delegations WHERE delegate = $1 AND ends > now())
		SELECT r.id FROM service_requests r
		JOIN service_request_stages st ON st.request_id = r.id AND st.position = r.current_stage
		WHERE r.status = 'pending_approval' AND (
			st.approver_team_id IN (SELECT team_id FROM team_members WHERE user_id IN (SELECT user_id FROM deciders))
			OR st.escalation_team_ids && ARRAY(SELECT team_id FROM team_members WHERE user_id IN (SELECT user_id FROM deciders))
			OR (st.approver_team_id IS NULL AND r.organization_id IN
				(SELECT organization_id FROM organization_admins WHERE user_id IN (SELECT user_id FROM deciders))))
		ORDER BY r.id`
	return s.selectIDs(ctx, "pending requests for user", q, userID)
}

// PendingRequests returns the ids, ascending, of every request pending
// approval: superusers may decide any stage, so a change to them concerns
// all of these.
func (s *Store) PendingRequests(ctx context.Context) ([]int64, error) {
	const q = `SELECT id FROM service_requests WHERE status = 'pending_approval' ORDER BY id`
	return s.selectIDs(ctx, "pending requests", q)
}

func (s *Store) selectIDs(ctx context.Context, op, q string, args ...any) ([]int64, error) {
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, q, args...); err != nil {
		return nil, wrap(op, err)
	}
	return nonNil(ids), nil
}

// unsettledWhere matches requests that have not reached a terminal status;
// it repeats the predicate of service_requests_unsettled_idx so that index
// applies.
const unsettledWhere = `status IN ('pending_approval', 'approved', 'running')`

// unsettledQuery is UnsettledRequests' SQL, at package level so that a test
// can EXPLAIN it.
const unsettledQuery = `SELECT ` + requestColumns + ` FROM service_requests
	WHERE ` + unsettledWhere + ` AND modified < $1 AND id > $2
	ORDER BY id LIMIT $3`

// UnsettledRequests returns up to limit requests (limit <= 0: all) with an
// id above afterID that are not in a terminal status and were last
// modified before modifiedBefore, by id, without stages or responses. The
// reconciler uses it to find requests whose workflow may never have
// started or has stopped recording its state, walking all of them batch by
// batch with afterID as its cursor.
func (s *Store) UnsettledRequests(ctx context.Context, modifiedBefore time.Time, afterID int64, limit int) ([]Request, error) {
	const q = unsettledQuery
	rows, err := s.db.QueryContext(ctx, q, modifiedBefore, afterID, limitArg(limit))
	var out []Request
	if err == nil {
		out, err = scanRequests(rows, limit)
	}
	return out, wrap("unsettled requests", err)
}

// MarkRequestFailed fails a request whose workflow never started: status
// failed with reason, finished and modified at now, no open stage and
// nobody pending. It changes the request only while it is not in a
// terminal status and has no AWX job recorded (a request that launched
// automation is the workflow's to settle), and reports whether it did.
// ErrNotFound when there is no such request.
func (s *Store) MarkRequestFailed(ctx context.Context, id int64, reason string, now time.Time) (bool, error) {
	var changed bool
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		const q = `UPDATE service_requests SET status = 'failed', failure_reason = $2,
				finished = $3, modified = $3, current_stage = NULL, pending_approvers = '{}', extendable_until = NULL
			WHERE id = $1 AND ` + unsettledWhere + ` AND job_id IS NULL`
		n, err := rowsAffected(tx.ExecContext(ctx, q, id, reason, now))
		if err != nil {
			return err
		}
		if n > 0 {
			changed = true
			return nil
		}
		const qExists = `SELECT id FROM service_requests WHERE id = $1`
		var found int64
		return tx.GetContext(ctx, &found, qExists, id)
	})
	if err != nil {
		return false, wrap("mark request failed", err)
	}
	return changed, nil
}

// SettledSeq is the state_seq of a request settled by SettleAbandonedRequest:
// above any sequence number its workflow can reach, so that no late
// publication of that workflow brings it back (see RecordRequestState).
const SettledSeq = math.MaxInt64

// Abandonment says how to settle a request whose workflow ended without
// settling it (terminated, timed out, failed).
type Abandonment struct {
	// Reason is the failure reason when no launch was ever sent to AWX:
	// the request is then canceled.
	Reason string
	// LaunchedReason is the failure reason when a launch was sent or a job
	// recorded: the request then fails, since a job may be running in AWX
	// that nobody follows any more.
	LaunchedReason string
	// At is when it is settled: its finished and modified time.
	At time.Time
}

// SettleAbandonedRequest settles a request in a non-terminal status whose
// workflow has ended: canceled or failed as Abandonment says, finished, no
// stage open (the open stage canceled, waiting ones skipped) and nobody
// pending, so it leaves every inbox; its state_seq becomes SettledSeq. It
// returns the status given, or "" when the request was already terminal
// (nothing changed). ErrNotFound when there is no such request.
//
// It and MarkLaunchAttempted exclude each other on the row: either the
// launch was recorded first and the request fails, or the request is
// canceled first and the launch is refused.
func (s *Store) SettleAbandonedRequest(ctx context.Context, id int64, a Abandonment) (string, error) {
	var status string
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		const q = `UPDATE service_requests SET
				status = CASE WHEN job_id IS NULL AND launch_attempted_at IS NULL THEN 'canceled' ELSE 'failed' END,
				failure_reason = CASE WHEN job_id IS NULL AND launch_attempted_at IS NULL THEN $2 ELSE $3 END,
				finished = $4, modified = $4, current_stage = NULL, pending_approvers = '{}', extendable_until = NULL, state_seq = $5
			WHERE id = $1 AND ` + unsettledWhere + `
			RETURNING status`
		err := tx.GetContext(ctx, &status, q, id, a.Reason, a.LaunchedReason, a.At, int64(SettledSeq))
		if errors.Is(err, sql.ErrNoRows) {
			const qExists = `SELECT id FROM service_requests WHERE id = $1`
			var found int64
			return tx.GetContext(ctx, &found, qExists, id)
		}
		if err != nil {
			return err
		}
		const qStages = `UPDATE service_request_stages SET
				status = CASE status WHEN 'pending' THEN 'canceled' ELSE 'skipped' END,
				decided_at = CASE status WHEN 'pending' THEN $2 ELSE decided_at END
			WHERE request_id = $1 AND status IN ('pending', 'waiting')`
		_, err = tx.ExecContext(ctx, qStages, id, a.At)
		return err
	})
	if err != nil {
		return "", wrap("settle abandoned request", err)
	}
	return status, nil
}
