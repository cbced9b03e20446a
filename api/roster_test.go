package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// Who may decide follows PostgreSQL at the moment of the decision: a
// membership or role change holds for decisions as soon as it is made,
// before the waiting requests have heard of it.
func TestAPI_DecisionsFollowMembershipAtOnce(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	id := e.submitRestart(restart)
	ctx := context.Background()
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)

	// Changed behind the workflow's back (no refresh is sent): carol leaves
	// sre, grace becomes a superuser.
	require.NoError(t, e.stack.Store.RemoveTeamMember(ctx, e.teamID("sre"), e.userID(approver2)))
	e.addUser(store.NewUser{Username: "grace", IsSuperuser: true})

	out := e.must(http.StatusForbidden, approver2, "POST", path+"approve/", nil)
	assert.Equal(t, "not_eligible", out["code"], "carol's removal holds at once")
	done := e.must(http.StatusOK, "grace", "POST", path+"approve/", map[string]any{"comment": "new here"})
	assert.NotEqual(t, "pending_approval", done["status"], "and so does grace's new role")
}

// A superuser created through the API is told to every waiting request,
// as a user made superuser is.
func TestAPI_NewSuperuserDecidesAtOnce(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	id := e.submitRestart(restart)
	u := e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "heidi", "is_superuser": true})
	tok := e.must(http.StatusCreated, superuser, "POST", fmt.Sprintf("/api/v2/users/%d/tokens/", idOf(u)), nil)
	e.tokens["heidi"] = tok["token"].(string)
	assert.Contains(t, e.inbox("heidi"), id)
	e.must(http.StatusOK, "heidi", "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", id), nil)
	e.eventually(30*time.Second, "the request to know heidi", func() bool {
		st := e.must(http.StatusOK, superuser, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		return st["status"] != "pending_approval"
	})
}

// Whoever was asked to decide keeps seeing the request once it moved on,
// and a decision then is refused as too late, not as unknown.
func TestAPI_AskedApproversKeepSeeingTheRequest(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	id := e.submitRestart(restart) // waits for bob and carol
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	e.must(http.StatusOK, approver2, "POST", path+"reject/", map[string]any{"reason": "not today"})
	e.eventually(30*time.Second, "the rejection in PostgreSQL", func() bool {
		return e.must(http.StatusOK, requester, "GET", path, nil)["status"] == "rejected"
	})

	assert.Equal(t, "rejected", e.must(http.StatusOK, approver, "GET", path, nil)["status"], "bob was asked: he still sees it")
	assert.Contains(t, ids(e.must(http.StatusOK, approver, "GET", "/api/v2/service_requests/?page_size=200", nil)), id)
	out := e.must(http.StatusConflict, approver, "POST", path+"approve/", nil)
	assert.Equal(t, "request_finished", out["code"])
	e.must(http.StatusNotFound, otherTeam, "GET", path, nil)
}

// rosterSuperusers is who the request's workflow holds for superusers.
func (e *env) rosterSuperusers(id int64) []string {
	e.t.Helper()
	v, err := e.client.QueryWorkflow(context.Background(), workflows.WorkflowID(id), "", workflows.StateQuery)
	require.NoError(e.t, err)
	var st approval.Request
	require.NoError(e.t, v.Get(&st))
	return st.Roster.Superusers
}

// Every change of who is a superuser reaches every waiting request's
// roster, however it is made: created a superuser, made one, activated or
// deactivated as one.
func TestAPI_SuperuserChangesRefreshEveryWaitingRequest(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	id := e.submitRestart(restart)
	has := func(name string, want bool) {
		e.t.Helper()
		e.eventually(30*time.Second, fmt.Sprintf("%s in the roster's superusers: %v", name, want), func() bool {
			return slices.Contains(e.rosterSuperusers(id), name) == want
		})
	}

	e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "heidi", "is_superuser": true})
	has("heidi", true)

	ivan := e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "ivan"})
	e.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/users/%d/", idOf(ivan)), map[string]any{"is_superuser": true})
	has("ivan", true)

	judy := e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "judy", "is_superuser": true, "is_active": false})
	e.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/users/%d/", idOf(judy)), map[string]any{"is_active": true})
	has("judy", true)

	e.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/users/%d/", idOf(ivan)), map[string]any{"is_active": false})
	has("ivan", false)
}
