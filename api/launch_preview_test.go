package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPI_LaunchDataPreviewsWithTheJustification: a policy may test the
// justification, so launch_data's plan preview takes it (the query
// parameter justification, trimmed and bounded as submit does) and
// previews the plan the request then gets.
func TestAPI_LaunchDataPreviewsWithTheJustification(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog() // "Restart service": approved by sre unless a policy says otherwise
	e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "urgent restarts", "priority": 5,
		"condition": `item.name == "Restart service" && justification.contains("urgent")`,
		"stages":    []map[string]any{{"name": "Security review", "approver_team": e.teamID("security"), "min_approvers": 1}},
	})
	path := fmt.Sprintf("/api/v2/service_catalog_items/%d/", restart)
	preview := func(justification string) map[string]any {
		t.Helper()
		q := url.Values{"extra_vars": {`{"service_name":"worker"}`}}
		if justification != "" {
			q.Set("justification", justification)
		}
		out := e.must(http.StatusOK, requester, "GET", path+"launch_data/?"+q.Encode(), nil)
		return out["approval_plan"].(map[string]any)
	}
	stageNames := func(plan map[string]any) []string {
		var out []string
		for _, st := range plan["stages"].([]any) {
			out = append(out, st.(map[string]any)["name"].(string))
		}
		return out
	}

	plain := preview("")
	assert.Nil(t, plain["policy_name"], "no justification: the item's own approval")
	urgent := preview("urgent fix")
	assert.Equal(t, "urgent restarts", urgent["policy_name"])
	assert.Equal(t, []string{"Security review"}, stageNames(urgent))
	assert.NotEqual(t, stageNames(plain), stageNames(urgent))
	assert.Nil(t, preview("routine restart")["policy_name"])

	// The submitted request gets the plan the preview showed.
	answers := restartServiceAnswers()
	answers["justification"] = "  urgent fix  "
	req := e.must(http.StatusCreated, requester, "POST", path+"submit/", answers)
	assert.Equal(t, "urgent restarts", req["plan"].(map[string]any)["policy_name"])
	assert.Equal(t, urgent["policy_name"], preview("  urgent fix  ")["policy_name"], "trimmed like submit")

	// Bounded like submit's: at most 2000 bytes.
	assert.Equal(t, "urgent restarts", preview("urgent " + strings.Repeat("j", 2000-len("urgent ")))["policy_name"])
	status, body := e.call(requester, "GET", path+"launch_data/?justification="+strings.Repeat("j", 2001), nil)
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	assert.Equal(t, []any{"Use at most 2000 bytes."}, body["justification"])
	status, body = e.call(requester, "GET", path+"launch_data/?justifcation=urgent", nil)
	assert.Equal(t, http.StatusBadRequest, status, "unknown query keys are still refused: %v", body)
}
