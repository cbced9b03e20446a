package fasttest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// caps are a request's user_capabilities.
type caps struct {
	approve, reject, requestChanges, comment, cancel, delete, extend, escalate, resubmit, requestAgain bool
}

func (c caps) json() map[string]any {
	return map[string]any{"approve": c.approve, "reject": c.reject, "request_changes": c.requestChanges, "comment": c.comment,
		"cancel": c.cancel, "delete": c.delete, "extend": c.extend, "escalate": c.escalate, "resubmit": c.resubmit,
		"request_again": c.requestAgain}
}

// capabilitiesOf reads summary_fields.user_capabilities.
func capabilitiesOf(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	sf, ok := obj["summary_fields"].(map[string]any)
	require.True(t, ok, "summary_fields in %v", obj)
	c, ok := sf["user_capabilities"].(map[string]any)
	require.True(t, ok, "user_capabilities in %v", sf)
	return c
}

// fallback is how the workflow fails to answer, so that a request's
// detail comes from the projection.
type fallback struct {
	name  string
	setup func(e *env, id int64)
}

var fallbacks = []fallback{
	{"query fails", func(e *env, id int64) {
		e.workers(true)
		e.queryFails(id, serviceerror.NewUnavailable("temporal.internal:7233 "+secret))
	}},
	{"no worker", func(e *env, id int64) { e.workers(false) }},
	{"workflow gone", func(e *env, id int64) {
		e.workers(true)
		e.queryFails(id, serviceerror.NewNotFound("workflow not found"))
	}},
}

// TestRequestCapabilities checks what each persona may do to a request in
// each phase: in its detail from the workflow's live state, in its detail
// from the projection when the workflow cannot answer, and in the lists
// (always from the projection). oscar, of another organization, sees it
// nowhere.
func TestRequestCapabilities(t *testing.T) {
	phases := []struct {
		name string
		// file makes the request and brings it to the phase.
		file func(e *env) (store.Request, *approval.Request)
		want map[string]caps
	}{{
		name: "waiting for sre",
		file: func(e *env) (store.Request, *approval.Request) { return e.pendingRequest() },
		want: map[string]caps{
			// The item's stage allows no extension.
			superuser: {approve: true, reject: true, requestChanges: true, comment: true, cancel: true, delete: true, escalate: true},
			orgAdmin:  {comment: true, cancel: true, delete: true, escalate: true},
			requester: {comment: true, cancel: true, delete: true},
			approver:  {approve: true, reject: true, requestChanges: true, comment: true},
		},
	}, {
		name: "approved, before launch",
		file: func(e *env) (store.Request, *approval.Request) {
			_, live := e.pendingRequest()
			return e.act(live, approval.ActionApprove, approver, "fine"), live
		},
		want: map[string]caps{
			superuser: {comment: true, cancel: true},
			orgAdmin:  {comment: true, cancel: true},
			requester: {comment: true, cancel: true},
			approver:  {comment: true},
		},
	}, {
		name: "rejected",
		file: func(e *env) (store.Request, *approval.Request) {
			_, live := e.pendingRequest()
			return e.act(live, approval.ActionReject, approver, "not now"), live
		},
		want: map[string]caps{
			superuser: {delete: true},
			orgAdmin:  {delete: true},
			requester: {delete: true, requestAgain: true},
			approver:  {},
		},
	}, {
		name: "canceled by its requester",
		file: func(e *env) (store.Request, *approval.Request) {
			_, live := e.pendingRequest()
			return e.act(live, approval.ActionCancel, requester, "not needed"), live
		},
		want: map[string]caps{
			superuser: {delete: true},
			orgAdmin:  {delete: true},
			requester: {delete: true, requestAgain: true},
			// bob was asked, so he still sees it, but may do nothing.
			approver: {},
		},
	}}
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			t.Run("from the workflow", func(t *testing.T) {
				e := newEnv(t)
				r, live := ph.file(e)
				e.workers(true)
				e.answersState(live)
				e.checkRequestCapabilities(r.ID, "workflow", ph.want)
			})
			for _, fb := range fallbacks {
				t.Run("from the projection: "+fb.name, func(t *testing.T) {
					e := newEnv(t)
					r, _ := ph.file(e)
					fb.setup(e, r.ID)
					e.checkRequestCapabilities(r.ID, "projection", ph.want)
				})
			}
		})
	}
}

// checkRequestCapabilities asserts each persona's capabilities on request
// id in its detail (which must come from source) and in the lists that
// show it to them: a list row says what the detail says.
func (e *env) checkRequestCapabilities(id int64, source string, want map[string]caps) {
	e.t.Helper()
	for _, user := range personas {
		w, visible := want[user]
		if !visible {
			assert.Equal(e.t, detail(notFound), e.must(http.StatusNotFound, user, "GET", requestPath(id), nil), user)
			assert.Empty(e.t, e.listed(user, "/api/v2/service_requests/", id), "%s lists request %d", user, id)
			continue
		}
		got := e.must(http.StatusOK, user, "GET", requestPath(id), nil)
		assert.Equal(e.t, source, got["source"], user)
		assert.Equal(e.t, w.json(), capabilitiesOf(e.t, got), "%s's capabilities in the detail", user)
		if listed := e.listed(user, "/api/v2/service_requests/", id); assert.NotNil(e.t, listed, "%s lists request %d", user, id) {
			assert.Equal(e.t, w.json(), capabilitiesOf(e.t, listed), "%s's capabilities in the list", user)
		}
		inbox := e.listed(user, "/api/v2/service_requests/pending_approvals/", id)
		if w.approve {
			if assert.NotNil(e.t, inbox, "request %d in %s's inbox", id, user) {
				assert.Equal(e.t, w.json(), capabilitiesOf(e.t, inbox), "%s's capabilities in the inbox", user)
			}
		} else {
			assert.Nil(e.t, inbox, "request %d in %s's inbox", id, user)
		}
	}
}

// listed is object id in the first page of list as user sees it, or nil.
func (e *env) listed(user, list string, id int64) map[string]any {
	e.t.Helper()
	page := e.must(http.StatusOK, user, "GET", list+"?page_size=200", nil)
	for _, o := range page["results"].([]any) {
		if o := o.(map[string]any); int64(o["id"].(float64)) == id {
			return o
		}
	}
	return nil
}

// The workflow knows rules the projection cannot apply: a stage past its
// deadline takes no decisions even before the workflow's timer fires,
// while the projection still shows the approver.
func TestRequestCapabilities_LiveStateKnowsTheDeadline(t *testing.T) {
	e := newEnv(t)
	e.now = time.Now().Add(-25 * time.Hour) // the stage's 24 h ran out an hour ago
	r, live := e.pendingRequest()
	e.workers(true)
	e.answersState(live)
	got := e.must(http.StatusOK, approver, "GET", requestPath(r.ID), nil)
	assert.Equal(t, "workflow", got["source"])
	assert.Equal(t, caps{comment: true}.json(), capabilitiesOf(t, got))
	listed := e.listed(approver, "/api/v2/service_requests/", r.ID)
	require.NotNil(t, listed)
	assert.Equal(t, caps{approve: true, reject: true, requestChanges: true, comment: true}.json(), capabilitiesOf(t, listed),
		"the projection does not know the deadline passed")
}

// Who may decide is read from the store at once, as a decision's roster
// is: bob, removed from sre after the stage opened, may no longer approve,
// though the workflow's own roster still names him.
func TestRequestCapabilities_MembershipChangesHoldAtOnce(t *testing.T) {
	e := newEnv(t)
	r, live := e.pendingRequest()
	require.Contains(t, live.Roster.TeamMembers, approver)
	require.NoError(t, e.store.RemoveTeamMember(context.Background(), e.sre.ID, e.users[approver].ID))
	e.workers(true)
	e.answersState(live)
	got := e.must(http.StatusOK, approver, "GET", requestPath(r.ID), nil)
	assert.Equal(t, "workflow", got["source"])
	assert.Equal(t, caps{}.json(), capabilitiesOf(t, got))
}

// A capability is a promise: the call it allows is sent to the workflow,
// and one it refuses is answered without asking the workflow to apply it
// (the mock fails the test on any update not set up).
func TestRequestCapabilities_KeptByTheCalls(t *testing.T) {
	e := newEnv(t)
	r, live := e.pendingRequest()
	e.workers(true)
	e.answersState(live)
	after := e.clone(live)
	_, err := after.Apply(approval.Act{Action: approval.ActionApprove, User: approver, Text: "fine"}, time.Now())
	require.NoError(t, err)
	e.updateAnswers(r.ID, approval.ActionApprove, nil, after)
	got := e.must(http.StatusOK, approver, "POST", requestPath(r.ID)+"approve/", map[string]any{"comment": "fine"})
	assert.Equal(t, string(approval.StatusApproved), got["status"])
	assert.Equal(t, caps{comment: true}.json(), capabilitiesOf(t, got), "what bob may do once he approved")

	// oscar's refusal comes from access, before any workflow is asked.
	e.must(http.StatusNotFound, outsider, "POST", requestPath(r.ID)+"approve/", map[string]any{"comment": "fine"})
	// An approved request cannot be deleted: refused from the projection.
	e.act(live, approval.ActionApprove, approver, "fine")
	body := e.must(http.StatusConflict, requester, "DELETE", requestPath(r.ID), nil)
	assert.Equal(t, string(approval.CodeLaunched), body["code"])
}
