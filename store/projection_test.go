package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

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
		ExtendableUntil:  ptr(opened.Add(72 * time.Hour)),
		Modified:         opened,
		Stages: []store.StageState{
			{
				Position: 0, Name: "SRE", ApproverTeamID: &f.sre.ID, ApproverTeamName: "sre", MinApprovers: 2,
				DenialMessage: "Talk to SRE first", Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour,
				RequireRecentLogin: 10 * time.Minute, Status: "pending", OpenedAt: &opened, Deadline: ptr(opened.Add(72 * time.Hour)),
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
			store.Response{StagePosition: ptr(0), Username: "bob", Kind: "approve", Text: "ok", Created: at,
				Channel: "portal", SignedInAt: ptr(opened.Add(-5 * time.Minute))})
	}
	if seq >= 3 {
		at := opened.Add(2 * time.Minute)
		st.Status = "running"
		st.CurrentStage = nil
		st.PendingApprovers = nil
		st.ExtendableUntil = nil
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
	assertSameTime(t, st.ExtendableUntil, got.ExtendableUntil)
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
	deciders := []string{}
	for _, resp := range st.Responses {
		if resp.Kind != "comment" {
			deciders = append(deciders, resp.Username)
		}
	}
	assert.Equal(t, deciders, got.Deciders, "who approved or rejected, in order")
	require.Len(t, got.Responses, len(st.Responses))
	for i := range st.Responses {
		want, have := st.Responses[i], got.Responses[i]
		assert.True(t, want.Created.Equal(have.Created))
		assertSameTime(t, want.SignedInAt, have.SignedInAt)
		want.Created, have.Created = time.Time{}, time.Time{}
		want.SignedInAt, have.SignedInAt = nil, nil
		assert.Equal(t, want, have)
	}
}

// recordApplied records st, which must be newer than what is stored.
func recordApplied(t *testing.T, s *store.Store, st store.RequestState) {
	t.Helper()
	applied, err := s.RecordRequestState(context.Background(), st)
	require.NoError(t, err)
	require.True(t, applied)
}

// assertStored checks that the stored request is exactly snapshot st, and
// returns it.
func assertStored(t *testing.T, s *store.Store, st store.RequestState) store.Request {
	t.Helper()
	got, err := s.GetRequest(context.Background(), st.ID)
	require.NoError(t, err)
	assertMirrors(t, st, got)
	return got
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
		listed, _, err := s.ListRequests(ctx, store.RequestFilter{}, store.ListOptions{Page: 1, PageSize: 200})
		require.NoError(t, err)
		idx := slices.IndexFunc(listed, func(r store.Request) bool { return r.ID == req.ID })
		require.GreaterOrEqual(t, idx, 0)
		assert.Nil(t, listed[idx].Responses, "lists leave out responses")
		assert.Equal(t, []string{"bob", "carol", "erin"}, listed[idx].Deciders, "lists know who decided")
		assert.Nil(t, listed[idx].ExtendableUntil, "nothing to extend once approved")
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
		recordApplied(t, s, st)
		assert.Empty(t, assertStored(t, s, st).Responses)
	})

	t.Run("a transition rewrites only what it changed", func(t *testing.T) {
		req := f.newRequest(t)
		_, err := s.RecordRequestState(ctx, snapshot(f, req.ID, 1))
		require.NoError(t, err)
		stages, responses := storedRowVersions(t, s, req.ID)

		// bob's approval adds a response and changes no stage.
		recordApplied(t, s, snapshot(f, req.ID, 2))
		stages2, responses2 := storedRowVersions(t, s, req.ID)
		assert.Equal(t, stages, stages2, "unchanged stages are not rewritten")
		require.Len(t, responses2, 2)
		assert.Equal(t, responses, responses2[:1], "earlier responses are kept, not rewritten")

		// Approval changes both stages and adds two responses.
		recordApplied(t, s, snapshot(f, req.ID, 3))
		stages3, responses3 := storedRowVersions(t, s, req.ID)
		assert.NotEqual(t, stages2[0], stages3[0])
		assert.NotEqual(t, stages2[1], stages3[1])
		require.Len(t, responses3, 4)
		assert.Equal(t, responses2, responses3[:2])
		assertStored(t, s, snapshot(f, req.ID, 3))
	})

	t.Run("responses that do not begin with the stored ones replace them", func(t *testing.T) {
		req := f.newRequest(t)
		_, err := s.RecordRequestState(ctx, snapshot(f, req.ID, 2))
		require.NoError(t, err)
		st := snapshot(f, req.ID, 3)
		st.Seq = 4
		st.Responses[1].Text = "ok, edited"
		recordApplied(t, s, st)
		assertStored(t, s, st)
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

	t.Run("two stages at one position are ErrConflict and change nothing", func(t *testing.T) {
		req := f.newRequest(t)
		_, err := s.RecordRequestState(ctx, snapshot(f, req.ID, 1))
		require.NoError(t, err)
		st := snapshot(f, req.ID, 3)
		st.Stages[1].Position = 0
		_, err = s.RecordRequestState(ctx, st)
		require.ErrorIs(t, err, store.ErrConflict)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assertMirrors(t, snapshot(f, req.ID, 1), got)
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

// A request is recorded at every transition in statements that cost
// PostgreSQL more to plan than to run: each is planned once per
// connection.
func TestStore_RecordingStopsBeingPlanned(t *testing.T) {
	t.Parallel()
	f := newFixtureOnOneConnection(t)
	s := f.s
	for range 3 {
		req := f.newRequest(t)
		for seq := int64(1); seq <= 3; seq++ {
			recordApplied(t, s, snapshot(f, req.ID, seq))
		}
		assertStored(t, s, snapshot(f, req.ID, 3))
	}
	assertSettledOnGenericPlan(t, s, "UPDATE service_requests SET%state_seq = $2%")
	assertSettledOnGenericPlan(t, s, "WITH stage AS%")
}

// A request is read several times a lifecycle (each decision, each
// launch) by a PK lookup that costs more to plan than to run: it is
// planned once per connection.
func TestStore_ReadingARequestStopsBeingPlanned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixtureOnOneConnection(t)
	s := f.s
	req := f.newRequest(t)
	_, err := s.RecordRequestState(ctx, snapshot(f, req.ID, 3))
	require.NoError(t, err)
	for range 8 {
		assertStored(t, s, snapshot(f, req.ID, 3))
	}
	assertSettledOnGenericPlan(t, s, "SELECT % FROM service_requests WHERE id = $1")
	assertSettledOnGenericPlan(t, s, "SELECT % FROM service_request_stages%WHERE request_id = $1 ORDER BY position")
	assertSettledOnGenericPlan(t, s, "SELECT % FROM service_request_responses%WHERE request_id = $1 ORDER BY created, id")
}

// storedRowVersions returns the row version (ctid) of each of a request's
// stages, by position, and the ids of its responses, oldest first: a row
// rewritten gets a new version, a response deleted and inserted again a
// new id.
func storedRowVersions(t *testing.T, s *store.Store, id int64) (stages []string, responses []int64) {
	t.Helper()
	require.NoError(t, s.DB().Select(&stages,
		`SELECT ctid::text FROM service_request_stages WHERE request_id = $1 ORDER BY position`, id))
	require.NoError(t, s.DB().Select(&responses,
		`SELECT id FROM service_request_responses WHERE request_id = $1 ORDER BY id`, id))
	return stages, responses
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
		err := s.ClaimJob(ctx, b.ID, store.JobTypeJob, 500)
		assert.ErrorIs(t, err, store.ErrJobTaken)
		assert.ErrorIs(t, err, store.ErrConflict)
		job, err := s.RequestJob(ctx, b.ID)
		require.NoError(t, err)
		assert.Nil(t, job)
	})

	t.Run("a request launches at most once", func(t *testing.T) {
		err := s.ClaimJob(ctx, a.ID, store.JobTypeJob, 501)
		assert.ErrorIs(t, err, store.ErrConflict)
		assert.NotErrorIs(t, err, store.ErrJobTaken, "the job is nobody's: the request has another")
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

func TestStore_MaxJobID(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	max, err := s.MaxJobID(ctx)
	require.NoError(t, err)
	assert.Zero(t, max, "no request owns a job")
	for _, id := range []int64{130, 512, 204} {
		require.NoError(t, s.ClaimJob(ctx, f.newRequest(t).ID, store.JobTypeJob, id))
	}
	max, err = s.MaxJobID(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 512, max)
}
