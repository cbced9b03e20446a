package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/workflows"
)

// signal sends a decision as the `temporal` CLI does, signed with a
// private decision key.
func (e *env) signalSigned(private string, d workflows.Decision) {
	e.t.Helper()
	p, err := proof.SignUser(private, d.Claims(), time.Now())
	require.NoError(e.t, err)
	require.NoError(e.t, e.client.SignalWorkflow(context.Background(), workflows.WorkflowID(d.RequestID), "", string(d.Action), d.Payload(&p)))
}

func TestAPI_DecisionKeys(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()

	first := e.must(http.StatusCreated, approver, "POST", "/api/v2/me/decision_keys/", map[string]any{"description": "old laptop"})
	private := first["private_key"].(string)
	require.True(t, strings.HasPrefix(private, "csdk_"+first["key_id"].(string)+"."), private)
	expires, err := time.Parse(time.RFC3339, first["expires"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(90*24*time.Hour), expires, time.Hour, "keys live 90 days unless asked otherwise")
	list := e.must(http.StatusOK, approver, "GET", fmt.Sprintf("/api/v2/users/%d/decision_keys/", e.userID(approver)), nil)
	require.EqualValues(t, 1, list["count"])
	assert.NotContains(t, fmt.Sprint(list), private[len(private)-20:], "the private key is shown once")
	assert.NotContains(t, fmt.Sprint(list), "private_key")

	id := e.submitRestart(restart)
	approve := workflows.Decision{RequestID: id, Action: approval.ActionApprove, User: approver}
	state := func() map[string]any {
		return e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	}

	// A revoked key proves nothing; carol's key does not prove bob.
	e.must(http.StatusNoContent, superuser, "DELETE", fmt.Sprintf("/api/v2/decision_keys/%d/", idOf(first)), nil)
	e.signalSigned(private, approve)
	carols := e.must(http.StatusCreated, approver2, "POST", "/api/v2/me/decision_keys/", nil)["private_key"].(string)
	e.signalSigned(carols, approve)
	var refused []any
	e.eventually(30*time.Second, "both signals refused", func() bool {
		refused, _ = state()["refused_signals"].([]any)
		return len(refused) == 2
	})
	assert.Contains(t, refused[0].(map[string]any)["message"], "was revoked")
	assert.Contains(t, refused[1].(map[string]any)["message"], "is not bob's")
	for _, r := range refused {
		assert.Equal(t, "proof_invalid", r.(map[string]any)["code"])
	}
	assert.Equal(t, "pending_approval", state()["status"])

	// bob's new key: his decision from the CLI is applied, recorded as such.
	e.signalSigned(e.must(http.StatusCreated, approver, "POST", "/api/v2/me/decision_keys/", nil)["private_key"].(string), approve)
	e.eventually(30*time.Second, "bob's approval", func() bool { return state()["status"] != "pending_approval" })
	st := state()
	var channel any
	for _, s := range st["stages"].([]any) {
		for _, r := range s.(map[string]any)["responses"].([]any) {
			channel = r.(map[string]any)["channel"]
		}
	}
	assert.Equal(t, "cli", channel)
	assert.NotContains(t, fmt.Sprint(st), "unverified:true")
	assert.Contains(t, e.logs.String(), `"msg":"signal refused"`)
}
