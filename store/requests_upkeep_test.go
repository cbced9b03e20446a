package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

func TestStore_RefreshTargets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	// The fixture's plan: stage 0 decided by sre, stage 1 by the org admins.
	atSRE := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0), pending: []string{"bob"}})
	atAdmins := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(1), pending: []string{"erin"}})
	f.submitAs(t, "alice", state{status: "rejected", stage: ptr(0)}) // finished at the sre stage
	f.submitAs(t, "alice", state{status: "approved"})                // no stage open
	notRecorded := f.newRequest(t)                                   // pending, no stage open yet
	atSRE2 := f.submitAs(t, "bob", state{status: "pending_approval", stage: ptr(0), pending: []string{"carol"}})

	other, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	item, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{OrganizationID: other.ID, Name: "x", JobTemplateID: ptr(int64(1))})
	require.NoError(t, err)
	in := f.newRequestInput()
	in.OrganizationID, in.CatalogItemID = other.ID, item.ID
	in.Stages = in.Stages[1:] // org admins only
	theirs, err := s.CreateRequest(ctx, in)
	require.NoError(t, err)
	_, err = s.RecordRequestState(ctx, store.RequestState{
		ID: theirs.ID, Seq: 1, Status: "pending_approval", CurrentStage: ptr(0), Stages: theirs.Stages,
	})
	require.NoError(t, err)

	t.Run("team: pending requests whose current stage it decides", func(t *testing.T) {
		ids, err := s.PendingRequestsUsingTeam(ctx, f.sre.ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{atSRE.ID, atSRE2.ID}, ids, "not atAdmins, whose later stage is past sre")

		unused, err := s.CreateTeam(ctx, f.org.ID, "unused", "")
		require.NoError(t, err)
		ids, err = s.PendingRequestsUsingTeam(ctx, unused.ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{}, ids)
	})

	t.Run("org admins: the organization's pending requests at a stage without team", func(t *testing.T) {
		ids, err := s.PendingRequestsUsingOrgAdmins(ctx, f.org.ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{atAdmins.ID}, ids)
		ids, err = s.PendingRequestsUsingOrgAdmins(ctx, other.ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{theirs.ID}, ids)
	})

	t.Run("one user: the stages they decide by membership", func(t *testing.T) {
		ids, err := s.PendingRequestsForUser(ctx, f.users["bob"].ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{atSRE.ID, atSRE2.ID}, ids)
		ids, err = s.PendingRequestsForUser(ctx, f.users["erin"].ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{atAdmins.ID}, ids, "not initech's, whose admin erin is not")
		ids, err = s.PendingRequestsForUser(ctx, f.users["alice"].ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{}, ids)
	})

	t.Run("one user: and those of whoever delegated to them", func(t *testing.T) {
		now := time.Now()
		_, err := s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: f.users["erin"].ID, DelegateID: f.users["alice"].ID,
			Starts: now.Add(time.Hour), Ends: now.Add(2 * time.Hour), CreatedBy: f.users["erin"].ID, Now: now})
		require.NoError(t, err)
		_, err = s.CreateDelegation(ctx, store.NewDelegation{DelegatorID: f.users["bob"].ID, DelegateID: f.users["alice"].ID,
			Starts: now.Add(-2 * time.Hour), Ends: now.Add(-time.Hour), CreatedBy: f.users["bob"].ID, Now: now})
		require.NoError(t, err)
		ids, err := s.PendingRequestsForUser(ctx, f.users["alice"].ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{atAdmins.ID}, ids, "erin's, whose delegation has not ended; not bob's, whose has")
	})

	t.Run("a stage escalated to a team concerns the team and its members", func(t *testing.T) {
		ops, err := s.CreateTeam(ctx, f.org.ID, "ops", "")
		require.NoError(t, err)
		require.NoError(t, s.AddTeamMember(ctx, ops.ID, f.users["alice"].ID))
		stages := append([]store.StageState(nil), atAdmins.Stages...)
		stages[1].EscalationTeamIDs = []int64{ops.ID}
		_, err = s.RecordRequestState(ctx, store.RequestState{
			ID: atAdmins.ID, Seq: 5, Status: "pending_approval", CurrentStage: ptr(1), PendingApprovers: []string{"erin"}, Stages: stages,
		})
		require.NoError(t, err)
		got, err := s.GetRequest(ctx, atAdmins.ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{ops.ID}, got.Stages[1].EscalationTeamIDs, "the projection keeps the stage's escalation teams")
		assert.Nil(t, got.Stages[0].EscalationTeamIDs)
		ids, err := s.PendingRequestsUsingTeam(ctx, ops.ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{atAdmins.ID}, ids)
		ids, err = s.PendingRequestsForUser(ctx, f.users["alice"].ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{atAdmins.ID}, ids)

		stages[1].EscalationTeamIDs = nil
		_, err = s.RecordRequestState(ctx, store.RequestState{
			ID: atAdmins.ID, Seq: 6, Status: "pending_approval", CurrentStage: ptr(1), PendingApprovers: []string{"erin"}, Stages: stages,
		})
		require.NoError(t, err)
	})

	t.Run("superusers: every pending request", func(t *testing.T) {
		ids, err := s.PendingRequests(ctx)
		require.NoError(t, err)
		assert.Equal(t, []int64{atSRE.ID, atAdmins.ID, notRecorded.ID, atSRE2.ID, theirs.ID}, ids)
	})

	t.Run("the stage moving on moves the request", func(t *testing.T) {
		_, err := s.RecordRequestState(ctx, store.RequestState{
			ID: atSRE.ID, Seq: 2, Status: "pending_approval", CurrentStage: ptr(1),
			PendingApprovers: []string{"erin"}, Stages: atSRE.Stages,
		})
		require.NoError(t, err)
		ids, err := s.PendingRequestsUsingTeam(ctx, f.sre.ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{atSRE2.ID}, ids)
		ids, err = s.PendingRequestsUsingOrgAdmins(ctx, f.org.ID)
		require.NoError(t, err)
		assert.Equal(t, []int64{atSRE.ID, atAdmins.ID}, ids)
	})
}

func TestStore_UnsettledRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	t0 := ts("2030-03-01T00:00:00Z")
	running := f.submitAs(t, "alice", state{status: "running", modified: t0.Add(2 * time.Hour)})
	pending := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0), modified: t0})
	approved := f.submitAs(t, "alice", state{status: "approved", modified: t0.Add(time.Hour)})
	f.submitAs(t, "alice", state{status: "successful", modified: t0})
	f.submitAs(t, "alice", state{status: "canceled", modified: t0})
	f.submitAs(t, "alice", state{status: "running", modified: t0.Add(5 * time.Hour)}) // too recent

	got, err := s.UnsettledRequests(ctx, t0.Add(3*time.Hour), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, []int64{running.ID, pending.ID, approved.ID}, requestIDs(got), "by id")
	assert.Equal(t, "running", got[0].Status)
	assert.Nil(t, got[0].Stages)

	got, err = s.UnsettledRequests(ctx, t0.Add(3*time.Hour), 0, 2)
	require.NoError(t, err)
	assert.Equal(t, []int64{running.ID, pending.ID}, requestIDs(got))
	got, err = s.UnsettledRequests(ctx, t0.Add(3*time.Hour), pending.ID, 2)
	require.NoError(t, err)
	assert.Equal(t, []int64{approved.ID}, requestIDs(got), "the next batch starts after the cursor")

	got, err = s.UnsettledRequests(ctx, t0.Add(time.Hour), 0, 10)
	require.NoError(t, err)
	assert.Equal(t, []int64{pending.ID}, requestIDs(got), "modified strictly before")

	got, err = s.UnsettledRequests(ctx, t0, 0, 10)
	require.NoError(t, err)
	assert.Equal(t, []store.Request{}, got)
}

func TestStore_MarkRequestFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	now := ts("2030-04-01T12:00:00Z")

	t.Run("a request whose workflow never started", func(t *testing.T) {
		in := f.newRequestInput()
		deadline := now.Add(time.Hour)
		in.Stages[0].OpenedAt, in.Stages[0].Deadline = &now, &deadline
		in.CurrentStage, in.PendingApprovers, in.ExtendableUntil = ptr(0), []string{"bob"}, &deadline
		req, err := s.CreateRequest(ctx, in)
		require.NoError(t, err)
		changed, err := s.MarkRequestFailed(ctx, req.ID, "workflow never started", now)
		require.NoError(t, err)
		assert.True(t, changed)

		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Equal(t, "failed", got.Status)
		assert.Equal(t, "workflow never started", got.FailureReason)
		assertSameTime(t, &now, got.Finished)
		assert.True(t, now.Equal(got.Modified))
		assert.Nil(t, got.CurrentStage)
		assert.Empty(t, got.PendingApprovers)
		assert.Nil(t, got.ExtendableUntil, "nothing left to extend")
		inbox, _, err := s.ListPendingFor(ctx, "bob", 0, 0)
		require.NoError(t, err)
		assert.Empty(t, inbox, "no longer in anybody's inbox")

		changed, err = s.MarkRequestFailed(ctx, req.ID, "again", now.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, changed, "already terminal")
		got, err = s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Equal(t, "workflow never started", got.FailureReason)
	})

	t.Run("approved without a job", func(t *testing.T) {
		req := f.submitAs(t, "alice", state{status: "approved"})
		changed, err := s.MarkRequestFailed(ctx, req.ID, "lost", now)
		require.NoError(t, err)
		assert.True(t, changed)
	})

	for _, status := range []string{"successful", "rejected", "expired", "canceled"} {
		t.Run("a "+status+" request is left alone", func(t *testing.T) {
			req := f.submitAs(t, "alice", state{status: status})
			changed, err := s.MarkRequestFailed(ctx, req.ID, "x", now)
			require.NoError(t, err)
			assert.False(t, changed)
			got, err := s.GetRequest(ctx, req.ID)
			require.NoError(t, err)
			assert.Equal(t, status, got.Status)
			assert.Empty(t, got.FailureReason)
		})
	}

	t.Run("a request with a job is the workflow's to settle", func(t *testing.T) {
		req := f.submitAs(t, "alice", state{status: "running"})
		require.NoError(t, s.ClaimJob(ctx, req.ID, store.JobTypeJob, 4242))
		changed, err := s.MarkRequestFailed(ctx, req.ID, "x", now)
		require.NoError(t, err)
		assert.False(t, changed)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Equal(t, "running", got.Status)
	})

	t.Run("unknown request is ErrNotFound", func(t *testing.T) {
		_, err := s.MarkRequestFailed(ctx, 999999, "x", now)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestStore_SettleAbandonedRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	now := ts("2030-04-01T12:00:00Z")
	ab := store.Abandonment{Reason: "nothing was launched", LaunchedReason: "a job may run", At: now}
	// waiting records the fixture's request waiting at its first stage.
	waiting := func(t *testing.T) store.Request {
		req := f.newRequest(t)
		stages := req.Stages
		stages[0].Status = "pending"
		_, err := s.RecordRequestState(ctx, store.RequestState{ID: req.ID, Seq: 3, Status: "pending_approval", CurrentStage: ptr(0),
			PendingApprovers: []string{"bob", "carol"}, Stages: stages, ExtendableUntil: ptr(now.Add(time.Hour))})
		require.NoError(t, err)
		return req
	}

	t.Run("waiting for approval: canceled, out of every inbox", func(t *testing.T) {
		req := waiting(t)
		status, err := s.SettleAbandonedRequest(ctx, req.ID, ab)
		require.NoError(t, err)
		assert.Equal(t, "canceled", status)

		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Equal(t, "canceled", got.Status)
		assert.Equal(t, "nothing was launched", got.FailureReason)
		assertSameTime(t, &now, got.Finished)
		assert.True(t, now.Equal(got.Modified))
		assert.Nil(t, got.CurrentStage)
		assert.Empty(t, got.PendingApprovers)
		assert.Nil(t, got.ExtendableUntil, "nothing left to extend")
		assert.Equal(t, []string{"canceled", "skipped"}, []string{got.Stages[0].Status, got.Stages[1].Status})
		assertSameTime(t, &now, got.Stages[0].DecidedAt)
		for _, u := range []string{"bob", "carol", "admin"} {
			inbox, _, err := s.ListPendingFor(ctx, u, 0, 0)
			require.NoError(t, err)
			assert.Empty(t, inbox, u)
		}

		// The workflow's last publication, late: it cannot bring it back.
		applied, err := s.RecordRequestState(ctx, store.RequestState{ID: req.ID, Seq: 4, Status: "pending_approval", CurrentStage: ptr(0),
			PendingApprovers: []string{"bob"}, Stages: req.Stages})
		require.NoError(t, err)
		assert.False(t, applied)
		got, err = s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Equal(t, "canceled", got.Status)

		status, err = s.SettleAbandonedRequest(ctx, req.ID, ab)
		require.NoError(t, err)
		assert.Empty(t, status, "already settled")
	})

	t.Run("a launch was sent: failed, since a job may run", func(t *testing.T) {
		req := f.submitAs(t, "alice", state{status: "approved"})
		_, err := s.MarkLaunchAttempted(ctx, req.ID)
		require.NoError(t, err)
		status, err := s.SettleAbandonedRequest(ctx, req.ID, ab)
		require.NoError(t, err)
		assert.Equal(t, "failed", status)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		assert.Equal(t, "a job may run", got.FailureReason)
	})

	t.Run("running with a job: failed, the job kept", func(t *testing.T) {
		req := f.submitAs(t, "alice", state{status: "running"})
		require.NoError(t, s.ClaimJob(ctx, req.ID, store.JobTypeJob, 5151))
		status, err := s.SettleAbandonedRequest(ctx, req.ID, ab)
		require.NoError(t, err)
		assert.Equal(t, "failed", status)
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		require.NotNil(t, got.Job)
		assert.Equal(t, int64(5151), got.Job.ID)
	})

	t.Run("a settled request launches nothing", func(t *testing.T) {
		req := f.submitAs(t, "alice", state{status: "approved"})
		_, err := s.SettleAbandonedRequest(ctx, req.ID, ab)
		require.NoError(t, err)
		_, err = s.MarkLaunchAttempted(ctx, req.ID)
		assert.ErrorIs(t, err, store.ErrConflict, "a launch still in flight finds it settled and sends nothing")
		at, err := s.LaunchAttemptedAt(ctx, req.ID)
		require.NoError(t, err)
		assert.Nil(t, at)
	})

	for _, status := range []string{"successful", "rejected", "expired", "canceled", "failed"} {
		t.Run("a "+status+" request is left alone", func(t *testing.T) {
			req := f.submitAs(t, "alice", state{status: status})
			got, err := s.SettleAbandonedRequest(ctx, req.ID, ab)
			require.NoError(t, err)
			assert.Empty(t, got)
			row, err := s.GetRequest(ctx, req.ID)
			require.NoError(t, err)
			assert.Equal(t, status, row.Status)
			assert.Empty(t, row.FailureReason)
		})
	}

	t.Run("unknown request is ErrNotFound", func(t *testing.T) {
		_, err := s.SettleAbandonedRequest(ctx, 999999, ab)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}
