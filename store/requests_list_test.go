package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

// state says what to record on a new request after submission.
type state struct {
	status    string
	stage     *int
	pending   []string
	responses []store.Response
	modified  time.Time
}

// submitAs creates a request by requester for the fixture's item (with the
// fixture's two-stage plan: sre, then org admins) and records st over it.
func (f *fixture) submitAs(t *testing.T, requester string, st state) store.Request {
	t.Helper()
	ctx := context.Background()
	in := f.newRequestInput()
	in.RequesterID, in.RequesterUsername = f.users[requester].ID, requester
	req, err := f.s.CreateRequest(ctx, in)
	require.NoError(t, err)
	if st.status == "" {
		return req
	}
	// As the worker records them: who may decide and who decided were asked.
	asked := slices.Clone(st.pending)
	for _, r := range st.responses {
		if r.Kind != "comment" {
			asked = append(asked, r.Username)
		}
	}
	_, err = f.s.RecordRequestState(ctx, store.RequestState{
		ID: req.ID, Seq: 1, Status: st.status, CurrentStage: st.stage,
		PendingApprovers: st.pending, Stages: req.Stages, Responses: st.responses, Modified: st.modified,
		Participants: asked,
	})
	require.NoError(t, err)
	got, err := f.s.GetRequest(ctx, req.ID)
	require.NoError(t, err)
	return got
}

func requestIDs(reqs []store.Request) []int64 {
	ids := make([]int64, len(reqs))
	for i, r := range reqs {
		ids[i] = r.ID
	}
	return ids
}

func decision(username, kind string) store.Response {
	return store.Response{StagePosition: ptr(0), Username: username, Kind: kind, Created: ts("2030-01-01T00:00:00Z")}
}

func TestStore_ListRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	other, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{
		OrganizationID: f.org.ID, Name: "Health check", JobTemplateID: ptr(int64(8)),
	})
	require.NoError(t, err)
	pending := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0), pending: []string{"bob"}})
	running := f.submitAs(t, "alice", state{status: "running"})
	byBob := f.submitAs(t, "bob", state{status: "pending_approval", stage: ptr(0), pending: []string{"carol"}})
	in := f.newRequestInput()
	in.CatalogItemID = other.ID
	forOther, err := s.CreateRequest(ctx, in)
	require.NoError(t, err)

	list := func(t *testing.T, filter store.RequestFilter, opts store.ListOptions) ([]int64, int) {
		t.Helper()
		got, total, err := s.ListRequests(ctx, filter, opts)
		require.NoError(t, err)
		for _, r := range got {
			assert.Nil(t, r.Stages, "lists do not load stages")
			assert.Nil(t, r.Responses, "lists do not load responses")
		}
		return requestIDs(got), total
	}

	t.Run("everything by id", func(t *testing.T) {
		ids, total := list(t, store.RequestFilter{}, store.ListOptions{})
		assert.Equal(t, []int64{pending.ID, running.ID, byBob.ID, forOther.ID}, ids)
		assert.Equal(t, 4, total)
	})

	t.Run("rows are complete", func(t *testing.T) {
		got, _, err := s.ListRequests(ctx, store.RequestFilter{}, store.ListOptions{PageSize: 1})
		require.NoError(t, err)
		require.Len(t, got, 1)
		want := pending
		want.Stages, want.Responses = nil, nil
		assert.Equal(t, want, got[0])
	})

	for name, tc := range map[string]struct {
		filter store.RequestFilter
		want   []int64
	}{
		"requester":          {store.RequestFilter{RequesterID: ptr(f.users["bob"].ID)}, []int64{byBob.ID}},
		"one status":         {store.RequestFilter{Status: []string{"running"}}, []int64{running.ID}},
		"several statuses":   {store.RequestFilter{Status: []string{"running", "pending_approval"}}, []int64{pending.ID, running.ID, byBob.ID, forOther.ID}},
		"catalog item":       {store.RequestFilter{CatalogItemID: &other.ID}, []int64{forOther.ID}},
		"requester username": {store.RequestFilter{RequesterUsername: "bob"}, []int64{byBob.ID}},
		"organizations":      {store.RequestFilter{OrganizationIDs: []int64{f.org.ID}}, []int64{pending.ID, running.ID, byBob.ID, forOther.ID}},
		"no organizations":   {store.RequestFilter{OrganizationIDs: []int64{}}, []int64{}},
		"another org":        {store.RequestFilter{OrganizationIDs: []int64{f.org.ID + 1000}}, []int64{}},
		"combined": {store.RequestFilter{
			RequesterUsername: "alice", Status: []string{"pending_approval"}, CatalogItemID: &f.item.ID,
		}, []int64{pending.ID}},
		"username is exact": {store.RequestFilter{RequesterUsername: "ali"}, []int64{}},
	} {
		t.Run("filter by "+name, func(t *testing.T) {
			ids, total := list(t, tc.filter, store.ListOptions{})
			assert.Equal(t, tc.want, ids)
			assert.Equal(t, len(tc.want), total)
		})
	}

	t.Run("an unknown status is ErrInvalid", func(t *testing.T) {
		_, _, err := s.ListRequests(ctx, store.RequestFilter{Status: []string{"pending"}}, store.ListOptions{})
		require.ErrorIs(t, err, store.ErrInvalid)
		assert.Contains(t, err.Error(), `unknown status "pending": choose from pending_approval, approved, running`)
	})

	t.Run("order", func(t *testing.T) {
		ids, _ := list(t, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"-id"}})
		assert.Equal(t, []int64{forOther.ID, byBob.ID, running.ID, pending.ID}, ids)
		// Statuses sort as text; ties fall back to id, in the same direction.
		ids, _ = list(t, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"-status"}})
		assert.Equal(t, []int64{running.ID, forOther.ID, byBob.ID, pending.ID}, ids)
		ids, _ = list(t, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"status"}})
		assert.Equal(t, []int64{pending.ID, byBob.ID, forOther.ID, running.ID}, ids)
		ids, _ = list(t, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"status,-id"}})
		assert.Equal(t, []int64{forOther.ID, byBob.ID, pending.ID, running.ID}, ids)
		for _, field := range []string{"created", "-modified", "finished", "-finished"} {
			_, total := list(t, store.RequestFilter{}, store.ListOptions{OrderBy: []string{field}})
			assert.Equal(t, 4, total, field)
		}
		_, _, err := s.ListRequests(ctx, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"requester_username"}})
		require.ErrorIs(t, err, store.ErrInvalid)
		assert.Contains(t, err.Error(), "choose from id, created, modified, status, finished")
	})

	t.Run("unfinished requests sort last either way", func(t *testing.T) {
		done := ts("2030-02-01T00:00:00Z")
		_, err := s.RecordRequestState(ctx, store.RequestState{
			ID: running.ID, Seq: 2, Status: "successful", Finished: &done, Stages: running.Stages,
		})
		require.NoError(t, err)
		for _, order := range []string{"finished", "-finished"} {
			ids, _ := list(t, store.RequestFilter{}, store.ListOptions{OrderBy: []string{order}})
			assert.Equal(t, running.ID, ids[0], order)
		}
	})

	t.Run("pages", func(t *testing.T) {
		ids, total := list(t, store.RequestFilter{}, store.ListOptions{Page: 2, PageSize: 3})
		assert.Equal(t, []int64{forOther.ID}, ids)
		assert.Equal(t, 4, total)
		ids, total = list(t, store.RequestFilter{}, store.ListOptions{Page: 3, PageSize: 3})
		assert.Empty(t, ids)
		assert.Equal(t, 4, total, "a page beyond the end still counts every match")
	})
}

func TestStore_ListRequestsVisibility(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	for _, name := range []string{"dave", "mallory"} {
		u, err := s.CreateUser(ctx, store.NewUser{Username: name})
		require.NoError(t, err)
		f.users[name] = u
	}
	initech, err := s.CreateOrganization(ctx, "initech", "")
	require.NoError(t, err)
	initechItem, err := s.CreateCatalogItem(ctx, store.NewCatalogItem{
		OrganizationID: initech.ID, Name: "TPS report", WorkflowJobTemplateID: ptr(int64(3)),
	})
	require.NoError(t, err)
	require.NoError(t, s.AddOrgAdmin(ctx, initech.ID, f.users["dave"].ID))

	// alice's request, waiting for bob; carol approved it already and
	// dave commented.
	mine := f.submitAs(t, "alice", state{
		status: "pending_approval", stage: ptr(0), pending: []string{"bob"},
		responses: []store.Response{decision("carol", "approve"), decision("dave", "comment")},
	})
	// Rejected by bob: he decided it; carol only commented.
	rejected := f.submitAs(t, "erin", state{
		status:    "rejected",
		responses: []store.Response{decision("carol", "comment"), decision("bob", "reject")},
	})
	// Expired while carol was still listed: no longer hers to decide, but
	// she was asked, so she still sees it.
	expired := f.submitAs(t, "erin", state{status: "expired", pending: []string{"carol"}})
	// Another organization's request, administered by dave.
	in := f.newRequestInput()
	in.OrganizationID, in.CatalogItemID, in.Stages = initech.ID, initechItem.ID, nil
	in.RequesterID, in.RequesterUsername = f.users["mallory"].ID, "mallory"
	theirs, err := s.CreateRequest(ctx, in)
	require.NoError(t, err)

	viewer := func(name string, adminOf ...int64) *store.RequestVisibility {
		return &store.RequestVisibility{UserID: f.users[name].ID, Username: name, AdminOrgIDs: adminOf}
	}
	for name, tc := range map[string]struct {
		vis  *store.RequestVisibility
		want []int64
	}{
		"superuser sees everything":            {nil, []int64{mine.ID, rejected.ID, expired.ID, theirs.ID}},
		"requester sees their own":             {viewer("alice"), []int64{mine.ID}},
		"org admin sees the organization":      {viewer("erin", f.org.ID), []int64{mine.ID, rejected.ID, expired.ID}},
		"admin of another org sees only it":    {viewer("dave", initech.ID), []int64{theirs.ID}},
		"pending approver and former decider":  {viewer("bob"), []int64{mine.ID, rejected.ID}},
		"former approver, not a commenter":     {viewer("carol"), []int64{mine.ID, expired.ID}},
		"requester of another org":             {viewer("mallory"), []int64{theirs.ID}},
		"stranger sees nothing":                {&store.RequestVisibility{UserID: 999999, Username: "nobody"}, []int64{}},
		"admin of no organization":             {viewer("erin", []int64{}...), []int64{rejected.ID, expired.ID}},
		"the username, not a prefix, decides":  {&store.RequestVisibility{UserID: 999999, Username: "bo"}, []int64{}},
		"the user id, not the username, owns":  {&store.RequestVisibility{UserID: 999999, Username: "alice"}, []int64{}},
		"empty username matches no approver":   {&store.RequestVisibility{UserID: 999999}, []int64{}},
		"many admin organizations are a union": {viewer("mallory", f.org.ID, initech.ID), []int64{mine.ID, rejected.ID, expired.ID, theirs.ID}},
	} {
		t.Run(name, func(t *testing.T) {
			got, total, err := s.ListRequests(ctx, store.RequestFilter{Visibility: tc.vis}, store.ListOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, requestIDs(got))
			assert.Equal(t, len(tc.want), total)
		})
	}

	t.Run("visibility narrows the other filters", func(t *testing.T) {
		got, total, err := s.ListRequests(ctx, store.RequestFilter{
			Visibility: viewer("bob"), Status: []string{"rejected", "expired"},
		}, store.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, []int64{rejected.ID}, requestIDs(got))
		assert.Equal(t, 1, total)
	})
}

func TestStore_ListPendingForPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	r1 := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0), pending: []string{"bob", "carol"}})
	r2 := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0), pending: []string{"bob"}})
	f.submitAs(t, "alice", state{status: "expired", pending: []string{"bob"}})
	r4 := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0), pending: []string{"bob"}})

	got, total, err := s.ListPendingForPage(ctx, "bob", store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int64{r1.ID, r2.ID, r4.ID}, requestIDs(got), "by id by default")
	assert.Equal(t, 3, total)

	got, total, err = s.ListPendingForPage(ctx, "bob", store.ListOptions{OrderBy: []string{"-id"}, PageSize: 2, Page: 2})
	require.NoError(t, err)
	assert.Equal(t, []int64{r1.ID}, requestIDs(got))
	assert.Equal(t, 3, total)

	got, total, err = s.ListPendingForPage(ctx, "carol", store.ListOptions{Page: 5})
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Equal(t, 1, total)

	_, _, err = s.ListPendingForPage(ctx, "bob", store.ListOptions{OrderBy: []string{"id; DROP TABLE users"}})
	assert.ErrorIs(t, err, store.ErrInvalid)
}

// Lists scan a request's columns by position: each lands in the field of
// its name, and every field of a row is read.
func TestStore_RequestRowsScanByName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rows, err := f.s.DB().QueryContext(context.Background(), store.RequestColumnsQuery)
	require.NoError(t, err)
	columns, err := rows.Columns()
	require.NoError(t, err)
	require.NoError(t, rows.Close())
	assert.Equal(t, columns, store.RequestScanColumns())
}

// The inbox's first page, read on every visit, settles on a generic plan:
// PostgreSQL stops planning it (with its bounds as parameters it planned
// every call anew, expecting a generic plan to read a tenth of the inbox).
func TestStore_InboxFirstPageStopsBeingPlanned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixtureOnOneConnection(t)
	s := f.s
	// An inbox of thousands, where a tenth of it is many pages.
	f.bigInbox(t, "bob", 3000)
	for range 8 {
		got, total, err := s.ListPendingForPage(ctx, "bob", store.ListOptions{})
		require.NoError(t, err)
		assert.Len(t, got, store.DefaultPageSize)
		assert.Equal(t, 3000, total)
	}
	assertSettledOnGenericPlan(t, s, "%service_request_inbox%")
}

// bigInbox submits n requests by alice waiting for username alone among
// nine times as many finished ones, in one statement, and gathers
// statistics: an inbox of a tenth of the table, as in the benchmark.
func (f *fixture) bigInbox(t *testing.T, username string, n int) {
	t.Helper()
	ctx := context.Background()
	_, err := f.s.DB().ExecContext(ctx, `INSERT INTO service_requests (organization_id, catalog_item_id, requester_id,
			requester_username, status, current_stage, pending_approvers)
		SELECT $1, $2, $3, 'alice', CASE WHEN g % 10 = 0 THEN 'pending_approval' ELSE 'successful' END,
			CASE WHEN g % 10 = 0 THEN 0 END, CASE WHEN g % 10 = 0 THEN ARRAY[$4] ELSE '{}'::text[] END
		FROM generate_series(1, 10 * $5::int) g`,
		f.org.ID, f.item.ID, f.users["alice"].ID, username, n)
	require.NoError(t, err)
	_, err = f.s.DB().ExecContext(ctx, `ANALYZE`)
	require.NoError(t, err)
}

// A page deep in a large inbox, in the order of ids, reads its ids from
// the inbox's index and joins only them, in either direction.
func TestStore_InboxDeepPagesByID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.bigInbox(t, "bob", 3000)
	all, total, err := f.s.ListPendingFor(ctx, "bob", 0, 0)
	require.NoError(t, err)
	require.Equal(t, 3000, total)
	require.Len(t, all, 3000)
	newestFirst := requestIDs(all)
	oldestFirst := slices.Clone(newestFirst)
	slices.Reverse(oldestFirst)

	for order, want := range map[string][]int64{"id": oldestFirst, "-id": newestFirst} {
		opts := store.ListOptions{OrderBy: []string{order}, Page: 120}
		got, total, err := f.s.ListPendingForPage(ctx, "bob", opts)
		require.NoError(t, err)
		assert.Equal(t, 3000, total)
		assert.Equal(t, want[2975:], requestIDs(got), order)
		plan, err := f.s.ExplainListPendingForPage(ctx, "bob", opts)
		require.NoError(t, err)
		assert.Contains(t, plan, "service_requests_pkey", "plan:\n%s", plan)
		assert.NotContains(t, plan, "Hash Join", "plan:\n%s", plan)
		assert.NotContains(t, plan, "Seq Scan on service_requests", "plan:\n%s", plan)
	}
}

// Inbox pages ordered by one field run prepared statements; a caller who
// varies a longer order cannot make the store keep a statement per order.
func TestStore_InboxPagesPreparedForOneFieldOrdersOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	r1 := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0), pending: []string{"bob"}})
	r2 := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0), pending: []string{"bob"}})
	before := s.PreparedStatements() // creating and recording requests prepare their own

	for range 3 {
		got, _, err := s.ListPendingForPage(ctx, "bob", store.ListOptions{OrderBy: []string{"-created"}})
		require.NoError(t, err)
		assert.Equal(t, []int64{r2.ID, r1.ID}, requestIDs(got))
	}
	assert.Equal(t, before+1, s.PreparedStatements(), "one statement for every page in that order")

	fields := []string{"id", "created", "modified", "status", "finished"}
	for _, a := range fields {
		for _, b := range fields {
			got, total, err := s.ListPendingForPage(ctx, "bob", store.ListOptions{OrderBy: []string{a, "-" + b, a}})
			require.NoError(t, err)
			assert.Len(t, got, 2)
			assert.Equal(t, 2, total)
		}
	}
	assert.Equal(t, before+1, s.PreparedStatements(), "orders of several fields are not kept")
}

// Lists by visibility and the inbox must stay index lookups however many
// requests accumulate: assert the plans PostgreSQL picks for the store's
// own queries on ~20k requests.
func TestStore_ListRequestsUsesIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	db := f.s.DB()

	// 20,000 requests by 500 requesters, 10% pending with two of 200
	// approvers each; every finished request has an approval by one of
	// them and a comment by another.
	const seedUsers = `INSERT INTO users (username) SELECT 'user' || g FROM generate_series(0, 499) g`
	const seedRequests = `INSERT INTO service_requests (organization_id, catalog_item_id, requester_id,
			requester_username, status, current_stage, pending_approvers)
		SELECT $1, $2, u.id, u.username,
			CASE WHEN g % 10 = 0 THEN 'pending_approval' ELSE 'successful' END,
			CASE WHEN g % 10 = 0 THEN 0 END,
			CASE WHEN g % 10 = 0 THEN ARRAY['user' || (g / 10 % 200), 'user' || ((g / 10 + 1) % 200)]
				ELSE '{}'::text[] END
		FROM generate_series(1, 20000) g JOIN users u ON u.username = 'user' || (g % 500)`
	// As the projection keeps them: who may decide and who decided were
	// asked.
	const seedParticipants = `UPDATE service_requests r SET participants = ARRAY(
		SELECT DISTINCT x FROM unnest(r.pending_approvers || ARRAY(SELECT d.username FROM service_request_responses d
			WHERE d.request_id = r.id AND d.kind IN ('approve', 'reject'))) x ORDER BY x)`
	const seedResponses = `INSERT INTO service_request_responses (request_id, stage_position, username, kind, created)
		SELECT id, 0, 'user' || (id % 200), 'approve', now() FROM service_requests WHERE status = 'successful'
		UNION ALL
		SELECT id, 0, 'user' || ((id + 7) % 200), 'comment', now() FROM service_requests WHERE status = 'successful'`
	_, err := db.ExecContext(ctx, seedUsers)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, seedRequests, f.org.ID, f.item.ID)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, seedResponses)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, seedParticipants)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `ANALYZE`)
	require.NoError(t, err)

	user7, err := f.s.GetUserByUsername(ctx, "user7")
	require.NoError(t, err)
	vis := &store.RequestVisibility{UserID: user7.ID, Username: "user7"}

	t.Run("the approver's list is right", func(t *testing.T) {
		var want int
		require.NoError(t, db.GetContext(ctx, &want, `SELECT count(*) FROM service_requests r
			WHERE r.requester_id = $1
				OR (r.status = 'pending_approval' AND 'user7' = ANY(r.pending_approvers))
				OR EXISTS (SELECT 1 FROM service_request_responses x
					WHERE x.request_id = r.id AND x.username = 'user7' AND x.kind IN ('approve', 'reject'))`, user7.ID))
		require.Greater(t, want, 100)
		got, total, err := f.s.ListRequests(ctx, store.RequestFilter{Visibility: vis}, store.ListOptions{PageSize: 200})
		require.NoError(t, err)
		assert.Equal(t, want, total)
		assert.Len(t, got, min(want, 200))
	})

	for name, opts := range map[string]store.ListOptions{
		"newest first": {OrderBy: []string{"-id"}},
		"by status":    {OrderBy: []string{"status", "-created"}},
	} {
		t.Run("approver visibility, "+name, func(t *testing.T) {
			page, count, err := f.s.ExplainListRequests(ctx, store.RequestFilter{Visibility: vis}, opts)
			require.NoError(t, err)
			// The count reads the visible rows through their indexes; a
			// page may instead walk an index in its order until it has
			// enough rows, when the planner expects that to be cheaper.
			for _, index := range []string{"service_requests_requester_idx", "service_requests_participants_idx"} {
				assert.Contains(t, count, index, "plan:\n%s", count)
			}
			for _, plan := range []string{page, count} {
				assert.NotContains(t, plan, "Seq Scan", "plan:\n%s", plan)
			}
		})
	}

	t.Run("the inbox page", func(t *testing.T) {
		plan, err := f.s.ExplainListPendingForPage(ctx, "user7", store.ListOptions{OrderBy: []string{"-created"}})
		require.NoError(t, err)
		assert.Contains(t, plan, "service_request_inbox_pkey", "plan:\n%s", plan)
		assert.Contains(t, plan, "service_request_inbox_counts_pkey", "the size is read, not counted; plan:\n%s", plan)
		assert.NotContains(t, plan, "Aggregate", "plan:\n%s", plan)
		assert.NotContains(t, plan, "Seq Scan", "plan:\n%s", plan)
	})

	// The page's statement is prepared (ListPendingForPage): the plan it
	// settles on, made without the parameters, must stay index lookups.
	t.Run("the inbox page's generic plan", func(t *testing.T) {
		for _, opts := range []store.ListOptions{{}, {OrderBy: []string{"-created"}}} {
			plan, err := f.s.ExplainGenericListPendingForPage(ctx, "user7", opts)
			require.NoError(t, err)
			assert.Contains(t, plan, "service_request_inbox_pkey", "plan:\n%s", plan)
			assert.Contains(t, plan, "service_request_inbox_counts_pkey", "plan:\n%s", plan)
			assert.NotContains(t, plan, "Seq Scan", "plan:\n%s", plan)
		}
	})

	t.Run("a superuser's newest created first", func(t *testing.T) {
		page, _, err := f.s.ExplainListRequests(ctx, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"-created"}})
		require.NoError(t, err)
		assert.Contains(t, page, "Index Scan Backward using service_requests_created_idx", "plan:\n%s", page)
	})

	t.Run("by requester username", func(t *testing.T) {
		page, count, err := f.s.ExplainListRequests(ctx, store.RequestFilter{RequesterUsername: "user7"}, store.ListOptions{})
		require.NoError(t, err)
		for _, plan := range []string{page, count} {
			assert.Contains(t, plan, "service_requests_requester_username_idx", "plan:\n%s", plan)
			assert.NotContains(t, plan, "Seq Scan", "plan:\n%s", plan)
		}
	})

	t.Run("the reconciler's scan", func(t *testing.T) {
		var plan []string
		require.NoError(t, db.SelectContext(ctx, &plan, "EXPLAIN "+store.UnsettledQuery, time.Now().Add(time.Hour), 0, 100))
		text := strings.Join(plan, "\n")
		assert.Contains(t, text, "service_requests_unsettled_idx", "plan:\n%s", text)
		assert.NotContains(t, text, "Seq Scan", "plan:\n%s", text)
	})

	t.Run("a superuser's unfiltered filter folds away", func(t *testing.T) {
		page, _, err := f.s.ExplainListRequests(ctx, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"-id"}})
		require.NoError(t, err)
		assert.Contains(t, page, "Index Scan Backward using service_requests_pkey", "plan:\n%s", page)
		// The two subplans left read each listed row's deciders and its
		// children (resubmissions), both by index.
		assert.Equal(t, 2, strings.Count(page, "SubPlan"), "the visibility subquery is gone:\n%s", page)
		assert.Contains(t, page, "service_requests_parent_id_key on service_requests c", "plan:\n%s", page)
		assert.NotContains(t, page, "InitPlan", "plan:\n%s", page)
		assert.Contains(t, page, "service_request_responses_request_idx on service_request_responses d", "plan:\n%s", page)
		assert.NotContains(t, page, "Seq Scan", "plan:\n%s", page)
	})
}

func TestStore_ListRequestsUndecided(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	boss, err := s.CreateUser(ctx, store.NewUser{Username: "boss", IsSuperuser: true})
	require.NoError(t, err)
	open := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0)})
	decided := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0)})
	st := snapshot(f, decided.ID, 5)
	st.Responses = []store.Response{{StagePosition: ptr(0), Username: "boss", Kind: "approve", Created: time.Now()}}
	_, err = s.RecordRequestState(ctx, st)
	require.NoError(t, err)
	own := f.submitAs(t, "alice", state{status: "pending_approval", stage: ptr(0)})
	_, err = s.DB().ExecContext(ctx, `UPDATE service_requests SET requester_id = $1 WHERE id = $2`, boss.ID, own.ID)
	require.NoError(t, err)

	got, total, err := s.ListRequests(ctx, store.RequestFilter{Status: []string{"pending_approval"},
		Undecided: &store.UserRef{ID: boss.ID, Username: "boss"}}, store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, total)
	assert.Equal(t, []int64{open.ID}, requestIDs(got), "neither decided nor their own")
}

// Whoever was asked about a request keeps seeing it: participants are only
// ever added, whatever order snapshots come in.
func TestStore_RequestParticipants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	req := f.submitAs(t, "alice", state{})
	record := func(seq int64, status string, pending, asked []string) {
		t.Helper()
		_, err := s.RecordRequestState(ctx, store.RequestState{ID: req.ID, Seq: seq, Status: status,
			PendingApprovers: pending, Participants: asked, Stages: req.Stages})
		require.NoError(t, err)
	}
	participants := func() []string {
		t.Helper()
		got, err := s.GetRequest(ctx, req.ID)
		require.NoError(t, err)
		return got.Participants
	}
	record(2, "pending_approval", []string{"bob", "carol"}, []string{"bob", "carol"})
	record(3, "expired", nil, []string{"alice"})
	record(1, "pending_approval", []string{"bob"}, []string{"erin"}) // late: not applied, but erin was asked
	assert.Equal(t, []string{"alice", "bob", "carol", "erin"}, participants())
	require.NoError(t, s.AddRequestParticipants(ctx, req.ID, []string{"bob", "admin"}))
	require.NoError(t, s.AddRequestParticipants(ctx, req.ID, nil))
	assert.Equal(t, []string{"admin", "alice", "bob", "carol", "erin"}, participants())

	// bob no longer decides the expired request but still sees it.
	got, _, err := s.ListRequests(ctx, store.RequestFilter{Visibility: &store.RequestVisibility{
		UserID: f.users["bob"].ID, Username: "bob"}}, store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int64{req.ID}, requestIDs(got))
	got, _, err = s.ListRequests(ctx, store.RequestFilter{Visibility: &store.RequestVisibility{
		UserID: 999999, Username: "mallory"}}, store.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, got)
}
