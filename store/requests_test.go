package store_test

import (
	"context"
	"fmt"
	"strings"
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
		assert.Equal(t, f.item.ID, got.CatalogItemID)
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

	t.Run("starting with its first stage open: approvers find it at once", func(t *testing.T) {
		in := f.newRequestInput()
		opened := ts("2030-01-02T03:04:05.123456Z")
		deadline := opened.Add(in.Stages[0].Timeout)
		in.Stages[0].OpenedAt, in.Stages[0].Deadline = &opened, &deadline
		in.CurrentStage, in.PendingApprovers = ptr(0), []string{"carol", "bob", "carol"}
		in.ExtendableUntil = &deadline
		req, err := f.s.CreateRequest(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, ptr(0), req.CurrentStage)
		assertSameTime(t, &deadline, req.ExtendableUntil)
		assert.Equal(t, []string{"carol", "bob", "carol"}, req.PendingApprovers)
		assert.Equal(t, []string{"bob", "carol"}, req.Participants, "who may see it, once each")
		assert.Equal(t, "pending", req.Stages[0].Status)
		assertSameTime(t, &opened, req.Stages[0].OpenedAt)
		assertSameTime(t, &deadline, req.Stages[0].Deadline)
		assert.Equal(t, "waiting", req.Stages[1].Status)
		assert.Zero(t, req.StateSeq, "the workflow's first state replaces it")
		inbox, _, err := f.s.ListPendingFor(ctx, "bob", 100, 0)
		require.NoError(t, err)
		found := false
		for _, r := range inbox {
			found = found || r.ID == req.ID
		}
		assert.True(t, found, "in bob's inbox")
		for _, r := range inbox {
			if r.ID == req.ID {
				assertSameTime(t, &deadline, r.ExtendableUntil)
			}
		}
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
		"unknown catalog item":   {func(r *store.NewRequest) { r.CatalogItemID = 999999 }, store.ErrInvalidReference},
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

	t.Run("the inbox follows the request's approvers and status, and its deletion", func(t *testing.T) {
		inbox := func(user string) []int64 {
			t.Helper()
			got, total, err := s.ListPendingFor(ctx, user, 0, 0)
			require.NoError(t, err)
			require.Len(t, got, total, "the page and the count agree")
			return ids(got)
		}
		req := f.newRequest(t)
		st := snapshot(f, req.ID, 1)
		st.Status, st.PendingApprovers = "pending_approval", []string{"dave", "frank", "dave"}
		_, err := s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		assert.Equal(t, []int64{req.ID}, inbox("dave"), "listed once however often named")
		assert.Equal(t, []int64{req.ID}, inbox("frank"))

		st.Seq, st.PendingApprovers = 2, []string{"frank"}
		_, err = s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		assert.Empty(t, inbox("dave"), "dave decided")
		assert.Equal(t, []int64{req.ID}, inbox("frank"))

		st.Seq, st.Status = 3, "approved"
		_, err = s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		assert.Empty(t, inbox("frank"), "approved: nobody's to decide")

		st.Seq, st.Status = 4, "pending_approval"
		_, err = s.RecordRequestState(ctx, st)
		require.NoError(t, err)
		require.Equal(t, []int64{req.ID}, inbox("frank"))
		require.NoError(t, s.DeleteRequest(ctx, req.ID))
		assert.Empty(t, inbox("frank"), "gone with the request")
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
		SELECT $1, $3, $2, 'alice',
			CASE WHEN g % 10 = 0 THEN 'pending_approval' ELSE 'successful' END,
			CASE WHEN g % 10 = 0 THEN ARRAY['user' || (g / 10 % 200), 'user' || ((g / 10 + 1) % 200)]
				ELSE '{}'::text[] END
		FROM generate_series(1, 20000) g`
	_, err := db.ExecContext(ctx, seed, f.org.ID, f.users["alice"].ID, f.item.ID)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `ANALYZE service_requests, service_request_inbox, service_request_inbox_counts`)
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
			if name == "page" {
				assert.Contains(t, text, "service_request_inbox_pkey", "plan:\n%s", text)
			}
			assert.Contains(t, text, "service_request_inbox_counts_pkey", "the size is read, not counted; plan:\n%s", text)
			assert.NotContains(t, text, "Aggregate", "plan:\n%s", text)
			assert.NotContains(t, text, "Seq Scan", "plan:\n%s", text)
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
