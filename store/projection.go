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

// RequestState is a snapshot of a request's workflow state after one
// transition, as the worker records it. Seq orders snapshots of the same
// request: it must grow with every transition.
type RequestState struct {
	ID     int64
	Seq    int64
	Status string
	// CurrentStage is the position of the stage accepting decisions, or nil.
	CurrentStage     *int
	PendingApprovers []string
	// ExtendableUntil: see Request.
	ExtendableUntil *time.Time
	FailureReason   string
	// Denial is JSON, or nil/empty when the request was not rejected.
	Denial json.RawMessage
	// ChangesRequested is JSON, or nil/empty when no approver asked for
	// changes.
	ChangesRequested json.RawMessage
	// Job is the launched AWX job with its latest status, or nil. A nil Job
	// never removes a job already recorded (see RecordRequestState).
	Job *JobRef
	// Modified is when the transition happened; zero means now.
	Modified  time.Time
	Finished  *time.Time
	Stages    []StageState
	Responses []Response
	// Participants were asked about the request in this transition (its
	// approvers, the people notified): they are added to the request's
	// participants, who keep seeing it (see AddRequestParticipants).
	Participants []string
}

// RecordRequestState stores a snapshot of a request's state, in one
// transaction, if it is newer than the one stored.
//
// It is idempotent and monotonic: when the stored snapshot's Seq is already
// >= st.Seq it changes nothing but the participants and returns (false,
// nil), so a retried or late write never overwrites a newer state.
// Otherwise the request row is updated and its stages and responses are
// made those of st, so they mirror the snapshot exactly, and it returns
// (true, nil).
//
// The AWX job is the exception to mirroring: once a request owns a job (see
// ClaimJob) a snapshot without one keeps it, because that ownership is what
// guarantees the request launches at most once. A snapshot naming a job that
// another request owns, or a different job than the one this request owns,
// is ErrConflict. ErrNotFound when the request does not exist. A stage whose
// approver team has been deleted is stored with a nil ApproverTeamID.
//
// A request is recorded at every transition, so each costs four round
// trips whatever the request's size, and rewrites only the rows that
// changed (see syncStagesAndResponses).
func (s *Store) RecordRequestState(ctx context.Context, st RequestState) (applied bool, err error) {
	row, stages, responses, err := recordArgs(st)
	if err != nil {
		return false, wrap("record request state", err)
	}
	sts, err := s.prepareAll(ctx, recordRequestQuery, syncStagesAndResponses)
	if err != nil {
		return false, wrap("record request state", err)
	}
	recordRequest, syncRows := sts[0], sts[1]
	err = s.WithTx(ctx, func(tx *sqlx.Tx) error {
		n, err := rowsAffected(tx.StmtxContext(ctx, recordRequest).ExecContext(ctx, row...))
		if err != nil {
			return err
		}
		if n == 0 {
			// Whoever was asked stays asked, whatever the order snapshots
			// arrive in.
			if err := addParticipants(ctx, tx, st.ID, st.Participants); err != nil {
				return err
			}
			return whyNotRecorded(ctx, tx, st)
		}
		applied = true
		// The upsert below would take the last of two stages at one
		// position; the table's key refused them.
		if err := uniquePositions(st.Stages); err != nil {
			return err
		}
		// A separate statement: it reads the stages and responses after the
		// UPDATE above waited for any concurrent writer of the request.
		_, err = tx.StmtxContext(ctx, syncRows).ExecContext(ctx, st.ID, stages, responses)
		return err
	})
	if err != nil {
		return false, wrap("record request state", err)
	}
	return applied, nil
}

func uniquePositions(stages []StageState) error {
	seen := make(map[int]bool, len(stages))
	for _, st := range stages {
		if seen[st.Position] {
			return fmt.Errorf("%w: two stages at position %d", ErrConflict, st.Position)
		}
		seen[st.Position] = true
	}
	return nil
}

// recordRequestQuery updates the request row of a newer snapshot, adding
// its participants; $1 to $16 are recordArgs'.
const recordRequestQuery = `UPDATE service_requests SET
	participants = ARRAY(SELECT DISTINCT u FROM unnest(participants || CAST($15 AS text[])) u ORDER BY u),
	status = $3,
	current_stage = $4,
	pending_approvers = $5,
	failure_reason = $6,
	denial = CAST($7 AS jsonb),
	changes_requested = CAST($8 AS jsonb),
	job_type = COALESCE(CAST($9 AS text), job_type),
	job_id = COALESCE(CAST($10 AS bigint), job_id),
	job_status = COALESCE(CAST($11 AS text), job_status),
	job_url = COALESCE(CAST($12 AS text), job_url),
	modified = COALESCE(CAST($13 AS timestamptz), now()),
	finished = $14,
	extendable_until = $16,
	state_seq = $2
WHERE id = $1 AND state_seq < $2
	AND (CAST($10 AS bigint) IS NULL OR job_id IS NULL
		OR (job_type = CAST($9 AS text) AND job_id = CAST($10 AS bigint)))`

// recordArgs returns recordRequestQuery's arguments, and the snapshot's
// stages and responses as JSON for syncStagesAndResponses.
func recordArgs(st RequestState) (row []any, stages, responses string, err error) {
	var jobType, jobStatus, jobURL *string
	var jobID *int64
	if st.Job != nil {
		jobType, jobID, jobStatus, jobURL = &st.Job.Type, &st.Job.ID, &st.Job.Status, &st.Job.URL
	}
	stageRows := make([]stageRow, len(st.Stages))
	for i, stage := range st.Stages {
		stageRows[i] = newStageRow(st.ID, stage)
	}
	responseRows := make([]responseRow, len(st.Responses))
	for i, r := range st.Responses {
		responseRows[i] = newResponseRow(st.ID, r)
	}
	stagesJSON, err := json.Marshal(stageRows)
	if err != nil {
		return nil, "", "", err
	}
	responsesJSON, err := json.Marshal(responseRows)
	if err != nil {
		return nil, "", "", err
	}
	row = []any{
		st.ID, st.Seq, st.Status, st.CurrentStage, pq.StringArray(nonNil(st.PendingApprovers)),
		st.FailureReason, jsonOrNull(st.Denial), jsonOrNull(st.ChangesRequested),
		jobType, jobID, jobStatus, jobURL, timeOrNull(st.Modified), st.Finished,
		pq.StringArray(nonNil(st.Participants)), st.ExtendableUntil,
	}
	return row, string(stagesJSON), string(responsesJSON), nil
}

// AddRequestParticipants adds users to those who were asked about a
// request (they keep seeing it). Adding who is there already writes
// nothing; an unknown request is left alone.
func (s *Store) AddRequestParticipants(ctx context.Context, id int64, users []string) error {
	return wrap("add request participants", addParticipants(ctx, s.db, id, users))
}

func addParticipants(ctx context.Context, e sqlx.ExtContext, id int64, users []string) error {
	if len(users) == 0 {
		return nil
	}
	const q = `UPDATE service_requests
		SET participants = ARRAY(SELECT DISTINCT u FROM unnest(participants || CAST($2 AS text[])) u ORDER BY u)
		WHERE id = $1 AND NOT participants @> CAST($2 AS text[])`
	_, err := e.ExecContext(ctx, q, id, pq.StringArray(users))
	return err
}

// whyNotRecorded tells apart the reasons the guarded UPDATE matched no row:
// no such request (ErrNotFound), a newer or equal snapshot already stored
// (nil: nothing to do), or a different job already owned (ErrConflict).
func whyNotRecorded(ctx context.Context, tx *sqlx.Tx, st RequestState) error {
	const q = `SELECT state_seq, job_type, job_id FROM service_requests WHERE id = $1`
	var row struct {
		StateSeq int64   `db:"state_seq"`
		JobType  *string `db:"job_type"`
		JobID    *int64  `db:"job_id"`
	}
	if err := tx.GetContext(ctx, &row, q, st.ID); err != nil {
		return err
	}
	if row.StateSeq >= st.Seq {
		return nil
	}
	if row.JobID != nil && st.Job != nil {
		return fmt.Errorf("%w: request %d owns %s %d, not %s %d",
			ErrConflict, st.ID, *row.JobType, *row.JobID, st.Job.Type, st.Job.ID)
	}
	// The row changed between the two statements; the caller retries.
	return fmt.Errorf("request %d changed while its state was recorded", st.ID)
}

// syncStagesAndResponses makes request $1's stages those of the JSON array
// $2 and its responses those of $3, writing only what differs: a stage row
// is updated only when one of its values changed, and when the stored
// responses begin the snapshot's, as they do whenever a request moves on,
// only the snapshot's new responses are inserted (otherwise all are
// replaced). Responses are inserted in snapshot order, so ids break ties
// between responses made in the same microsecond. The plan was frozen at
// submission and a stage's team may be gone since: a deleted team is
// stored as none rather than making the snapshot unrecordable.
const syncStagesAndResponses = `WITH stage AS (
	SELECT * FROM jsonb_to_recordset(CAST($2 AS jsonb)) AS s (
		position integer, name text, approver_team_id bigint, approver_team_name text,
		min_approvers integer, denial_message text, timeout_seconds bigint, reminder_interval_seconds bigint,
		require_recent_login_seconds bigint, status text, opened_at timestamptz, deadline timestamptz,
		decided_at timestamptz, escalation_team_ids bigint[])
), removed_stages AS (
	DELETE FROM service_request_stages
	WHERE request_id = $1 AND position NOT IN (SELECT position FROM stage)
), written_stages AS (
	INSERT INTO service_request_stages (` + stageColumns + `)
	SELECT $1, position, name, (SELECT t.id FROM teams t WHERE t.id = stage.approver_team_id), approver_team_name,
		min_approvers, denial_message, timeout_seconds, reminder_interval_seconds, require_recent_login_seconds, status,
		opened_at, deadline, decided_at, escalation_team_ids
	FROM stage
	ON CONFLICT (request_id, position) DO UPDATE SET
		name = EXCLUDED.name, approver_team_id = EXCLUDED.approver_team_id,
		approver_team_name = EXCLUDED.approver_team_name, min_approvers = EXCLUDED.min_approvers,
		denial_message = EXCLUDED.denial_message, timeout_seconds = EXCLUDED.timeout_seconds,
		reminder_interval_seconds = EXCLUDED.reminder_interval_seconds,
		require_recent_login_seconds = EXCLUDED.require_recent_login_seconds, status = EXCLUDED.status,
		opened_at = EXCLUDED.opened_at, deadline = EXCLUDED.deadline, decided_at = EXCLUDED.decided_at,
		escalation_team_ids = EXCLUDED.escalation_team_ids
	WHERE ROW(service_request_stages.*) IS DISTINCT FROM ROW(EXCLUDED.*)
), response AS (
	SELECT * FROM ROWS FROM (jsonb_to_recordset(CAST($3 AS jsonb)) AS (
		stage_position integer, username text, kind text, text text, created timestamptz,
		channel text, unverified boolean, signed_in_at timestamptz, on_behalf_of text)
	) WITH ORDINALITY AS r (stage_position, username, kind, text, created, channel, unverified, signed_in_at, on_behalf_of, n)
), stored AS (
	SELECT row_number() OVER (ORDER BY id) AS n, stage_position, username, kind, text, created,
		channel, unverified, signed_in_at, on_behalf_of
	FROM service_request_responses WHERE request_id = $1
), kept AS (
	SELECT CASE WHEN EXISTS (
		SELECT FROM stored s LEFT JOIN response r USING (n)
		WHERE (s.stage_position, s.username, s.kind, s.text, s.created, s.channel, s.unverified, s.signed_in_at, s.on_behalf_of)
			IS DISTINCT FROM (r.stage_position, r.username, r.kind, r.text, r.created, r.channel, r.unverified, r.signed_in_at, r.on_behalf_of)
	) THEN 0 ELSE (SELECT count(*) FROM stored) END AS n
), removed_responses AS (
	DELETE FROM service_request_responses
	WHERE request_id = $1 AND (SELECT n FROM kept) = 0
)
INSERT INTO service_request_responses (` + responseColumns + `)
SELECT $1, stage_position, username, kind, text, created, channel, unverified, signed_in_at, on_behalf_of
FROM response WHERE n > (SELECT n FROM kept)
ORDER BY n`

// ClaimJob records that AWX job jobID of type jobType (JobTypeJob or
// JobTypeWorkflowJob) belongs to request requestID. The worker claims a job
// before trusting that a launch it finds in AWX is its own, so each job
// belongs to at most one request and each request to at most one job.
//
// Claiming the job the request already owns is a no-op (nil). ErrJobTaken
// (which is also ErrConflict) when another request owns the job, so that a
// caller choosing among jobs may try another; ErrConflict when this request
// owns a different one; ErrNotFound when the request does not exist;
// ErrInvalid for an unknown job type.
func (s *Store) ClaimJob(ctx context.Context, requestID int64, jobType string, jobID int64) error {
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		const q = `UPDATE service_requests SET job_type = $2, job_id = $3
			WHERE id = $1 AND (job_id IS NULL OR (job_type = $2 AND job_id = $3))`
		n, err := rowsAffected(tx.ExecContext(ctx, q, requestID, jobType, jobID))
		if errors.Is(mapError(err), ErrConflict) {
			// The only unique index the update touches is the jobs'.
			return fmt.Errorf("%w: %s %d", ErrJobTaken, jobType, jobID)
		}
		if err != nil || n > 0 {
			return err
		}
		job, err := requestJob(ctx, tx, requestID)
		if err != nil {
			return err
		}
		if job == nil {
			return fmt.Errorf("request %d changed while its job was claimed", requestID)
		}
		return fmt.Errorf("%w: request %d already owns %s %d", ErrConflict, requestID, job.Type, job.ID)
	})
	return wrap("claim job", err)
}

// RequestJob returns the AWX job a request owns, nil when it owns none;
// ErrNotFound when the request does not exist.
func (s *Store) RequestJob(ctx context.Context, requestID int64) (*JobRef, error) {
	job, err := requestJob(ctx, s.db, requestID)
	if err != nil {
		return nil, wrap("request job", err)
	}
	return job, nil
}

func requestJob(ctx context.Context, e sqlx.QueryerContext, requestID int64) (*JobRef, error) {
	const q = `SELECT job_type, job_id, job_status, job_url FROM service_requests WHERE id = $1`
	var row struct {
		JobType   *string `db:"job_type"`
		JobID     *int64  `db:"job_id"`
		JobStatus string  `db:"job_status"`
		JobURL    string  `db:"job_url"`
	}
	if err := sqlx.GetContext(ctx, e, &row, q, requestID); err != nil {
		return nil, err
	}
	if row.JobType == nil || row.JobID == nil {
		return nil, nil
	}
	return &JobRef{Type: *row.JobType, ID: *row.JobID, Status: row.JobStatus, URL: row.JobURL}, nil
}

// MarkLaunchAttempted records that a launch of the request is about to be
// sent to AWX and returns when the first such attempt was recorded (later
// calls keep the first time). ErrNotFound when the request does not exist;
// ErrConflict when it is already in a terminal status (settled because its
// workflow ended: nothing may be launched for it any more).
func (s *Store) MarkLaunchAttempted(ctx context.Context, requestID int64) (time.Time, error) {
	var at time.Time
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		const q = `UPDATE service_requests SET launch_attempted_at = COALESCE(launch_attempted_at, now())
			WHERE id = $1 AND ` + unsettledWhere + ` RETURNING launch_attempted_at`
		err := tx.GetContext(ctx, &at, q, requestID)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		const qStatus = `SELECT status FROM service_requests WHERE id = $1`
		var status string
		if err := tx.GetContext(ctx, &status, qStatus, requestID); err != nil {
			return err
		}
		return fmt.Errorf("%w: request %d is %s; nothing is launched for it", ErrConflict, requestID, status)
	})
	return at, wrap("mark launch attempted", err)
}

// LaunchAttemptedAt returns when a launch of the request was first sent to
// AWX, or nil if none ever was. ErrNotFound when the request does not exist.
func (s *Store) LaunchAttemptedAt(ctx context.Context, requestID int64) (*time.Time, error) {
	const q = `SELECT launch_attempted_at FROM service_requests WHERE id = $1`
	var at *time.Time
	err := s.db.GetContext(ctx, &at, q, requestID)
	if err != nil {
		return nil, wrap("launch attempted at", err)
	}
	return at, nil
}

// JobOwner returns the id of the request that owns an AWX job; ErrNotFound
// when no request has claimed it.
func (s *Store) JobOwner(ctx context.Context, jobType string, jobID int64) (int64, error) {
	const q = `SELECT id FROM service_requests WHERE job_type = $1 AND job_id = $2`
	var id int64
	if err := s.db.GetContext(ctx, &id, q, jobType, jobID); err != nil {
		return 0, wrap("job owner", err)
	}
	return id, nil
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// MaxJobID is the highest AWX job id any request owns, 0 when none does;
// for a simulated AWX that restarts, so it never hands out an id again.
func (s *Store) MaxJobID(ctx context.Context) (int64, error) {
	const q = `SELECT COALESCE(max(job_id), 0) FROM service_requests`
	var id int64
	if err := s.db.GetContext(ctx, &id, q); err != nil {
		return 0, wrap("max job id", err)
	}
	return id, nil
}
