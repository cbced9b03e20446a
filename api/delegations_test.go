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
)

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Who may see, set up and take back a user's delegations: the user, the
// admins of their organizations, superusers; others do not even see the
// user (404). The body is read only once the caller may.
func TestAPI_DelegationsAuthorization(t *testing.T) {
	e := newEnv(t)
	bob, dave := e.userID(approver), e.userID(otherTeam)
	list := fmt.Sprintf("/api/v2/users/%d/delegations/", bob)
	body := map[string]any{"delegate": dave, "ends": rfc3339(time.Now().Add(time.Hour))}

	for _, who := range []string{approver2, otherAdmin, requester} {
		e.must(http.StatusNotFound, who, "GET", list, nil)
		e.must(http.StatusNotFound, who, "POST", list, map[string]any{"delegate": "not even a number"})
	}
	mine := e.must(http.StatusCreated, approver, "POST", list, body)
	assert.Equal(t, "bob", mine["summary_fields"].(map[string]any)["delegator"].(map[string]any)["username"])
	assert.Equal(t, "dave", mine["summary_fields"].(map[string]any)["delegate"].(map[string]any)["username"])
	assert.Equal(t, true, mine["active"])
	assert.Equal(t, map[string]any{"delete": true}, mine["summary_fields"].(map[string]any)["user_capabilities"])
	byAdmin := e.must(http.StatusCreated, orgAdmin, "POST", list, body)
	assert.EqualValues(t, e.userID(orgAdmin), byAdmin["created_by"])
	e.must(http.StatusCreated, superuser, "POST", list, body)

	page := e.must(http.StatusOK, orgAdmin, "GET", list+"?order_by=-id", nil)
	assert.EqualValues(t, 3, page["count"])
	one := fmt.Sprintf("/api/v2/delegations/%d/", idOf(mine))
	e.must(http.StatusNotFound, approver2, "GET", one, nil)
	e.must(http.StatusNotFound, otherAdmin, "DELETE", one, nil)
	e.must(http.StatusNotFound, otherTeam, "DELETE", one, nil) // the delegate does not take it back
	e.must(http.StatusOK, approver, "GET", one, nil)
	e.must(http.StatusNoContent, orgAdmin, "DELETE", one, nil)
	e.must(http.StatusNotFound, approver, "DELETE", one, nil)
}

func TestAPI_DelegationsValidation(t *testing.T) {
	e := newEnv(t)
	bob, dave, oscar := e.userID(approver), e.userID(otherTeam), e.userID(otherAdmin)
	list := fmt.Sprintf("/api/v2/users/%d/delegations/", bob)
	now := time.Now()
	long := make([]byte, 501)
	for i := range long {
		long[i] = 'x'
	}
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"delegate required", map[string]any{"ends": rfc3339(now.Add(time.Hour))}, "delegate"},
		{"not to oneself", map[string]any{"delegate": bob, "ends": rfc3339(now.Add(time.Hour))}, "delegate"},
		{"no such user", map[string]any{"delegate": dave + 10000, "ends": rfc3339(now.Add(time.Hour))}, "delegate"},
		{"not of the delegator's organizations", map[string]any{"delegate": oscar, "ends": rfc3339(now.Add(time.Hour))}, "delegate"},
		{"ends required", map[string]any{"delegate": dave}, "ends"},
		{"ends in the past", map[string]any{"delegate": dave, "ends": rfc3339(now.Add(-time.Hour))}, "ends"},
		{"ends before starts", map[string]any{"delegate": dave, "starts": rfc3339(now.Add(2 * time.Hour)), "ends": rfc3339(now.Add(time.Hour))}, "ends"},
		{"at most 366 days", map[string]any{"delegate": dave, "ends": rfc3339(now.Add(367 * 24 * time.Hour))}, "ends"},
		{"a bounded reason", map[string]any{"delegate": dave, "ends": rfc3339(now.Add(time.Hour)), "reason": string(long)}, "reason"},
		{"a reason PostgreSQL can keep", map[string]any{"delegate": dave, "ends": rfc3339(now.Add(time.Hour)), "reason": "a\x00b"}, "reason"},
		{"not starting beyond a year", map[string]any{"delegate": dave, "starts": rfc3339(now.Add(400 * 24 * time.Hour)),
			"ends": rfc3339(now.Add(401 * 24 * time.Hour))}, "ends"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := e.must(http.StatusBadRequest, approver, "POST", list, tc.body)
			assert.Contains(t, out, tc.field, out)
		})
	}
	t.Run("an inactive delegate", func(t *testing.T) {
		e.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/users/%d/", dave), map[string]any{"is_active": false})
		defer e.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/users/%d/", dave), map[string]any{"is_active": true})
		out := e.must(http.StatusBadRequest, approver, "POST", list, map[string]any{"delegate": dave, "ends": rfc3339(now.Add(time.Hour))})
		assert.Contains(t, out, "delegate")
	})
	t.Run("a bound on delegations", func(t *testing.T) {
		for range 20 {
			e.must(http.StatusCreated, approver, "POST", list, map[string]any{"delegate": dave, "ends": rfc3339(now.Add(time.Hour))})
		}
		e.must(http.StatusConflict, approver, "POST", list, map[string]any{"delegate": dave, "ends": rfc3339(now.Add(time.Hour))})
	})
}

// A delegation reaches the waiting request at once: the delegate finds it
// in their inbox, approves it through the API on the delegator's behalf,
// and the decision says so.
func TestAPI_DelegateDecidesOnBehalf(t *testing.T) {
	e, id := newEnvWithRequest(t) // one sre approval: bob or carol
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	e.must(http.StatusNotFound, otherTeam, "POST", path+"approve/", nil) // dave is not asked: he does not see it

	e.must(http.StatusCreated, approver, "POST", fmt.Sprintf("/api/v2/users/%d/delegations/", e.userID(approver)),
		map[string]any{"delegate": e.userID(otherTeam), "ends": rfc3339(time.Now().Add(time.Hour)), "reason": "on leave"})
	e.eventually(20*time.Second, "the request in dave's inbox", func() bool { return slices.Contains(e.inbox(otherTeam), id) })

	done := e.must(http.StatusOK, otherTeam, "POST", path+"approve/", map[string]any{"comment": "for bob"})
	stages := done["stages"].([]any)
	responses := stages[0].(map[string]any)["responses"].([]any)
	require.Len(t, responses, 1)
	assert.Equal(t, "dave", responses[0].(map[string]any)["user"])
	assert.Equal(t, "bob", responses[0].(map[string]any)["on_behalf_of"])
}

// A delegation taken back holds for decisions at once, before the
// waiting request has heard of it: the API's decision carries who may
// decide as PostgreSQL says.
func TestAPI_DelegationTakenBackHoldsAtOnce(t *testing.T) {
	e, id := newEnvWithRequest(t)
	d := e.must(http.StatusCreated, approver, "POST", fmt.Sprintf("/api/v2/users/%d/delegations/", e.userID(approver)),
		map[string]any{"delegate": e.userID(otherTeam), "ends": rfc3339(time.Now().Add(time.Hour))})
	e.eventually(20*time.Second, "the request in dave's inbox", func() bool { return slices.Contains(e.inbox(otherTeam), id) })

	// Behind the workflow's back: no refresh is sent.
	require.NoError(t, e.stack.Store.DeleteDelegation(context.Background(), idOf(d)))
	out := e.must(http.StatusForbidden, otherTeam, "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", id), nil)
	assert.Equal(t, "not_eligible", out["code"])
}

// A delegate may extend the deadline of a stage the delegator may
// decide, as the delegator could; without the delegation the same call
// is refused.
func TestAPI_DelegateMayExtend(t *testing.T) {
	e := newEnv(t)
	id := e.extendableRestart()
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	e.must(http.StatusNotFound, otherTeam, "POST", path+"extend/", map[string]any{"by": "1h"})

	e.must(http.StatusCreated, approver, "POST", fmt.Sprintf("/api/v2/users/%d/delegations/", e.userID(approver)),
		map[string]any{"delegate": e.userID(otherTeam), "ends": rfc3339(time.Now().Add(time.Hour)), "reason": "on leave"})
	e.eventually(20*time.Second, "the request in dave's inbox", func() bool { return slices.Contains(e.inbox(otherTeam), id) })
	assert.True(t, capabilitiesOf(t, e.must(http.StatusOK, otherTeam, "GET", path, nil))["extend"], "the delegate is told he may")

	out := e.must(http.StatusOK, otherTeam, "POST", path+"extend/", map[string]any{"by": "2h", "reason": "bob is away"})
	st := stageOf(out, 0)
	assert.Equal(t, "2h0m0s", st["extended"])
	assert.Equal(t, "dave", st["extensions"].([]any)[0].(map[string]any)["user"])
}
