package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/notify"
)

// An approver asks for changes; the requester sees why, resubmits once
// (a new request linked both ways) and is offered the old answers
// without the password; nobody else can resubmit or learn of the request
// through a resubmission.
func TestAPI_RequestChangesAndResubmit(t *testing.T) {
	e := newEnv(t)
	provision, restart := e.catalog()
	submitPath := fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", provision)
	old := e.submitAndWait(requester, provision, provisionAnswers(3), approver)
	oldPath := fmt.Sprintf("/api/v2/service_requests/%d/", old)

	assert.Equal(t, "reason_required", e.must(http.StatusBadRequest, approver, "POST", oldPath+"request_changes/", map[string]any{"reason": " "})["code"])
	assert.Equal(t, "self_decision", e.must(http.StatusForbidden, requester, "POST", oldPath+"request_changes/", map[string]any{"reason": "x"})["code"])
	e.must(http.StatusBadRequest, approver, "POST", oldPath+"request_changes/", map[string]any{"comment": "wrong field"})
	st := e.must(http.StatusOK, approver, "POST", oldPath+"request_changes/", map[string]any{"reason": "call it demo-2, demo-env is taken"})
	assert.Equal(t, "changes_requested", st["status"])
	assert.Equal(t, "changes_requested", st["stages"].([]any)[0].(map[string]any)["status"])
	assert.Equal(t, "request_changes", st["stages"].([]any)[0].(map[string]any)["responses"].([]any)[0].(map[string]any)["decision"])
	e.must(http.StatusConflict, approver2, "POST", oldPath+"approve/", nil)

	// The requester sees the reason, may resubmit, and gets the answers
	// back without the password.
	mine := e.must(http.StatusOK, requester, "GET", oldPath, nil)
	changes := mine["changes_requested"].(map[string]any)
	assert.Equal(t, "call it demo-2, demo-env is taken", changes["reason"])
	assert.Equal(t, approver, changes["user"])
	assert.Equal(t, "SRE review", changes["stage"])
	assert.Equal(t, "api", changes["channel"])
	caps := capabilitiesOf(t, mine)
	assert.True(t, caps["resubmit"])
	assert.True(t, caps["request_again"])
	prefill := mine["prefill"].(map[string]any)
	assert.Equal(t, "demo for the customer", prefill["justification"])
	assert.Equal(t, map[string]any{"env_name": "demo-env", "ttl_days": float64(3)}, prefill["extra_vars"])
	assert.Equal(t, map[string]any{"create-database": map[string]any{"db_size": "small"}, "deploy-app": map[string]any{"replicas": float64(2)}},
		prefill["node_survey_data"], "the password answer is left out, not masked")
	assert.Equal(t, []any{}, mine["children"])
	assert.Nil(t, mine["parent"])
	theirs := e.must(http.StatusOK, approver, "GET", oldPath, nil)
	assert.Nil(t, theirs["prefill"], "only the requester gets the answers to submit again")
	assert.False(t, capabilitiesOf(t, theirs)["resubmit"])
	e.eventually(20*time.Second, "the requester to be told", func() bool {
		for _, n := range e.stack.Notifier.Sent() {
			if n.Kind == notify.KindChangesRequested && n.RequestID == old && len(n.Recipients) == 1 && n.Recipients[0].Username == requester {
				return true
			}
		}
		return false
	})
	e.eventually(20*time.Second, "the list filter", func() bool {
		return slices.Contains(ids(e.must(http.StatusOK, requester, "GET", "/api/v2/service_requests/?status=changes_requested", nil)), old)
	})

	// Someone else's request and a missing one are refused alike, before
	// the answers are looked at.
	someoneElses := e.must(http.StatusBadRequest, approver, "POST", submitPath, map[string]any{"resubmits": old})
	missing := e.must(http.StatusBadRequest, approver, "POST", submitPath, map[string]any{"resubmits": old + 1000})
	assert.Equal(t, "resubmit_unknown", someoneElses["code"])
	assert.Equal(t, "resubmit_unknown", missing["code"])
	assert.Equal(t, fmt.Sprintf("there is no request %d of yours to resubmit", old), someoneElses["detail"])
	assert.Equal(t, "resubmit_other_item", e.must(http.StatusBadRequest, requester, "POST",
		fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart), map[string]any{"resubmits": old})["code"])
	e.must(http.StatusNotFound, otherAdmin, "POST", submitPath, map[string]any{"resubmits": old})
	pending := e.submitAndWait(requester, provision, provisionAnswers(3), approver)
	assert.Equal(t, "not_resubmittable", e.must(http.StatusConflict, requester, "POST", submitPath,
		map[string]any{"resubmits": pending, "justification": "x"})["code"])

	// The resubmission: a new request with a fresh plan, linked both ways.
	again := provisionAnswers(3)
	again["extra_vars"].(map[string]any)["env_name"] = "demo-2"
	again["resubmits"] = old
	created := e.must(http.StatusCreated, requester, "POST", submitPath, again)
	child := idOf(created)
	assert.EqualValues(t, old, created["parent"])
	assert.Equal(t, "pending_approval", created["status"])
	assert.Equal(t, "environments", created["plan"].(map[string]any)["policy_name"])
	after := e.must(http.StatusOK, requester, "GET", oldPath, nil)
	assert.Equal(t, []any{float64(child)}, after["children"])
	assert.False(t, capabilitiesOf(t, after)["resubmit"], "resubmitted once")
	assert.True(t, capabilitiesOf(t, after)["request_again"])
	assert.Equal(t, "already_resubmitted", e.must(http.StatusConflict, requester, "POST", submitPath, again)["code"])
	assert.EqualValues(t, old, e.must(http.StatusOK, approver, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", child), nil)["parent"])
}

// A request that ended changes_requested never launched: its requester
// may delete it, which leaves its resubmission unlinked.
func TestAPI_DeleteResubmittedRequest(t *testing.T) {
	e := newEnv(t)
	provision, _ := e.catalog()
	old := e.submitAndWait(requester, provision, provisionAnswers(3), approver)
	oldPath := fmt.Sprintf("/api/v2/service_requests/%d/", old)
	e.must(http.StatusOK, approver, "POST", oldPath+"request_changes/", map[string]any{"reason": "rename it"})
	answers := provisionAnswers(3)
	answers["resubmits"] = old
	child := idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", provision), answers))
	e.eventually(20*time.Second, "the projection", func() bool {
		return e.must(http.StatusOK, requester, "GET", oldPath, nil)["status"] == "changes_requested"
	})
	require.Equal(t, http.StatusNoContent, func() int { s, _ := e.call(requester, "DELETE", oldPath, nil); return s }())
	assert.Nil(t, e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", child), nil)["parent"])
}
