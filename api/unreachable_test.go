package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
)

// bob (team sre, with carol) asks for a restart that sre must approve
// twice. The detail says why the stage cannot be completed, to bob and to
// the org admin, until erin adds frank to sre: the request then asks him.
func TestAPI_UnreachableStage(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "restarts", "priority": 5, "condition": `item.name == "Restart service"`,
		"stages": []map[string]any{{"name": "SRE pair", "approver_team": e.teamID("sre"), "min_approvers": 2}},
	})
	id := idOf(e.must(http.StatusCreated, approver, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}}))
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	verdict := func(user string) (map[string]any, []any) {
		t.Helper()
		d := e.must(http.StatusOK, user, "GET", path, nil)
		require.Equal(t, "workflow", d["source"])
		st := d["stages"].([]any)[0].(map[string]any)
		require.Contains(t, st, "unreachable")
		u, _ := st["unreachable"].(map[string]any)
		return u, d["pending_approvers"].([]any)
	}

	e.eventually(20*time.Second, "the stage to open", func() bool { return slices.Contains(e.inbox(approver2), id) })
	for _, user := range []string{approver, orgAdmin} {
		u, pending := verdict(user)
		require.NotNil(t, u, "%s is told the stage cannot be completed", user)
		assert.Equal(t, "needs 2 more approvals but only 1 eligible approver remains (carol): bob is the requester and cannot approve their own request", u["reason"])
		assert.Equal(t, float64(2), u["needed"])
		assert.Equal(t, []any{"carol"}, pending)
	}

	e.must(http.StatusOK, approver2, "POST", path+"approve/", map[string]any{"comment": "fine by me"})
	u, pending := verdict(approver)
	require.NotNil(t, u)
	assert.Equal(t, float64(1), u["needed"])
	assert.Empty(t, pending)

	// With Temporal out of reach, the detail comes from the projection,
	// which judges the stage by the same rule from what it keeps.
	main := e.url
	e.url = e.apiOn(unreachableTemporal(t), testkit.TaskQueue(t), 2*time.Second)
	e.eventually(20*time.Second, "the projection to show carol's approval", func() bool {
		d := e.must(http.StatusOK, approver, "GET", path, nil)
		require.Equal(t, "projection", d["source"])
		st := d["stages"].([]any)[0].(map[string]any)
		return len(st["responses"].([]any)) == 1
	})
	d := e.must(http.StatusOK, approver, "GET", path, nil)
	assert.Equal(t, map[string]any{"reason": "needs 1 more approval but no eligible approver remains", "needed": float64(1), "remaining": []any{}},
		d["stages"].([]any)[0].(map[string]any)["unreachable"])
	e.url = main

	frank := e.addUser(store.NewUser{Username: "frank"})
	e.must(http.StatusNoContent, superuser, "POST", fmt.Sprintf("/api/v2/organizations/%d/users/", e.orgID()), map[string]any{"id": frank.ID})
	e.must(http.StatusNoContent, orgAdmin, "POST", fmt.Sprintf("/api/v2/teams/%d/members/", e.teamID("sre")), map[string]any{"id": frank.ID})
	e.eventually(20*time.Second, "frank to be asked", func() bool {
		u, pending := verdict(approver)
		return u == nil && slices.Equal(pending, []any{"frank"}) && slices.Contains(e.inbox("frank"), id)
	})
	done := e.must(http.StatusOK, "frank", "POST", path+"approve/", nil)
	assert.Equal(t, "approved", done["status"])
	assert.Nil(t, done["stages"].([]any)[0].(map[string]any)["unreachable"])
}
