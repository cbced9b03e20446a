package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// AWX job types a request can own.
const (
	JobTypeJob         = "job"
	JobTypeWorkflowJob = "workflow_job"
)

// NewRequest is a submitted service request with its frozen approval plan.
type NewRequest struct {
	OrganizationID    int64
	CatalogItemID     int64
	CatalogItemName   string
	RequesterID       int64
	RequesterUsername string
	Justification     string
	// ExtraVars and NodeSurveyData are JSON objects as users may see them:
	// password answers must already be masked as "$encrypted$". Empty or
	// null means {}; anything but an object is ErrInvalid.
	ExtraVars      json.RawMessage
	NodeSurveyData json.RawMessage
	// Stages is the plan, in order; their positions are their indexes.
	Stages []NewStage
	// CurrentStage and PendingApprovers, when the request starts with a
	// stage open (its opening time set) and its approvers known, are that
	// stage and who may decide it: the inbox and request visibility serve
	// them from the start. The workflow's first state replaces them.
	CurrentStage     *int
	PendingApprovers []string
	// ExtendableUntil: see Request; nil unless CurrentStage is open.
	ExtendableUntil *time.Time
	// ParentID, when the request resubmits one that ended
	// changes_requested, is that request: a request is resubmitted at most
	// once (ErrConflict), and never by a request of another requester,
	// catalog item or status (the caller checks; see requests.Service).
	ParentID *int64
}

// NewStage is one stage of a request's frozen plan.
type NewStage struct {
	Name string
	// ApproverTeamID is nil when the organization's admins decide.
	ApproverTeamID   *int64
	ApproverTeamName string
	// MinApprovers must be at least 1 (ErrInvalid otherwise).
	MinApprovers  int
	DenialMessage string
	// Timeout, ReminderInterval and RequireRecentLogin (0: none) are
	// stored to the second.
	Timeout            time.Duration
	ReminderInterval   time.Duration
	RequireRecentLogin time.Duration
	// OpenedAt and Deadline are set on the stage the request starts with
	// open (see NewRequest.CurrentStage), which is then pending.
	OpenedAt *time.Time
	Deadline *time.Time
}

// Request is a service request as last recorded: its row and, from
// GetRequest, its stages and responses. Lists leave Stages and Responses nil.
type Request struct {
	ID                int64
	OrganizationID    int64
	CatalogItemID     int64
	CatalogItemName   string
	RequesterID       int64
	RequesterUsername string
	Justification     string
	ExtraVars         json.RawMessage
	NodeSurveyData    json.RawMessage
	Status            string
	// CurrentStage is the position of the stage accepting decisions, or nil.
	CurrentStage *int
	// PendingApprovers are the usernames who may decide now and have not.
	PendingApprovers []string
	// Participants were ever asked about the request: approvers of its
	// opened stages and the people notified.
	Participants []string
	// Deciders approved or rejected it, in the order they did; lists have
	// them too, so what a caller may still do is known without Responses.
	Deciders []string
	// ExtendableUntil is the open stage's deadline while it has an
	// extension left to give (approval.Request.ExtendableUntil), or nil.
	ExtendableUntil *time.Time
	// Job is the AWX job the request launched, or nil.
	Job           *JobRef
	FailureReason string
	// Denial is the rejection shown to the requester (JSON), or nil.
	Denial json.RawMessage
	// ChangesRequested is what the requester is told when an approver
	// asked for changes (JSON), or nil.
	ChangesRequested json.RawMessage
	// ParentID is the request this one resubmits, or nil; Children are
	// the requests that resubmit it, oldest first (at most one today).
	ParentID   *int64
	Children   []int64
	WorkflowID string
	// StateSeq is the sequence number of the workflow state last recorded;
	// 0 until the workflow records its first state.
	StateSeq  int64
	Created   time.Time
	Modified  time.Time
	Finished  *time.Time
	Stages    []StageState
	Responses []Response
}

// JobRef identifies the AWX job a request launched. Type is JobTypeJob or
// JobTypeWorkflowJob; Status is AWX's own status, empty until known.
type JobRef struct {
	Type   string
	ID     int64
	Status string
	URL    string
}

// StageState is one stage of a request with its progress. Status is one of
// waiting, pending, approved, rejected, expired, canceled, skipped.
type StageState struct {
	Position int
	Name     string
	// ApproverTeamID is nil when the organization's admins decide, and also
	// once the team has been deleted; ApproverTeamName keeps its name.
	ApproverTeamID   *int64
	ApproverTeamName string
	MinApprovers     int
	DenialMessage    string
	Timeout          time.Duration
	ReminderInterval time.Duration
	// RequireRecentLogin: see approval.Stage; 0 means none.
	RequireRecentLogin time.Duration
	// EscalationTeamIDs are the teams the stage was escalated to, in
	// order (approval.StageState.EscalationTeams); nil when none.
	EscalationTeamIDs []int64
	Status            string
	OpenedAt          *time.Time
	Deadline          *time.Time
	DecidedAt         *time.Time
}

// Response is an approval, a rejection or a comment on a request. Kind is
// approve, reject or comment; StagePosition is nil for a comment made while
// no stage was open.
type Response struct {
	StagePosition *int
	Username      string
	Kind          string
	Text          string
	Created       time.Time
	// Channel is how it arrived (api, portal, cli; empty for responses
	// recorded before channels were); Unverified marks a CLI decision sent
	// without a proof of its user.
	Channel    string
	Unverified bool
	// SignedInAt is the decider's sign-in the decision was judged by, when
	// the API vouched for one.
	SignedInAt *time.Time
	// OnBehalfOf is the delegator whose right the decider used (empty: their
	// own right).
	OnBehalfOf string
}

// requestRow is a service_requests row as scanned; requestColumns selects it.
type requestRow struct {
	ID                int64          `db:"id"`
	OrganizationID    int64          `db:"organization_id"`
	CatalogItemID     int64          `db:"catalog_item_id"`
	CatalogItemName   string         `db:"catalog_item_name"`
	RequesterID       int64          `db:"requester_id"`
	RequesterUsername string         `db:"requester_username"`
	Justification     string         `db:"justification"`
	ExtraVars         []byte         `db:"extra_vars"`
	NodeSurveyData    []byte         `db:"node_survey_data"`
	Status            string         `db:"status"`
	CurrentStage      *int           `db:"current_stage"`
	PendingApprovers  pq.StringArray `db:"pending_approvers"`
	Participants      pq.StringArray `db:"participants"`
	Deciders          pq.StringArray `db:"deciders"`
	JobType           *string        `db:"job_type"`
	JobID             *int64         `db:"job_id"`
	JobStatus         string         `db:"job_status"`
	JobURL            string         `db:"job_url"`
	FailureReason     string         `db:"failure_reason"`
	Denial            []byte         `db:"denial"`
	ChangesRequested  []byte         `db:"changes_requested"`
	ParentID          *int64         `db:"parent_id"`
	Children          pq.Int64Array  `db:"children"`
	WorkflowID        string         `db:"workflow_id"`
	StateSeq          int64          `db:"state_seq"`
	Created           time.Time      `db:"created"`
	Modified          time.Time      `db:"modified"`
	Finished          *time.Time     `db:"finished"`
	ExtendableUntil   *time.Time     `db:"extendable_until"`
}

// requestColumns select a row with its deciders, as lists show them;
// rowColumns select it without, for getRequest, which reads the
// responses the deciders come from anyway.
const (
	rowColumns = `id, organization_id, catalog_item_id, catalog_item_name, requester_id,
	requester_username, justification, extra_vars, node_survey_data, status, current_stage,
	pending_approvers, participants, job_type, job_id, job_status, job_url, failure_reason, denial,
	changes_requested, parent_id, workflow_id, state_seq, created, modified, finished, extendable_until,
	ARRAY(SELECT c.id FROM service_requests c WHERE c.parent_id = service_requests.id ORDER BY c.id) AS children`
	requestColumns = rowColumns + `,
	ARRAY(SELECT d.username FROM service_request_responses d
		WHERE d.request_id = service_requests.id AND d.kind <> 'comment' ORDER BY d.created, d.id) AS deciders`
)

// scanTargets are where a row of requestColumns goes, in their order
// (rowColumns: all but the last). Lists scan their rows through them
// (scanRequests): sqlx's mapping by reflection cost more per row than the
// scan, and its growing slice of rows was a page's largest allocation.
func (r *requestRow) scanTargets() []any {
	return []any{&r.ID, &r.OrganizationID, &r.CatalogItemID, &r.CatalogItemName, &r.RequesterID,
		&r.RequesterUsername, &r.Justification, &r.ExtraVars, &r.NodeSurveyData, &r.Status, &r.CurrentStage,
		&r.PendingApprovers, &r.Participants, &r.JobType, &r.JobID, &r.JobStatus, &r.JobURL, &r.FailureReason, &r.Denial,
		&r.ChangesRequested, &r.ParentID, &r.WorkflowID, &r.StateSeq, &r.Created, &r.Modified, &r.Finished,
		&r.ExtendableUntil, &r.Children, &r.Deciders}
}

// scanRequests reads rows of lead's columns then requestColumns into
// requests, room made for sizeHint (up to a page's most), and closes rows.
// Each row's lead columns are scanned into lead, so the last row's stay
// there.
func scanRequests(rows *sql.Rows, sizeHint int, lead ...any) ([]Request, error) {
	defer rows.Close()
	out := make([]Request, 0, min(max(sizeHint, 0), MaxPageSize))
	var r requestRow
	targets := slices.Concat(lead, r.scanTargets())
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			return nil, err
		}
		out = append(out, r.request())
	}
	return out, rows.Err()
}

func (r requestRow) request() Request {
	req := Request{
		ID:                r.ID,
		OrganizationID:    r.OrganizationID,
		CatalogItemID:     r.CatalogItemID,
		CatalogItemName:   r.CatalogItemName,
		RequesterID:       r.RequesterID,
		RequesterUsername: r.RequesterUsername,
		Justification:     r.Justification,
		ExtraVars:         json.RawMessage(r.ExtraVars),
		NodeSurveyData:    json.RawMessage(r.NodeSurveyData),
		Status:            r.Status,
		CurrentStage:      r.CurrentStage,
		PendingApprovers:  nonNil(r.PendingApprovers),
		Participants:      nonNil(r.Participants),
		Deciders:          nonNil(r.Deciders),
		FailureReason:     r.FailureReason,
		ParentID:          r.ParentID,
		Children:          append([]int64{}, r.Children...),
		WorkflowID:        r.WorkflowID,
		StateSeq:          r.StateSeq,
		Created:           r.Created,
		Modified:          r.Modified,
		Finished:          r.Finished,
		ExtendableUntil:   r.ExtendableUntil,
	}
	if r.Denial != nil {
		req.Denial = json.RawMessage(r.Denial)
	}
	if r.ChangesRequested != nil {
		req.ChangesRequested = json.RawMessage(r.ChangesRequested)
	}
	if r.JobType != nil && r.JobID != nil {
		req.Job = &JobRef{Type: *r.JobType, ID: *r.JobID, Status: r.JobStatus, URL: r.JobURL}
	}
	return req
}

// stageRow is a service_request_stages row, for scanning and for inserts.
type stageRow struct {
	RequestID               int64         `db:"request_id" json:"request_id"`
	Position                int           `db:"position" json:"position"`
	Name                    string        `db:"name" json:"name"`
	ApproverTeamID          *int64        `db:"approver_team_id" json:"approver_team_id"`
	ApproverTeamName        string        `db:"approver_team_name" json:"approver_team_name"`
	MinApprovers            int           `db:"min_approvers" json:"min_approvers"`
	DenialMessage           string        `db:"denial_message" json:"denial_message"`
	TimeoutSeconds          int64         `db:"timeout_seconds" json:"timeout_seconds"`
	ReminderIntervalSeconds int64         `db:"reminder_interval_seconds" json:"reminder_interval_seconds"`
	RecentLoginSeconds      int64         `db:"require_recent_login_seconds" json:"require_recent_login_seconds"`
	EscalationTeamIDs       pq.Int64Array `db:"escalation_team_ids" json:"escalation_team_ids"`
	Status                  string        `db:"status" json:"status"`
	OpenedAt                *time.Time    `db:"opened_at" json:"opened_at"`
	Deadline                *time.Time    `db:"deadline" json:"deadline"`
	DecidedAt               *time.Time    `db:"decided_at" json:"decided_at"`
}

func newStageRow(requestID int64, st StageState) stageRow {
	return stageRow{
		RequestID:               requestID,
		Position:                st.Position,
		Name:                    st.Name,
		ApproverTeamID:          st.ApproverTeamID,
		ApproverTeamName:        st.ApproverTeamName,
		MinApprovers:            st.MinApprovers,
		DenialMessage:           st.DenialMessage,
		TimeoutSeconds:          int64(st.Timeout / time.Second),
		ReminderIntervalSeconds: int64(st.ReminderInterval / time.Second),
		RecentLoginSeconds:      int64(st.RequireRecentLogin / time.Second),
		EscalationTeamIDs:       pq.Int64Array(append([]int64{}, st.EscalationTeamIDs...)),
		Status:                  st.Status,
		OpenedAt:                st.OpenedAt,
		Deadline:                st.Deadline,
		DecidedAt:               st.DecidedAt,
	}
}

func (r stageRow) stage() StageState {
	var escalated []int64
	if len(r.EscalationTeamIDs) > 0 {
		escalated = []int64(r.EscalationTeamIDs)
	}
	return StageState{
		EscalationTeamIDs:  escalated,
		Position:           r.Position,
		Name:               r.Name,
		ApproverTeamID:     r.ApproverTeamID,
		ApproverTeamName:   r.ApproverTeamName,
		MinApprovers:       r.MinApprovers,
		DenialMessage:      r.DenialMessage,
		Timeout:            time.Duration(r.TimeoutSeconds) * time.Second,
		ReminderInterval:   time.Duration(r.ReminderIntervalSeconds) * time.Second,
		RequireRecentLogin: time.Duration(r.RecentLoginSeconds) * time.Second,
		Status:             r.Status,
		OpenedAt:           r.OpenedAt,
		Deadline:           r.Deadline,
		DecidedAt:          r.DecidedAt,
	}
}

const stageColumns = `request_id, position, name, approver_team_id, approver_team_name,
	min_approvers, denial_message, timeout_seconds, reminder_interval_seconds, require_recent_login_seconds, status,
	opened_at, deadline, decided_at, escalation_team_ids`

// responseRow is a service_request_responses row, for scanning and for
// the JSON a recording sends: a Response with its request, under its
// columns' names.
type responseRow struct {
	RequestID int64 `db:"request_id" json:"request_id"`
	responseFields
}

// responseFields are Response's fields with their columns' names, in
// Response's order, so that the two convert into each other: a field
// added to one and not the other does not compile.
type responseFields struct {
	StagePosition *int       `db:"stage_position" json:"stage_position"`
	Username      string     `db:"username" json:"username"`
	Kind          string     `db:"kind" json:"kind"`
	Text          string     `db:"text" json:"text"`
	Created       time.Time  `db:"created" json:"created"`
	Channel       string     `db:"channel" json:"channel"`
	Unverified    bool       `db:"unverified" json:"unverified"`
	SignedInAt    *time.Time `db:"signed_in_at" json:"signed_in_at"`
	OnBehalfOf    string     `db:"on_behalf_of" json:"on_behalf_of"`
}

func newResponseRow(requestID int64, r Response) responseRow {
	return responseRow{RequestID: requestID, responseFields: responseFields(r)}
}

func (r responseRow) response() Response { return Response(r.responseFields) }

const responseColumns = `request_id, stage_position, username, kind, text, created, channel, unverified, signed_in_at, on_behalf_of`

// CreateRequest records a newly submitted request, in status
// pending_approval with state sequence 0, and its stages in status waiting,
// in one transaction. Its WorkflowID is "service-request-<id>". An unknown
// organization, requester or approver team is ErrInvalidReference; a
// malformed value (see NewRequest, NewStage) is ErrInvalid.
func (s *Store) CreateRequest(ctx context.Context, nr NewRequest) (Request, error) {
	reads, err := s.requestReads(ctx)
	if err != nil {
		return Request{}, wrap("create request", err)
	}
	var req Request
	err = s.WithTx(ctx, func(tx *sqlx.Tx) error {
		const q = `INSERT INTO service_requests (organization_id, catalog_item_id, catalog_item_name,
			requester_id, requester_username, justification, extra_vars, node_survey_data,
			current_stage, pending_approvers, participants, parent_id, extendable_until)
		VALUES (:organization_id, :catalog_item_id, :catalog_item_name,
			:requester_id, :requester_username, :justification,
			CAST(:extra_vars AS jsonb), CAST(:node_survey_data AS jsonb),
			:current_stage, :pending_approvers, :participants, :parent_id, :extendable_until)
		RETURNING id`
		var id int64
		err := namedGet(ctx, tx, &id, q, map[string]any{
			"organization_id":    nr.OrganizationID,
			"catalog_item_id":    nr.CatalogItemID,
			"catalog_item_name":  nr.CatalogItemName,
			"requester_id":       nr.RequesterID,
			"requester_username": nr.RequesterUsername,
			"justification":      nr.Justification,
			"extra_vars":         jsonObject(nr.ExtraVars),
			"node_survey_data":   jsonObject(nr.NodeSurveyData),
			"current_stage":      nr.CurrentStage,
			"pending_approvers":  pq.StringArray(nonNil(nr.PendingApprovers)),
			"participants":       pq.StringArray(nonNil(slices.Compact(slices.Sorted(slices.Values(nr.PendingApprovers))))),
			"parent_id":          nr.ParentID,
			"extendable_until":   nr.ExtendableUntil,
		})
		if err != nil {
			return err
		}
		rows := make([]stageRow, len(nr.Stages))
		for i, st := range nr.Stages {
			rows[i] = newStageRow(id, StageState{
				Position:           i,
				Name:               st.Name,
				ApproverTeamID:     st.ApproverTeamID,
				ApproverTeamName:   st.ApproverTeamName,
				MinApprovers:       st.MinApprovers,
				DenialMessage:      st.DenialMessage,
				Timeout:            st.Timeout,
				ReminderInterval:   st.ReminderInterval,
				RequireRecentLogin: st.RequireRecentLogin,
				Status:             "waiting",
				OpenedAt:           st.OpenedAt,
				Deadline:           st.Deadline,
			})
			if st.OpenedAt != nil {
				rows[i].Status = "pending"
			}
		}
		if err := insertNewStages(ctx, tx, rows); err != nil {
			return err
		}
		req, err = reads.get(ctx, tx, id)
		return err
	})
	return req, wrap("create request", err)
}

// insertNewStages inserts the stages of a new request; an unknown approver
// team is a foreign-key error.
func insertNewStages(ctx context.Context, e sqlx.ExtContext, rows []stageRow) error {
	if len(rows) == 0 {
		return nil
	}
	const q = `INSERT INTO service_request_stages (` + stageColumns + `)
		VALUES (:request_id, :position, :name, :approver_team_id, :approver_team_name,
			:min_approvers, :denial_message, :timeout_seconds, :reminder_interval_seconds, :require_recent_login_seconds, :status,
			:opened_at, :deadline, :decided_at, :escalation_team_ids)`
	_, err := sqlx.NamedExecContext(ctx, e, q, rows)
	return err
}

// GetRequest returns a request with its stages (by position) and responses
// (oldest first), all from the same recorded state; ErrNotFound when there is
// no such request.
func (s *Store) GetRequest(ctx context.Context, id int64) (Request, error) {
	reads, err := s.requestReads(ctx)
	if err != nil {
		return Request{}, wrap("get request", err)
	}
	var req Request
	err = withTx(ctx, s.db, readOnly, func(tx *sqlx.Tx) error {
		var err error
		req, err = reads.get(ctx, tx, id)
		return err
	})
	return req, wrap("get request", err)
}

// requestReads are the statements that read a request, prepared (see
// prepareAll): a request is read at every decision and launch, and these
// lookups cost PostgreSQL more to plan than to run.
type requestReads struct{ row, stages, responses *sqlx.Stmt }

func (s *Store) requestReads(ctx context.Context) (requestReads, error) {
	sts, err := s.prepareAll(ctx,
		`SELECT `+rowColumns+` FROM service_requests WHERE id = $1`,
		`SELECT `+stageColumns+` FROM service_request_stages WHERE request_id = $1 ORDER BY position`,
		`SELECT `+responseColumns+` FROM service_request_responses WHERE request_id = $1 ORDER BY created, id`)
	if err != nil {
		return requestReads{}, err
	}
	return requestReads{row: sts[0], stages: sts[1], responses: sts[2]}, nil
}

// get reads request id, its stages and its responses in tx.
func (r requestReads) get(ctx context.Context, tx *sqlx.Tx, id int64) (Request, error) {
	var row requestRow
	if err := tx.StmtxContext(ctx, r.row).GetContext(ctx, &row, id); err != nil {
		return Request{}, err
	}
	req := row.request()

	var stages []stageRow
	if err := tx.StmtxContext(ctx, r.stages).SelectContext(ctx, &stages, id); err != nil {
		return Request{}, err
	}
	req.Stages = make([]StageState, len(stages))
	for i, st := range stages {
		req.Stages[i] = st.stage()
	}

	var responses []responseRow
	if err := tx.StmtxContext(ctx, r.responses).SelectContext(ctx, &responses, id); err != nil {
		return Request{}, err
	}
	req.Responses = make([]Response, len(responses))
	for i, r := range responses {
		req.Responses[i] = r.response()
		if r.Kind != "comment" {
			req.Deciders = append(req.Deciders, r.Username)
		}
	}

	return req, nil
}

// DeleteRequest deletes a request with its stages and responses.
// ErrNotFound when there is no such request; ErrConflict when it has launched
// an AWX job, because the record of automation that ran is kept.
func (s *Store) DeleteRequest(ctx context.Context, id int64) error {
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		// The row lock taken here orders this delete against a concurrent
		// ClaimJob: either the claim sees no request or the delete sees the job.
		const q = `SELECT job_id FROM service_requests WHERE id = $1 FOR UPDATE`
		var jobID *int64
		if err := tx.GetContext(ctx, &jobID, q, id); err != nil {
			return err
		}
		if jobID != nil {
			return fmt.Errorf("%w: request %d launched AWX job %d; its record is kept", ErrConflict, id, *jobID)
		}
		const del = `DELETE FROM service_requests WHERE id = $1`
		_, err := tx.ExecContext(ctx, del, id)
		return err
	})
	return wrap("delete request", err)
}

// pendingForQuery and pendingForCountQuery are ListPendingFor's SQL. They
// sit at package level only so that a test can EXPLAIN exactly this text.
// They read the inbox table (service_request_inbox, kept by a trigger from
// status and pending_approvers): a page is a walk down the user's index
// entries joined to the requests it shows, and the size one row of
// service_request_inbox_counts, which the same trigger keeps, whatever
// the inbox's size.
// A page carries its inbox's size in each row (pendingForTotal), read in
// the same statement, so a page and its size agree and cost one round
// trip; only an empty page past the end asks for the size again.
const (
	pendingForCountQuery = `SELECT coalesce((SELECT pending FROM service_request_inbox_counts WHERE username = $1), 0)`
	pendingForTotal      = `(` + pendingForCountQuery + `) AS total, `
	pendingForFrom       = ` FROM service_request_inbox i JOIN service_requests ON service_requests.id = i.request_id
		WHERE i.username = $1`
	pendingForQuery = pendingByIDSelect + ` DESC LIMIT $2 OFFSET $3` + pendingByIDJoin + ` DESC`
)

// pendingByIDSelect, the page's order and bounds, pendingByIDJoin and the
// order again make an inbox page in the order of request ids. The page's
// ids come from the user's index entries alone and only they are joined
// to their rows: a page deep in the inbox skips entries of the index,
// where joining the whole inbox to its requests to reach it took 70 ms at
// 3,000.
const (
	pendingByIDSelect = `SELECT ` + pendingForTotal + requestColumns + `
		FROM (SELECT request_id FROM service_request_inbox WHERE username = $1 ORDER BY request_id`
	pendingByIDJoin = `) i JOIN service_requests ON service_requests.id = i.request_id
		ORDER BY id`
)

// pendingQuery is an inbox page's statement: its text, its arguments
// (the username, $1, and the page's bounds unless the text bears them), the
// page's bounds (limit 0: none), and whether it runs prepared (see
// prepare). Its rows are the inbox's size, then requestColumns.
type pendingQuery struct {
	text          string
	args          []any
	limit, offset int
	prepared      bool
}

// pendingPage runs q for username and answers the page and the inbox's
// size.
func (s *Store) pendingPage(ctx context.Context, q pendingQuery, username string) ([]Request, int, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if q.prepared {
		var st *sqlx.Stmt
		if st, err = s.prepare(ctx, q.text); err == nil {
			rows, err = st.QueryContext(ctx, q.args...)
		}
	} else {
		rows, err = s.db.QueryContext(ctx, q.text, q.args...)
	}
	var total int
	var out []Request
	if err == nil {
		out, err = scanRequests(rows, q.limit, &total)
	}
	if err != nil {
		return nil, 0, wrap("list pending approvals", err)
	}
	if len(out) == 0 && q.offset > 0 {
		if err := s.db.GetContext(ctx, &total, pendingForCountQuery, username); err != nil {
			return nil, 0, wrap("list pending approvals", err)
		}
	}
	return out, total, nil
}

// ListPendingFor is username's approval inbox: requests pending approval
// whose open stage username may decide and has not, newest (highest id)
// first, with the total number of such requests. limit <= 0 means no limit;
// a negative offset counts as 0. Stages and Responses are left nil.
func (s *Store) ListPendingFor(ctx context.Context, username string, limit, offset int) ([]Request, int, error) {
	offset = max(offset, 0)
	return s.pendingPage(ctx, pendingQuery{text: pendingForQuery, args: []any{username, limitArg(limit), offset},
		limit: limit, offset: offset, prepared: true}, username)
}

// limitArg is a LIMIT parameter: NULL means no limit.
func limitArg(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
}

// jsonObject is a JSON parameter that defaults to an empty object (a nil Go
// map marshals to null). It is passed as text: the driver would send a
// []byte as bytea.
func jsonObject(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "{}"
	}
	return string(raw)
}

// jsonOrNull is a nullable JSON parameter: empty or JSON null is SQL NULL.
func jsonOrNull(raw json.RawMessage) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return string(raw)
}
