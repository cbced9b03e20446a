package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	FailureReason    string
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
// >= st.Seq it changes nothing and returns (false, nil), so a retried or late
// write never overwrites a newer state. Otherwise the request row is updated
// and its stages and responses are replaced by st's, so they mirror the
// snapshot exactly, and it returns (true, nil).
//
// The AWX job is the exception to mirroring: once a request owns a job (see
// ClaimJob) a snapshot without one keeps it, because that ownership is what
// guarantees the request launches at most once. A snapshot naming a job that
// another request owns, or a different job than the one this request owns,
// is ErrConflict. ErrNotFound when the request does not exist. A stage whose
// approver team has been deleted is stored with a nil ApproverTeamID.
func (s *Store) RecordRequestState(ctx context.Context, st RequestState) (applied bool, err error) {
	err = s.WithTx(ctx, func(tx *sqlx.Tx) error {
		// Whoever was asked stays asked, whatever the order snapshots
		// arrive in.
		if err := addParticipants(ctx, tx, st.ID, st.Participants); err != nil {
			return err
		}
		args := map[string]any{
			"id":                st.ID,
			"seq":               st.Seq,
			"status":            st.Status,
			"current_stage":     st.CurrentStage,
			"pending_approvers": pq.StringArray(nonNil(st.PendingApprovers)),
			"failure_reason":    st.FailureReason,
			"denial":            jsonOrNull(st.Denial),
			"changes_requested": jsonOrNull(st.ChangesRequested),
			"modified":          timeOrNull(st.Modified),
			"finished":          st.Finished,
			"job_type":          nil,
			"job_id":            nil,
			"job_status":        nil,
			"job_url":           nil,
		}
		if st.Job != nil {
			args["job_type"] = st.Job.Type
			args["job_id"] = st.Job.ID
			args["job_status"] = st.Job.Status
			args["job_url"] = st.Job.URL
		}
		const q = `UPDATE service_requests SET
			status = :status,
			current_stage = :current_stage,
			pending_approvers = :pending_approvers,
			failure_reason = :failure_reason,
			denial = CAST(:denial AS jsonb),
			changes_requested = CAST(:changes_requested AS jsonb),
			job_type = COALESCE(CAST(:job_type AS text), job_type),
			job_id = COALESCE(CAST(:job_id AS bigint), job_id),
			job_status = COALESCE(CAST(:job_status AS text), job_status),
			job_url = COALESCE(CAST(:job_url AS text), job_url),
			modified = COALESCE(CAST(:modified AS timestamptz), now()),
			finished = :finished,
			state_seq = :seq
		WHERE id = :id AND state_seq < :seq
			AND (CAST(:job_id AS bigint) IS NULL OR job_id IS NULL
				OR (job_type = :job_type AND job_id = :job_id))`
		n, err := rowsAffected(sqlx.NamedExecContext(ctx, tx, q, args))
		if err != nil {
			return err
		}
		if n == 0 {
			return whyNotRecorded(ctx, tx, st)
		}
		applied = true
		return replaceStagesAndResponses(ctx, tx, st)
	})
	if err != nil {
		return false, wrap("record request state", err)
	}
	return applied, nil
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

// responseBatch is how many responses one INSERT carries.
const responseBatch = 1000

// replaceStagesAndResponses makes a request's stages and responses exactly
// those of the snapshot.
func replaceStagesAndResponses(ctx context.Context, tx *sqlx.Tx, st RequestState) error {
	const delStages = `DELETE FROM service_request_stages WHERE request_id = $1`
	if _, err := tx.ExecContext(ctx, delStages, st.ID); err != nil {
		return err
	}
	if len(st.Stages) > 0 {
		rows := make([]stageRow, len(st.Stages))
		for i, stage := range st.Stages {
			rows[i] = newStageRow(st.ID, stage)
		}
		// The plan was frozen at submission and its team may be gone since;
		// a deleted team must not make the snapshot unrecordable.
		const q = `INSERT INTO service_request_stages (` + stageColumns + `)
			VALUES (:request_id, :position, :name,
				(SELECT t.id FROM teams t WHERE t.id = :approver_team_id), :approver_team_name,
				:min_approvers, :denial_message, :timeout_seconds, :reminder_interval_seconds, :require_recent_login_seconds, :status,
				:opened_at, :deadline, :decided_at, :escalation_team_ids)`
		if _, err := sqlx.NamedExecContext(ctx, tx, q, rows); err != nil {
			return err
		}
	}

	const delResponses = `DELETE FROM service_request_responses WHERE request_id = $1`
	if _, err := tx.ExecContext(ctx, delResponses, st.ID); err != nil {
		return err
	}
	if len(st.Responses) > 0 {
		// Inserted in snapshot order, so ids break ties between responses
		// made in the same microsecond.
		rows := make([]responseRow, len(st.Responses))
		for i, r := range st.Responses {
			rows[i] = responseRow{
				RequestID:     st.ID,
				StagePosition: r.StagePosition,
				Username:      r.Username,
				Kind:          r.Kind,
				Text:          r.Text,
				Created:       r.Created,
				Channel:       r.Channel,
				Unverified:    r.Unverified,
				SignedInAt:    r.SignedInAt,
				OnBehalfOf:    r.OnBehalfOf,
			}
		}
		const q = `INSERT INTO service_request_responses (` + responseColumns + `)
			VALUES (:request_id, :stage_position, :username, :kind, :text, :created, :channel, :unverified, :signed_in_at, :on_behalf_of)`
		// Batches keep each statement under PostgreSQL's limit of 65535
		// parameters however long the discussion gets.
		for batch := range slices.Chunk(rows, responseBatch) {
			if _, err := sqlx.NamedExecContext(ctx, tx, q, batch); err != nil {
				return err
			}
		}
	}
	return nil
}

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
