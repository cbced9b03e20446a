package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/store"
)

func TestStore_CreateRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)

	t.Run("round trip through GetRequest", func(t *testing.T) {
		created := f.newRequest(t)
		got, err := f.s.GetRequest(ctx, created.ID)
		require.NoError(t, err)
		assert.Equal(t, created, got)

		assert.Equal(t, fmt.Sprintf("service-request-%d", got.ID), got.WorkflowID)
		assert.Equal(t, "pending_approval", got.Status)
		assert.Zero(t, got.StateSeq)
		assert.Equal(t, f.org.ID, got.OrganizationID)
		assert.Equal(t, int64(7), got.CatalogItemID)
		assert.Equal(t, "Restart service", got.CatalogItemName)
		assert.Equal(t, f.users["alice"].ID, got.RequesterID)
		assert.Equal(t, "alice", got.RequesterUsername)
		assert.Equal(t, "nginx is stuck", got.Justification)
		assert.JSONEq(t, `{"service": "nginx", "password": "$encrypted$"}`, string(got.ExtraVars))
		assert.JSONEq(t, `{}`, string(got.NodeSurveyData))
		assert.Nil(t, got.CurrentStage)
		assert.Empty(t, got.PendingApprovers)
		assert.Nil(t, got.Job)
		assert.Nil(t, got.Denial)
		assert.Nil(t, got.Finished)
		assert.False(t, got.Created.IsZero())
		assert.Empty(t, got.Responses)

		assert.Equal(t, []store.StageState{
			{
				Position: 0, Name: "SRE", ApproverTeamID: &f.sre.ID, ApproverTeamName: "sre", MinApprovers: 2,
				DenialMessage: "Talk to SRE first", Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour,
				Status: "waiting",
			},
			{Position: 1, Name: "Admins", MinApprovers: 1, Timeout: time.Hour, Status: "waiting"},
		}, got.Stages)
	})

	t.Run("ids and workflow ids are distinct", func(t *testing.T) {
		a, b := f.newRequest(t), f.newRequest(t)
		assert.NotEqual(t, a.ID, b.ID)
		assert.NotEqual(t, a.WorkflowID, b.WorkflowID)
	})

	t.Run("without stages", func(t *testing.T) {
		in := f.newRequestInput()
		in.Stages = nil
		in.NodeSurveyData = []byte(`{"node-1": {"size": "s"}}`)
		req, err := f.s.CreateRequest(ctx, in)
		require.NoError(t, err)
		assert.Empty(t, req.Stages)
		assert.JSONEq(t, `{"node-1": {"size": "s"}}`, string(req.NodeSurveyData))
	})

	countRequests := func(t *testing.T) int {
		var n int
		require.NoError(t, f.s.DB().Get(&n, `SELECT count(*) FROM service_requests`))
		return n
	}

	for name, tc := range map[string]struct {
		change func(*store.NewRequest)
		want   error
	}{
		"unknown requester":      {func(r *store.NewRequest) { r.RequesterID = 999999 }, store.ErrInvalidReference},
		"unknown organization":   {func(r *store.NewRequest) { r.OrganizationID = 999999 }, store.ErrInvalidReference},
		"unknown approver team":  {func(r *store.NewRequest) { r.Stages[1].ApproverTeamID = ptr(int64(999999)) }, store.ErrInvalidReference},
		"stage without approver": {func(r *store.NewRequest) { r.Stages[1].MinApprovers = 0 }, store.ErrInvalid},
		"extra_vars not object":  {func(r *store.NewRequest) { r.ExtraVars = []byte(`[1, 2]`) }, store.ErrInvalid},
		"extra_vars not JSON":    {func(r *store.NewRequest) { r.ExtraVars = []byte(`{oops`) }, store.ErrInvalid},
	} {
		t.Run("refuses "+name+" and keeps nothing", func(t *testing.T) {
			before := countRequests(t)
			in := f.newRequestInput()
			tc.change(&in)
			_, err := f.s.CreateRequest(ctx, in)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, countRequests(t), "the request row was rolled back with its stages")
		})
	}
}

func TestStore_GetRequest(t *testing.T) {
	t.Parallel()
	s := pgtest.NewStore(t)
	_, err := s.GetRequest(context.Background(), 12345)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestStore_DeleteRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)

	req := f.newRequest(t)
	applied, err := f.s.RecordRequestState(ctx, snapshot(f, req.ID, 1))
	require.NoError(t, err)
	require.True(t, applied)

	require.NoError(t, f.s.DeleteRequest(ctx, req.ID))
	_, err = f.s.GetRequest(ctx, req.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	var leftovers int
	require.NoError(t, f.s.DB().Get(&leftovers, `SELECT
		(SELECT count(*) FROM service_request_stages WHERE request_id = $1) +
		(SELECT count(*) FROM service_request_responses WHERE request_id = $1)`, req.ID))
	assert.Zero(t, leftovers, "stages and responses go with the request")

	assert.ErrorIs(t, f.s.DeleteRequest(ctx, req.ID), store.ErrNotFound)

	t.Run("a request that launched a job is kept", func(t *testing.T) {
		launched := f.newRequest(t)
		require.NoError(t, f.s.ClaimJob(ctx, launched.ID, store.JobTypeJob, 42))
		assert.ErrorIs(t, f.s.DeleteRequest(ctx, launched.ID), store.ErrConflict)
		_, err := f.s.GetRequest(ctx, launched.ID)
		assert.NoError(t, err)
	})
}

// snapshot is the state of request id after transition seq: seq 1 opens
// the SRE stage with bob and carol pending; seq 2 records bob's approval;
// seq 3 approves the request and runs AWX job 1000+id.
func snapshot(f *fixture, id, seq int64) store.RequestState {
	opened := ts("2030-01-02T03:04:05.123456Z")
	st := store.RequestState{
		ID:               id,
		Seq:              seq,
		Status:           "pending_approval",
		CurrentStage:     ptr(0),
		PendingApprovers: []string{"bob", "carol"},
		Modified:         opened,
		Stages: []store.StageState{
			{
				Position: 0, Name: "SRE", ApproverTeamID: &f.sre.ID, ApproverTeamName: "sre", MinApprovers: 2,
				DenialMessage: "Talk to SRE first", Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour,
				Status: "pending", OpenedAt: &opened, Deadline: ptr(opened.Add(72 * time.Hour)),
			},
			{Position: 1, Name: "Admins", MinApprovers: 1, Timeout: time.Hour, Status: "waiting"},
		},
		Responses: []store.Response{
			{StagePosition: nil, Username: "alice", Kind: "comment", Text: "please hurry", Created: opened},
		},
	}
	if seq >= 2 {
		at := opened.Add(time.Minute)
		st.PendingApprovers = []string{"carol"}
		st.Modified = at
		st.Responses = append(st.Responses,
			store.Response{StagePosition: ptr(0), Username: "bob", Kind: "approve", Text: "ok", Created: at})
	}
	if seq >= 3 {
		at := opened.Add(2 * time.Minute)
		st.Status = "running"
		st.CurrentStage = nil
		st.PendingApprovers = nil
		st.Modified = at
		st.Stages[0].Status, st.Stages[0].DecidedAt = "approved", &at
		st.Stages[1].Status, st.Stages[1].OpenedAt, st.Stages[1].DecidedAt = "approved", &at, &at
		st.Responses = append(st.Responses,
			store.Response{StagePosition: ptr(0), Username: "carol", Kind: "approve", Created: at},
			store.Response{StagePosition: ptr(1), Username: "erin", Kind: "approve", Text: "go", Created: at})
		jobID := 1000 + id
		st.Job = &store.JobRef{
			Type: store.JobTypeJob, ID: jobID, Status: "running",
			URL: fmt.Sprintf("https://awx.example.com/#/jobs/playbook/%d", jobID),
		}
	}
	return st
}

// assertMirrors checks that the stored request is exactly snapshot st.
func assertMirrors(t *testing.T, st store.RequestState, got store.Request) {
	t.Helper()
	assert.Equal(t, st.Seq, got.StateSeq)
	assert.Equal(t, st.Status, got.Status)
	assert.Equal(t, st.CurrentStage, got.CurrentStage)
	if len(st.PendingApprovers) == 0 {
		assert.Empty(t, got.PendingApprovers)
	} else {
		assert.Equal(t, st.PendingApprovers, got.PendingApprovers)
	}
	assert.Equal(t, st.FailureReason, got.FailureReason)
	assert.Equal(t, st.Job, got.Job)
	assert.True(t, st.Modified.Equal(got.Modified), "modified %v, want %v", got.Modified, st.Modified)
	require.Len(t, got.Stages, len(st.Stages))
	for i := range st.Stages {
		want, have := st.Stages[i], got.Stages[i]
		assertSameTime(t, want.OpenedAt, have.OpenedAt)
		assertSameTime(t, want.Deadline, have.Deadline)
		assertSameTime(t, want.DecidedAt, have.DecidedAt)
		want.OpenedAt, want.Deadline, want.DecidedAt = nil, nil, nil
		have.OpenedAt, have.Deadline, have.DecidedAt = nil, nil, nil
		assert.Equal(t, want, have)
	}
	require.Len(t, got.Responses, len(st.Responses))
	for i := range st.Responses {
		want, have := st.Responses[i], got.Responses[i]
		assert.True(t, want.Created.Equal(have.Created))
		want.Created, have.Created = time.Time{}, time.Time{}
		assert.Equal(t, want, have)
	}
}

func assertSameTime(t *testing.T, want, got *time.Time) {
	t.Helper()
	if want == nil {
		assert.Nil(t, got)
		return
	}
	if assert.NotNil(t, got) {
		assert.True(t, want.Equal(*got), "time %v, want %v", *got, *want)
	}
}

func TestStore_RecordRequestState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	t.Run("applies newer snapshots and ignores late ones", func(t *testing.T) {
		req := f.newRequest(t)

		applied, err := s.RecordRequestState(ctx, snapshot(f, req.ID, 1))
		require.NoError(t, err)
		assert.True(t, applied)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assertMirrors(t, snapshot(f, req.ID, 1), got)

		applied, err = s.RecordRequestState(ctx, snapshot(f, req.ID, 3))
		require.NoError(t, err)
		assert.True(t, applied)

		applied, err = s.RecordRequestState(ctx, snapshot(f, req.ID, 2))
		require.NoError(t, err)
		assert.False(t, applied, "a late snapshot is not applied")

		applied, err = s.RecordRequestState(ctx, snapshot(f, req.ID, 3))
		require.NoError(t, err)
		assert.False(t, applied, "recording the same snapshot twice is a no-op")

		got, err = s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assertMirrors(t, snapshot(f, req.ID, 3), got)
		assert.Len(t, got.Responses, 4, "seq 3's responses, untouched by seq 2")
		assert.Equal(t, "approved", got.Stages[1].Status)
		// What the workflow does not own stays as submitted.
		assert.Equal(t, req.ExtraVars, got.ExtraVars)
		assert.Equal(t, req.Justification, got.Justification)
		assert.Equal(t, req.Created, got.Created)
	})

	t.Run("terminal state with denial", func(t *testing.T) {
		req := f.newRequest(t)
		st := snapshot(f, req.ID, 2)
		at := st.Modified.Add(time.Hour)
		st.Seq, st.Status, st.CurrentStage, st.PendingApprovers = 5, "rejected", nil, nil
		st.Stages[0].Status, st.Stages[0].DecidedAt = "rejected", &at
		st.Stages[1].Status = "skipped"
		st.Denial = json.RawMessage(`{"stage": "SRE", "message": "Talk to SRE first", "reason": "no"}`)
		st.Finished = &at
		st.Modified = at
		applied, err := s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		require.True(t, applied)

		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assertMirrors(t, st, got)
		assert.JSONEq(t, string(st.Denial), string(got.Denial))
		assertSameTime(t, &at, got.Finished)
	})

	t.Run("stages and responses mirror the snapshot exactly", func(t *testing.T) {
		req := f.newRequest(t)
		_, err := s.RecordRequestState(ctx, snapshot(f, req.ID, 2))
		require.NoError(t, err)
		st := snapshot(f, req.ID, 1)
		st.Seq = 4
		st.Stages = st.Stages[:1]
		st.Responses = nil
		applied, err := s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		require.True(t, applied)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assertMirrors(t, st, got)
		assert.Empty(t, got.Responses)
	})

	t.Run("long discussions keep their order", func(t *testing.T) {
		req := f.newRequest(t)
		st := snapshot(f, req.ID, 1)
		st.Responses = nil
		at := st.Modified
		for i := range 2500 {
			// Pairs share a timestamp: the snapshot's order must break ties.
			st.Responses = append(st.Responses, store.Response{
				Username: "alice", Kind: "comment", Text: fmt.Sprint(i),
				Created: at.Add(time.Duration(i/2) * time.Second),
			})
		}
		applied, err := s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		require.True(t, applied)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		require.Len(t, got.Responses, 2500)
		for i, r := range got.Responses {
			require.Equal(t, fmt.Sprint(i), r.Text)
		}
	})

	t.Run("missing request is ErrNotFound", func(t *testing.T) {
		_, err := s.RecordRequestState(ctx, snapshot(f, 999999, 1))
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("invalid status is ErrInvalid and changes nothing", func(t *testing.T) {
		req := f.newRequest(t)
		st := snapshot(f, req.ID, 1)
		st.Status = "approved-ish"
		_, err := s.RecordRequestState(ctx, st)
		require.ErrorIs(t, err, store.ErrInvalid)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Equal(t, req, got)
	})

	t.Run("a snapshot without a job keeps the claimed one", func(t *testing.T) {
		req := f.newRequest(t)
		require.NoError(t, s.ClaimJob(ctx, req.ID, store.JobTypeWorkflowJob, 77))
		applied, err := s.RecordRequestState(ctx, snapshot(f, req.ID, 2))
		require.NoError(t, err)
		require.True(t, applied)
		job, err := s.RequestJob(ctx, req.ID)
		require.NoError(t, err)
		assert.Equal(t, &store.JobRef{Type: store.JobTypeWorkflowJob, ID: 77}, job)
	})

	t.Run("a job owned by another request is ErrConflict and changes nothing", func(t *testing.T) {
		owner, other := f.newRequest(t), f.newRequest(t)
		st := snapshot(f, other.ID, 3)
		require.NoError(t, s.ClaimJob(ctx, owner.ID, st.Job.Type, st.Job.ID))
		_, err := s.RecordRequestState(ctx, st)
		require.ErrorIs(t, err, store.ErrConflict)
		got, err := s.GetRequest(ctx, other.ID)
		require.NoError(t, err)
		assert.Equal(t, other, got)
	})

	t.Run("a different job than the one owned is ErrConflict", func(t *testing.T) {
		req := f.newRequest(t)
		st := snapshot(f, req.ID, 3)
		require.NoError(t, s.ClaimJob(ctx, req.ID, st.Job.Type, st.Job.ID+500000))
		_, err := s.RecordRequestState(ctx, st)
		require.ErrorIs(t, err, store.ErrConflict)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Zero(t, got.StateSeq)
	})

	t.Run("updates the status of the owned job", func(t *testing.T) {
		req := f.newRequest(t)
		st := snapshot(f, req.ID, 3)
		require.NoError(t, s.ClaimJob(ctx, req.ID, st.Job.Type, st.Job.ID))
		_, err := s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		st.Seq, st.Status = 4, "successful"
		st.Job.Status = "successful"
		applied, err := s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		require.True(t, applied)
		job, err := s.RequestJob(ctx, req.ID)
		require.NoError(t, err)
		assert.Equal(t, "successful", job.Status)
		assert.Equal(t, st.Job.URL, job.URL)
	})

	t.Run("a deleted approver team does not block recording", func(t *testing.T) {
		team, err := s.CreateTeam(ctx, f.org.ID, "short-lived", "")
		require.NoError(t, err)
		in := f.newRequestInput()
		in.Stages[0].ApproverTeamID, in.Stages[0].ApproverTeamName = &team.ID, team.Name
		req, err := s.CreateRequest(ctx, in)
		require.NoError(t, err)
		_, err = s.DB().Exec(`DELETE FROM teams WHERE id = $1`, team.ID)
		require.NoError(t, err)

		st := snapshot(f, req.ID, 1)
		st.Stages[0].ApproverTeamID, st.Stages[0].ApproverTeamName = &team.ID, team.Name
		applied, err := s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		require.True(t, applied)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Nil(t, got.Stages[0].ApproverTeamID)
		assert.Equal(t, "short-lived", got.Stages[0].ApproverTeamName)
	})

	t.Run("concurrent writers end on the newest snapshot", func(t *testing.T) {
		req := f.newRequest(t)
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for seq := int64(3); seq >= 1; seq-- {
			wg.Go(func() {
				_, err := s.RecordRequestState(ctx, snapshot(f, req.ID, seq))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assertMirrors(t, snapshot(f, req.ID, 3), got)
	})
}

func TestStore_ClaimJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	a, b := f.newRequest(t), f.newRequest(t)

	job, err := s.RequestJob(ctx, a.ID)
	require.NoError(t, err)
	assert.Nil(t, job, "no job before a claim")
	_, err = s.JobOwner(ctx, store.JobTypeJob, 500)
	assert.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.ClaimJob(ctx, a.ID, store.JobTypeJob, 500))
	require.NoError(t, s.ClaimJob(ctx, a.ID, store.JobTypeJob, 500), "claiming again is a no-op")

	job, err = s.RequestJob(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, &store.JobRef{Type: store.JobTypeJob, ID: 500}, job)
	owner, err := s.JobOwner(ctx, store.JobTypeJob, 500)
	require.NoError(t, err)
	assert.Equal(t, a.ID, owner)

	t.Run("another request cannot own the job", func(t *testing.T) {
		assert.ErrorIs(t, s.ClaimJob(ctx, b.ID, store.JobTypeJob, 500), store.ErrConflict)
		job, err := s.RequestJob(ctx, b.ID)
		require.NoError(t, err)
		assert.Nil(t, job)
	})

	t.Run("a request launches at most once", func(t *testing.T) {
		assert.ErrorIs(t, s.ClaimJob(ctx, a.ID, store.JobTypeJob, 501), store.ErrConflict)
		assert.ErrorIs(t, s.ClaimJob(ctx, a.ID, store.JobTypeWorkflowJob, 500), store.ErrConflict)
		owner, err := s.JobOwner(ctx, store.JobTypeJob, 500)
		require.NoError(t, err)
		assert.Equal(t, a.ID, owner)
	})

	t.Run("job types are separate id spaces", func(t *testing.T) {
		require.NoError(t, s.ClaimJob(ctx, b.ID, store.JobTypeWorkflowJob, 500))
		owner, err := s.JobOwner(ctx, store.JobTypeWorkflowJob, 500)
		require.NoError(t, err)
		assert.Equal(t, b.ID, owner)
	})

	t.Run("errors", func(t *testing.T) {
		c := f.newRequest(t)
		assert.ErrorIs(t, s.ClaimJob(ctx, 999999, store.JobTypeJob, 600), store.ErrNotFound)
		assert.ErrorIs(t, s.ClaimJob(ctx, c.ID, "project_update", 600), store.ErrInvalid)
		_, err := s.RequestJob(ctx, 999999)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("concurrent claims of one job: exactly one wins", func(t *testing.T) {
		const n = 8
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = f.newRequest(t).ID
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []int64
		)
		for _, id := range ids {
			wg.Go(func() {
				err := s.ClaimJob(ctx, id, store.JobTypeJob, 700)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					winners = append(winners, id)
				} else {
					assert.ErrorIs(t, err, store.ErrConflict)
				}
			})
		}
		wg.Wait()
		require.Len(t, winners, 1)
		owner, err := s.JobOwner(ctx, store.JobTypeJob, 700)
		require.NoError(t, err)
		assert.Equal(t, winners[0], owner)
	})
}

func TestStore_ListPendingFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	record := func(t *testing.T, status string, approvers ...string) store.Request {
		t.Helper()
		req := f.newRequest(t)
		st := snapshot(f, req.ID, 1)
		st.Status, st.PendingApprovers = status, approvers
		_, err := s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		return req
	}
	r1 := record(t, "pending_approval", "bob", "carol")
	r2 := record(t, "pending_approval", "bob")
	record(t, "expired", "bob")
	r4 := record(t, "pending_approval", "carol")
	f.newRequest(t) // never recorded: nobody pending yet

	ids := func(reqs []store.Request) []int64 {
		var out []int64
		for _, r := range reqs {
			out = append(out, r.ID)
		}
		return out
	}

	t.Run("the user's pending requests, newest first", func(t *testing.T) {
		got, total, err := s.ListPendingFor(ctx, "bob", 10, 0)
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		assert.Equal(t, []int64{r2.ID, r1.ID}, ids(got))
		assert.Equal(t, []string{"bob"}, got[0].PendingApprovers)
		assert.Nil(t, got[0].Stages, "lists do not load stages")

		got, total, err = s.ListPendingFor(ctx, "carol", 0, 0)
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		assert.Equal(t, []int64{r4.ID, r1.ID}, ids(got))
	})

	t.Run("pages", func(t *testing.T) {
		got, total, err := s.ListPendingFor(ctx, "bob", 1, 1)
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		assert.Equal(t, []int64{r1.ID}, ids(got))
		got, total, err = s.ListPendingFor(ctx, "bob", 10, 5)
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		assert.Empty(t, got)
	})

	t.Run("nobody else's inbox", func(t *testing.T) {
		for _, user := range []string{"alice", "erin", "bo", "Bob", ""} {
			got, total, err := s.ListPendingFor(ctx, user, 10, 0)
			require.NoError(t, err)
			assert.Zero(t, total, user)
			assert.Empty(t, got, user)
		}
	})
}

// The inbox must stay an index lookup however many requests have
// accumulated: assert the plan PostgreSQL picks for the store's own query.
func TestStore_ListPendingForUsesInboxIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	db := f.s.DB()

	// 20,000 requests: most finished, 2,000 pending with rotating approvers
	// among 200 users, so each user has about 10 requests in the inbox.
	const seed = `INSERT INTO service_requests (organization_id, catalog_item_id, requester_id,
			requester_username, status, pending_approvers)
		SELECT $1, g % 50, $2, 'alice',
			CASE WHEN g % 10 = 0 THEN 'pending_approval' ELSE 'successful' END,
			CASE WHEN g % 10 = 0 THEN ARRAY['user' || (g / 10 % 200), 'user' || ((g / 10 + 1) % 200)]
				ELSE '{}'::text[] END
		FROM generate_series(1, 20000) g`
	_, err := db.ExecContext(ctx, seed, f.org.ID, f.users["alice"].ID)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `ANALYZE service_requests`)
	require.NoError(t, err)

	got, total, err := f.s.ListPendingFor(ctx, "user7", 20, 0)
	require.NoError(t, err)
	assert.Equal(t, 20, total)
	assert.Len(t, got, 20)

	for name, q := range map[string]string{"page": store.PendingForQuery, "count": store.PendingForCountQuery} {
		t.Run(name, func(t *testing.T) {
			args := []any{"user7"}
			if name == "page" {
				args = append(args, 20, 0)
			}
			var plan []string
			require.NoError(t, db.SelectContext(ctx, &plan, "EXPLAIN "+q, args...))
			text := strings.Join(plan, "\n")
			assert.Contains(t, text, "Bitmap Index Scan on service_requests_inbox_idx", "plan:\n%s", text)
		})
	}
}

func TestStore_LaunchAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	r := f.newRequest(t)

	at, err := s.LaunchAttemptedAt(ctx, r.ID)
	require.NoError(t, err)
	assert.Nil(t, at, "nothing was sent yet")

	first, err := s.MarkLaunchAttempted(ctx, r.ID)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), first, time.Minute)
	again, err := s.MarkLaunchAttempted(ctx, r.ID)
	require.NoError(t, err)
	assert.True(t, first.Equal(again), "the first attempt's time is kept")
	at, err = s.LaunchAttemptedAt(ctx, r.ID)
	require.NoError(t, err)
	require.NotNil(t, at)
	assert.True(t, first.Equal(*at))

	_, err = s.MarkLaunchAttempted(ctx, r.ID+1000)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.LaunchAttemptedAt(ctx, r.ID+1000)
	assert.ErrorIs(t, err, store.ErrNotFound)
}
