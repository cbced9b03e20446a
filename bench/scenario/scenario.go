// Package scenario holds the Countersign API calls that load tests
// measure, as load.Scenarios against a running API: submitting a request,
// approving one and reading the approval inbox. The countersign-load
// command and the in-process benchmark both use it, so they measure the
// same thing.
package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/countersign/countersign/bench/load"
)

// RestartServiceBody is a valid submission for a catalog item launching
// the demo "Restart service" job template (awxsim.DemoRestartServiceID).
var RestartServiceBody = []byte(`{"justification":"load test","extra_vars":{"service_name":"api","drain_seconds":30,"reason":"load test"}}`)

// approveBody is what each approval sends; a comment, as people leave one.
var approveBody = []byte(`{"comment":"load test"}`)

// User is an API token and the user it authenticates as.
type User struct {
	Token    string
	Username string
}

// Target is a running API and the users who act on it.
type Target struct {
	// BaseURL is the API's root, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Requesters submit, in turn. Approvers approve and read their inbox,
	// in turn; every approver must be eligible for Item's plan.
	Requesters []User
	Approvers  []User
	// Item is the catalog item submitted. For the approve scenario its plan
	// must be one stage needing one approval, so that each approval
	// completes a request.
	Item int64
	// SubmitBody is the submission; nil means RestartServiceBody.
	SubmitBody []byte
	// InboxQuery is the inbox's query string without "?" (e.g.
	// "page_size=50"); empty reads the default first page.
	InboxQuery string

	next atomic.Uint64
}

// Users resolves tokens to users with /api/v2/me/, so that a token that
// does not authenticate fails before any load is applied.
func Users(ctx context.Context, c *http.Client, baseURL string, tokens []string) ([]User, error) {
	out := make([]User, 0, len(tokens))
	for _, tok := range tokens {
		raw, err := load.Do(ctx, c, load.Request{Method: "GET", URL: strings.TrimRight(baseURL, "/") + "/api/v2/me/", Token: tok}, http.StatusOK)
		if err != nil {
			return nil, fmt.Errorf("checking a token: %w", err)
		}
		var me struct {
			Username string `json:"username"`
		}
		if err := json.Unmarshal(raw, &me); err != nil || me.Username == "" {
			return nil, fmt.Errorf("/api/v2/me/ answered without a username: %.200s", raw)
		}
		out = append(out, User{Token: tok, Username: me.Username})
	}
	return out, nil
}

func (t *Target) url(format string, args ...any) string {
	return strings.TrimRight(t.BaseURL, "/") + fmt.Sprintf(format, args...)
}

// pick takes users in turn across all workers.
func (t *Target) pick(users []User) User {
	return users[int(t.next.Add(1)%uint64(len(users)))]
}

// Submit submits SubmitBody to Item as the next requester and expects 201:
// survey validation, plan resolution, the request's row and the start of
// its workflow, all within the call. Each new request then waits for
// approval, so a long run fills the approvers' inboxes.
func (t *Target) Submit() load.Scenario {
	return load.Scenario{Name: "submit", Call: func(ctx context.Context, c *http.Client) error {
		_, err := t.submit(ctx, c)
		return err
	}}
}

func (t *Target) submit(ctx context.Context, c *http.Client) (int64, error) {
	body := t.SubmitBody
	if body == nil {
		body = RestartServiceBody
	}
	raw, err := load.Do(ctx, c, load.Request{Method: "POST", URL: t.url("/api/v2/service_catalog_items/%d/submit/", t.Item),
		Token: t.pick(t.Requesters).Token, Body: body}, http.StatusCreated)
	if err != nil {
		return 0, err
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.ID == 0 {
		return 0, fmt.Errorf("submit answered 201 without an id: %.200s", raw)
	}
	return created.ID, nil
}

// Inbox reads the next approver's approval inbox and expects 200.
func (t *Target) Inbox() load.Scenario {
	path := "/api/v2/service_requests/pending_approvals/"
	if t.InboxQuery != "" {
		path += "?" + t.InboxQuery
	}
	return load.Scenario{Name: "inbox", Call: func(ctx context.Context, c *http.Client) error {
		_, err := load.Do(ctx, c, load.Request{Method: "GET", URL: t.url("%s", path), Token: t.pick(t.Approvers).Token}, http.StatusOK)
		return err
	}}
}

// PrepareApprovals submits n requests (concurrency at a time) and waits,
// for at most within, until each is waiting for every approver: its
// workflow has resolved the stage's approvers and the projection shows
// them, which is when an approval can be decided. It returns the approve
// scenario: each call approves one of these requests as the next approver
// and expects 200, the update having gone through the request's workflow;
// once all are decided, calls return load.ErrExhausted. With Item's plan
// of one single-approval stage, each approval completes the request, which
// the worker then launches in AWX.
func (t *Target) PrepareApprovals(ctx context.Context, c *http.Client, n, concurrency int, within time.Duration) (load.Scenario, error) {
	var (
		mu  sync.Mutex
		ids []int64
	)
	collect := load.Scenario{Name: "prepare", Call: func(ctx context.Context, c *http.Client) error {
		id, err := t.submit(ctx, c)
		if err == nil {
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		}
		return err
	}}
	res, err := load.Run(ctx, load.Options{Concurrency: concurrency, Calls: n, Client: c}, collect)
	if err != nil {
		return load.Scenario{}, err
	}
	if res.Errors > 0 {
		return load.Scenario{}, fmt.Errorf("preparing requests to approve: %d of %d submissions failed: %v", res.Errors, res.Calls, res.ErrorSamples)
	}
	if err := t.awaitPending(ctx, c, ids, concurrency, within); err != nil {
		return load.Scenario{}, err
	}
	queue := make(chan int64, len(ids))
	for _, id := range ids {
		queue <- id
	}
	close(queue)
	return load.Scenario{Name: "approve", Call: func(ctx context.Context, c *http.Client) error {
		id, ok := <-queue
		if !ok {
			return load.ErrExhausted
		}
		_, err := load.Do(ctx, c, load.Request{Method: "POST", URL: t.url("/api/v2/service_requests/%d/approve/", id),
			Token: t.pick(t.Approvers).Token, Body: approveBody}, http.StatusOK)
		return err
	}}, nil
}

// errNotYet marks a request whose stage is not open to the approvers yet.
var errNotYet = errors.New("not yet waiting for the approvers")

// awaitPending polls each request's detail until every approver sees it
// waiting for them.
func (t *Target) awaitPending(ctx context.Context, c *http.Client, ids []int64, concurrency int, within time.Duration) error {
	deadline := time.Now().Add(within)
	waiting := ids
	var last error
	for len(waiting) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d submitted requests did not wait for approvers %s within %s (is every approver eligible for item %d's plan?): last: %v",
				len(waiting), len(ids), t.approverNames(), within, t.Item, last)
		}
		var mu sync.Mutex
		var still []int64
		forEach(waiting, concurrency, func(id int64) {
			if err := t.pendingForApprovers(ctx, c, id); err != nil {
				mu.Lock()
				still, last = append(still, id), err
				mu.Unlock()
			}
		})
		if err := ctx.Err(); err != nil {
			return err
		}
		if waiting = still; len(waiting) > 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

func (t *Target) approverNames() string {
	names := make([]string, len(t.Approvers))
	for i, u := range t.Approvers {
		names[i] = u.Username
	}
	return strings.Join(names, ", ")
}

// pendingForApprovers checks one request as each approver: it must be
// visible to them (the projection lists them as approvers) and its live
// state must be waiting for them.
func (t *Target) pendingForApprovers(ctx context.Context, c *http.Client, id int64) error {
	for _, a := range t.Approvers {
		raw, err := load.Do(ctx, c, load.Request{Method: "GET", URL: t.url("/api/v2/service_requests/%d/", id), Token: a.Token}, http.StatusOK)
		if err != nil {
			return err
		}
		var st struct {
			Source           string   `json:"source"`
			Status           string   `json:"status"`
			PendingApprovers []string `json:"pending_approvers"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			return err
		}
		if st.Source != "workflow" || st.Status != "pending_approval" || !slices.Contains(st.PendingApprovers, a.Username) {
			return fmt.Errorf("request %d (%s, %s, approvers %v): %w", id, st.Status, st.Source, st.PendingApprovers, errNotYet)
		}
	}
	return nil
}

// forEach calls fn for every id, at most concurrency at a time.
func forEach(ids []int64, concurrency int, fn func(int64)) {
	sem := make(chan struct{}, max(concurrency, 1))
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(id)
		}()
	}
	wg.Wait()
}

// Lifecycle is a whole request as one call: submit Item as the next
// requester, approve it as each approver in turn (Item's plan must need
// exactly their approvals, one each), then await its end with await,
// which fails unless the request succeeded. Each approval expects 200,
// the decision having gone through the request's workflow.
func (t *Target) Lifecycle(await func(ctx context.Context, id int64) error) load.Scenario {
	return load.Scenario{Name: "lifecycle", Call: func(ctx context.Context, c *http.Client) error {
		id, err := t.submit(ctx, c)
		if err != nil {
			return err
		}
		for _, a := range t.Approvers {
			if err := t.approveOnceVisible(ctx, c, id, a); err != nil {
				return fmt.Errorf("approving request %d as %s: %w", id, a.Username, err)
			}
		}
		return await(ctx, id)
	}}
}

// Submit answers once the workflow has published the stage's approvers or
// after 5 s, whichever comes first; on a loaded server an approver may
// find the request only a moment after the 201 (404 until then), as a
// person who follows a notification quickly would.
const (
	visibleRetry  = 50 * time.Millisecond
	visibleWithin = time.Minute
)

// approveOnceVisible approves request id as a, retrying while a cannot
// see it yet, for at most visibleWithin.
func (t *Target) approveOnceVisible(ctx context.Context, c *http.Client, id int64, a User) error {
	deadline := time.Now().Add(visibleWithin)
	for {
		_, err := load.Do(ctx, c, load.Request{Method: "POST", URL: t.url("/api/v2/service_requests/%d/approve/", id),
			Token: a.Token, Body: approveBody}, http.StatusOK)
		var status *load.StatusError
		if !errors.As(err, &status) || status.Code != http.StatusNotFound || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(visibleRetry):
		}
	}
}
