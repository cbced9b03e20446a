package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capabilityActions are the request capabilities and the call each
// promises.
var capabilityActions = []struct {
	name, method, path string
	body               map[string]any
}{
	{"approve", "POST", "approve/", map[string]any{"comment": "fine"}},
	{"reject", "POST", "reject/", map[string]any{"reason": "not now"}},
	{"comment", "POST", "comment/", map[string]any{"text": "a remark"}},
	{"cancel", "POST", "cancel/", map[string]any{"reason": "no longer needed"}},
	{"delete", "DELETE", "", nil},
}

// capabilitiesOf reads summary_fields.user_capabilities.
func capabilitiesOf(t *testing.T, obj map[string]any) map[string]bool {
	t.Helper()
	raw, ok := obj["summary_fields"].(map[string]any)["user_capabilities"].(map[string]any)
	require.True(t, ok, "user_capabilities in %v", obj["summary_fields"])
	out := map[string]bool{}
	for k, v := range raw {
		out[k] = v.(bool)
	}
	return out
}

// listed is request id as user's list of requests shows it.
func (e *env) listed(user string, id int64) map[string]any {
	e.t.Helper()
	list := e.must(http.StatusOK, user, "GET", "/api/v2/service_requests/?page_size=200", nil)
	for _, r := range list["results"].([]any) {
		if r := r.(map[string]any); int64(r["id"].(float64)) == id {
			return r
		}
	}
	return nil
}

// checkCapabilities asserts what user may do to request id, in its detail
// (from the workflow) and in the list (from the projection), and that
// each refused action is refused when tried. Each allowed action is tried
// on a request of its own that fresh makes, since acting changes it.
func (e *env) checkCapabilities(user string, id int64, want map[string]bool, fresh func() int64) {
	e.t.Helper()
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	status, detail := e.call(user, "GET", path, nil)
	if want == nil {
		assert.Equal(e.t, http.StatusNotFound, status, "%s does not see request %d", user, id)
		for _, a := range capabilityActions {
			got, _ := e.call(user, a.method, path+a.path, a.body)
			assert.Equal(e.t, http.StatusNotFound, got, "%s may not %s request %d", user, a.name, id)
		}
		return
	}
	require.Equal(e.t, http.StatusOK, status)
	require.Equal(e.t, "workflow", detail["source"])
	assert.Equal(e.t, want, capabilitiesOf(e.t, detail), "%s's capabilities on request %d (%s)", user, id, detail["status"])
	if listed := e.listed(user, id); assert.NotNil(e.t, listed, "%s lists request %d", user, id) {
		assert.Equal(e.t, want, capabilitiesOf(e.t, listed), "%s's capabilities on request %d in the list", user, id)
	}
	for _, a := range capabilityActions {
		target := id
		if want[a.name] {
			target = fresh()
		}
		got, body := e.call(user, a.method, fmt.Sprintf("/api/v2/service_requests/%d/%s", target, a.path), a.body)
		if want[a.name] {
			assert.Contains(e.t, []int{http.StatusOK, http.StatusNoContent}, got, "%s may %s: %v", user, a.name, body)
		} else {
			assert.Contains(e.t, []int{http.StatusForbidden, http.StatusConflict, http.StatusNotFound}, got,
				"%s may not %s request %d: %v", user, a.name, id, body)
		}
	}
}

func TestAPI_CapabilitiesOnPendingRequest(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	pending := func() int64 { return e.submitRestart(restart) }
	id := pending()
	assert.Nil(t, e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)["finished"],
		"finished is null while the status is not terminal")
	all := map[string]bool{"approve": true, "reject": true, "comment": true, "cancel": true, "delete": true}
	for user, want := range map[string]map[string]bool{
		requester: {"approve": false, "reject": false, "comment": true, "cancel": true, "delete": true},
		approver:  {"approve": true, "reject": true, "comment": true, "cancel": false, "delete": false},
		orgAdmin:  {"approve": false, "reject": false, "comment": true, "cancel": true, "delete": true},
		superuser: all,
		otherTeam: nil, // does not see it
	} {
		t.Run(user, func(t *testing.T) { e.checkCapabilities(user, id, want, pending) })
	}
}

func TestAPI_CapabilitiesOnFinishedRequest(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	rejected := func() int64 {
		id := e.submitRestart(restart)
		path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
		e.must(http.StatusOK, approver2, "POST", path+"reject/", map[string]any{"reason": "not today"})
		e.eventually(30*time.Second, "the rejection in PostgreSQL", func() bool {
			return e.must(http.StatusOK, requester, "GET", path, nil)["status"] == "rejected" &&
				e.listed(requester, id)["finished"] != nil
		})
		return id
	}
	id := rejected()
	detail := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	assert.NotNil(t, detail["finished"], "finished is set with a terminal status")
	none := map[string]bool{"approve": false, "reject": false, "comment": false, "cancel": false}
	with := func(del bool) map[string]bool {
		out := map[string]bool{"delete": del}
		for k, v := range none {
			out[k] = v
		}
		return out
	}
	for user, want := range map[string]map[string]bool{
		requester: with(true),
		approver:  with(false),
		orgAdmin:  with(true),
		superuser: with(true),
		otherTeam: nil,
	} {
		t.Run(user, func(t *testing.T) { e.checkCapabilities(user, id, want, rejected) })
	}
}
