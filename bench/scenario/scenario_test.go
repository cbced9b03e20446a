package scenario_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/bench/load"
	"github.com/countersign/countersign/bench/scenario"
)

// fakeAPI answers the calls the scenarios make the way Countersign does,
// with a request becoming visible to its approver only on the second look,
// as when the worker has not yet recorded who may decide it.
type fakeAPI struct {
	t         *testing.T
	mu        sync.Mutex
	nextID    int64
	looks     map[int64]int
	approvals map[int64]int
	inbox     int
	// hidden answers 404 to the first approval of each request, as the
	// API does until the workflow has published the approvers.
	hidden map[int64]bool
}

var tokens = map[string]string{"tok-alice": "alice", "tok-bob": "bob"}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if user == "" {
		http.Error(w, `{"detail":"no token"}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path := r.Method + " " + r.URL.Path
	var id int64
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v2/service_requests/"); ok {
		id, _ = strconv.ParseInt(strings.Split(rest, "/")[0], 10, 64)
	}
	switch {
	case path == "GET /api/v2/me/":
		writeJSON(w, http.StatusOK, map[string]any{"username": user})
	case path == "POST /api/v2/service_catalog_items/5/submit/":
		assert.Equal(f.t, "alice", user)
		var body map[string]any
		assert.NoError(f.t, json.NewDecoder(r.Body).Decode(&body))
		assert.Equal(f.t, "load test", body["justification"])
		f.nextID++
		writeJSON(w, http.StatusCreated, map[string]any{"id": f.nextID, "status": "pending_approval"})
	case path == "GET /api/v2/service_requests/pending_approvals/":
		assert.Equal(f.t, "bob", user)
		assert.Equal(f.t, "page_size=50", r.URL.RawQuery)
		f.inbox++
		writeJSON(w, http.StatusOK, map[string]any{"count": 0, "results": []any{}})
	case r.Method == "GET" && id > 0:
		f.looks[id]++
		if f.looks[id] == 1 {
			writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not found."})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "source": "workflow", "status": "pending_approval", "pending_approvers": []string{"bob", "carol"}})
	case path == fmt.Sprintf("POST /api/v2/service_requests/%d/approve/", id):
		assert.Equal(f.t, "bob", user)
		if f.hidden != nil && !f.hidden[id] {
			f.hidden[id] = true
			writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not found."})
			return
		}
		f.approvals[id]++
		if f.approvals[id] > 1 {
			writeJSON(w, http.StatusConflict, map[string]any{"detail": "already decided"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": "approved"})
	default:
		f.t.Errorf("unexpected call %s as %s", path, user)
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newTarget(t *testing.T) (*scenario.Target, *fakeAPI, *http.Client) {
	f := &fakeAPI{t: t, looks: map[int64]int{}, approvals: map[int64]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := load.NewClient(4)
	ctx := context.Background()
	requesters, err := scenario.Users(ctx, c, srv.URL, []string{"tok-alice"})
	require.NoError(t, err)
	approvers, err := scenario.Users(ctx, c, srv.URL, []string{"tok-bob"})
	require.NoError(t, err)
	assert.Equal(t, []scenario.User{{Token: "tok-bob", Username: "bob"}}, approvers)
	return &scenario.Target{BaseURL: srv.URL + "/", Item: 5, Requesters: requesters, Approvers: approvers, InboxQuery: "page_size=50"}, f, c
}

func TestUsers_RefusesABadToken(t *testing.T) {
	srv := httptest.NewServer(&fakeAPI{t: t})
	defer srv.Close()
	_, err := scenario.Users(context.Background(), load.NewClient(1), srv.URL, []string{"nope"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "status 401")
}

func TestSubmitAndInbox(t *testing.T) {
	target, f, c := newTarget(t)
	res, err := load.Run(context.Background(), load.Options{Concurrency: 3, Calls: 12, Client: c}, target.Submit())
	require.NoError(t, err)
	assert.Equal(t, 12, res.Calls)
	assert.Zero(t, res.Errors)
	assert.Equal(t, int64(12), f.nextID)

	res, err = load.Run(context.Background(), load.Options{Concurrency: 3, Calls: 9, Client: c}, target.Inbox())
	require.NoError(t, err)
	assert.Equal(t, 9, res.Calls)
	assert.Zero(t, res.Errors)
	assert.Equal(t, 9, f.inbox)
}

func TestPrepareApprovals_ApprovesEachPreparedRequestOnce(t *testing.T) {
	target, f, c := newTarget(t)
	approve, err := target.PrepareApprovals(context.Background(), c, 20, 4, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "approve", approve.Name)
	for id := int64(1); id <= 20; id++ {
		assert.GreaterOrEqual(t, f.looks[id], 2, "request %d was checked until its approver could see it", id)
	}
	assert.Empty(t, f.approvals, "preparing approves nothing")

	res, err := load.Run(context.Background(), load.Options{Concurrency: 4, Duration: time.Hour, Client: c}, approve)
	require.NoError(t, err)
	assert.True(t, res.Exhausted)
	assert.Equal(t, 20, res.Calls)
	assert.Zero(t, res.Errors)
	require.Len(t, f.approvals, 20)
	for id, n := range f.approvals {
		assert.Equal(t, 1, n, "request %d", id)
	}
}

func TestPrepareApprovals_GivesUpWhenTheApproverIsNotEligible(t *testing.T) {
	target, _, c := newTarget(t)
	target.Approvers = []scenario.User{{Token: "tok-bob", Username: "dave"}}
	_, err := target.PrepareApprovals(context.Background(), c, 2, 2, 500*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not wait for approvers dave")
	assert.Contains(t, err.Error(), "eligible for item 5")
}

func TestLifecycle_SubmitsApprovesAndAwaitsEachRequest(t *testing.T) {
	target, f, c := newTarget(t)
	f.hidden = map[int64]bool{}
	var mu sync.Mutex
	awaited := map[int64]bool{}
	lifecycle := target.Lifecycle(func(_ context.Context, id int64) error {
		f.mu.Lock()
		assert.Equal(t, 1, f.approvals[id], "request %d is approved before it is awaited", id)
		f.mu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		awaited[id] = true
		if id == 3 {
			return fmt.Errorf("request %d ended failed", id)
		}
		return nil
	})
	res, err := load.Run(context.Background(), load.Options{Concurrency: 2, Calls: 6, Client: c}, lifecycle)
	require.NoError(t, err)
	assert.Equal(t, 6, res.Calls)
	assert.Equal(t, 1, res.Errors, "a request that did not succeed fails its lifecycle")
	assert.Len(t, awaited, 6)
	assert.Len(t, f.approvals, 6)
	assert.Len(t, f.hidden, 6, "each approval was retried once the request became visible")
}
