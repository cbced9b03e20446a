package storefake

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/countersign/countersign/store"
)

// The two projection methods below let tests move a request through its
// lifecycle as the worker would, so code that reads requests in every
// status can be tested on the fake.

var (
	stageStatuses = []string{"waiting", "pending", "approved", "rejected", "expired", "canceled", "skipped", "changes_requested"}
	responseKinds = []string{"approve", "reject", "comment", "request_changes"}
	jobTypes      = []string{store.JobTypeJob, store.JobTypeWorkflowJob}
)

// RecordRequestState is store.Store.RecordRequestState. Like the store's
// transaction, a call that fails changes nothing.
func (s *Store) RecordRequestState(ctx context.Context, st store.RequestState) (bool, error) {
	const op = "record request state"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "RecordRequestState", op); err != nil {
		return false, err
	}
	r, ok := s.requests[st.ID]
	if !ok {
		return false, notFound(op)
	}
	participants := r.Participants
	if len(st.Participants) > 0 {
		participants = slices.Compact(slices.Sorted(slices.Values(append(cloneSlice(r.Participants), st.Participants...))))
	}
	if r.StateSeq >= st.Seq {
		r.Participants = participants
		return false, nil
	}
	if st.Job != nil && r.Job != nil && (r.Job.Type != st.Job.Type || r.Job.ID != st.Job.ID) {
		return false, fail(op, store.ErrConflict, "request %d owns %s %d, not %s %d",
			st.ID, r.Job.Type, r.Job.ID, st.Job.Type, st.Job.ID)
	}
	next, err := s.recorded(op, r, st)
	if err != nil {
		return false, err
	}
	next.Participants = participants
	s.requests[st.ID] = next
	return true, nil
}

// recorded is request r after snapshot st, or the error the store's
// UPDATE and INSERTs would meet.
func (s *Store) recorded(op string, r *store.Request, st store.RequestState) (*store.Request, error) {
	var denial json.RawMessage
	if len(st.Denial) > 0 && string(st.Denial) != "null" {
		var err error
		if denial, err = jsonb(st.Denial); err != nil {
			return nil, fail(op, store.ErrInvalid, "%v", err)
		}
	}
	var changes json.RawMessage
	if len(st.ChangesRequested) > 0 && string(st.ChangesRequested) != "null" {
		var err error
		if changes, err = jsonb(st.ChangesRequested); err != nil {
			return nil, fail(op, store.ErrInvalid, "%v", err)
		}
	}
	switch {
	case !slices.Contains(requestStatuses, st.Status):
		return nil, fail(op, store.ErrInvalid, "service_requests_status_check")
	case st.CurrentStage != nil && *st.CurrentStage < 0:
		return nil, fail(op, store.ErrInvalid, "service_requests_current_stage_check")
	case st.Job != nil && !slices.Contains(jobTypes, st.Job.Type):
		return nil, fail(op, store.ErrInvalid, "service_requests_job_type_check")
	}
	if st.Job != nil && s.jobOwner(st.Job.Type, st.Job.ID, r.ID) {
		return nil, fail(op, store.ErrConflict, "service_requests_job_key")
	}
	next := request(r, true)
	next.Status = st.Status
	next.CurrentStage = clonePtr(st.CurrentStage)
	next.PendingApprovers = nonNil(cloneSlice(st.PendingApprovers))
	next.ExtendableUntil = rounded(st.ExtendableUntil)
	next.FailureReason = st.FailureReason
	next.Denial = denial
	next.ChangesRequested = changes
	if st.Job != nil {
		job := *st.Job
		next.Job = &job
	}
	next.Modified = s.now()
	if !st.Modified.IsZero() {
		next.Modified = micro(st.Modified)
	}
	next.Finished = rounded(st.Finished)
	next.StateSeq = st.Seq

	next.Stages = make([]store.StageState, len(st.Stages))
	for i, stage := range st.Stages {
		switch {
		case stage.Position < 0 || stage.MinApprovers < 1 || stage.Timeout < 0 || stage.ReminderInterval < 0 || stage.RequireRecentLogin < 0 ||
			!slices.Contains(stageStatuses, stage.Status):
			return nil, fail(op, store.ErrInvalid, "service_request_stages")
		case slices.ContainsFunc(st.Stages[:i], func(o store.StageState) bool { return o.Position == stage.Position }):
			return nil, fail(op, store.ErrConflict, "service_request_stages_pkey")
		}
		// The plan was frozen at submission; a team deleted since is
		// stored as no team, as the store does.
		if stage.ApproverTeamID != nil && s.teams[*stage.ApproverTeamID] == nil {
			stage.ApproverTeamID = nil
		}
		stage.ApproverTeamID = clonePtr(stage.ApproverTeamID)
		stage.EscalationTeamIDs = slices.Clone(stage.EscalationTeamIDs)
		stage.Timeout = stage.Timeout / time.Second * time.Second
		stage.ReminderInterval = stage.ReminderInterval / time.Second * time.Second
		stage.RequireRecentLogin = stage.RequireRecentLogin / time.Second * time.Second
		stage.OpenedAt, stage.Deadline, stage.DecidedAt = rounded(stage.OpenedAt), rounded(stage.Deadline), rounded(stage.DecidedAt)
		next.Stages[i] = stage
	}
	slices.SortFunc(next.Stages, func(a, b store.StageState) int { return cmp.Compare(a.Position, b.Position) })

	next.Responses = make([]store.Response, len(st.Responses))
	for i, resp := range st.Responses {
		if (resp.StagePosition != nil && *resp.StagePosition < 0) || !slices.Contains(responseKinds, resp.Kind) {
			return nil, fail(op, store.ErrInvalid, "service_request_responses")
		}
		resp.StagePosition = clonePtr(resp.StagePosition)
		resp.Created = micro(resp.Created)
		resp.SignedInAt = rounded(resp.SignedInAt)
		next.Responses[i] = resp
	}
	// Read back by created, then in the order recorded.
	slices.SortStableFunc(next.Responses, func(a, b store.Response) int { return a.Created.Compare(b.Created) })
	return &next, nil
}

// jobOwner reports whether a request other than requestID owns the job.
func (s *Store) jobOwner(jobType string, jobID, requestID int64) bool {
	for _, r := range s.requests {
		if r.ID != requestID && r.Job != nil && r.Job.Type == jobType && r.Job.ID == jobID {
			return true
		}
	}
	return false
}

func rounded(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := micro(*t)
	return &v
}

// ClaimJob is store.Store.ClaimJob.
func (s *Store) ClaimJob(ctx context.Context, requestID int64, jobType string, jobID int64) error {
	const op = "claim job"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ClaimJob", op); err != nil {
		return err
	}
	r, ok := s.requests[requestID]
	if !ok {
		return notFound(op)
	}
	if r.Job != nil {
		if r.Job.Type == jobType && r.Job.ID == jobID {
			return nil
		}
		return fail(op, store.ErrConflict, "request %d already owns %s %d", requestID, r.Job.Type, r.Job.ID)
	}
	if !slices.Contains(jobTypes, jobType) {
		return fail(op, store.ErrInvalid, "service_requests_job_type_check")
	}
	if s.jobOwner(jobType, jobID, requestID) {
		return fail(op, store.ErrJobTaken, "%s %d", jobType, jobID)
	}
	r.Job = &store.JobRef{Type: jobType, ID: jobID}
	return nil
}
