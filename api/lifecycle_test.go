package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

// catalog creates, as the org admin and through the API, the demo catalog
// of SPEC 8.1: "Provision environment" with its two policies and "Restart
// service" approved by sre.
func (e *env) catalog() (provision, restart int64) {
	e.t.Helper()
	p := e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": "Provision environment", "description": "A database and the app",
		"icon": "server", "category": "environments", "tags": []string{"dev", "self-service"},
		"workflow_job_template": awxsim.DemoProvisionEnvironmentID,
	})
	r := e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": "Restart service", "icon": "refresh-cw", "category": "operations",
		"job_template": awxsim.DemoRestartServiceID, "requires_approval": true, "approver_team": e.teamID("sre"),
	})
	e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "long-lived environments", "priority": 10,
		"condition": `item.name == "Provision environment" && extra_vars.ttl_days > 5`,
		"stages": []map[string]any{
			{"name": "SRE review", "approver_team": e.teamID("sre"), "min_approvers": 2, "timeout": "72h", "reminder_interval": "24h",
				"denial_message": "SRE declined the environment."},
			{"name": "Security review", "approver_team": e.teamID("security"), "min_approvers": 1, "timeout": "48h"},
		},
	})
	e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "environments", "priority": 20,
		"condition": `item.name == "Provision environment"`,
		"stages":    []map[string]any{{"name": "SRE review", "approver_team": e.teamID("sre"), "min_approvers": 2}},
	})
	return idOf(p), idOf(r)
}

func provisionAnswers(ttl int) map[string]any {
	return map[string]any{
		"justification": "demo for the customer",
		"extra_vars":    map[string]any{"env_name": "demo-env", "ttl_days": ttl},
		"node_survey_data": map[string]any{
			"create-database": map[string]any{"db_size": "small", "db_password": "correct-horse-battery"},
			"deploy-app":      map[string]any{"replicas": 2},
		},
	}
}

func (e *env) inbox(user string) []int64 {
	return ids(e.must(http.StatusOK, user, "GET", "/api/v2/service_requests/pending_approvals/", nil))
}

func TestAPI_Lifecycle(t *testing.T) {
	e := newEnv(t)
	provision, restart := e.catalog()

	// The requester sees the catalog and the launch form.
	items := e.must(http.StatusOK, requester, "GET", "/api/v2/service_catalog_items/?category=environments", nil)
	assert.Equal(t, []int64{provision}, ids(items))
	form := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/", provision), nil)
	assert.Equal(t, true, form["ask_variables_on_launch"])
	nodes := form["nodes"].([]any)
	require.Len(t, nodes, 2)
	assert.Equal(t, "create-database", nodes[0].(map[string]any)["identifier"])
	plan := form["approval_plan"].(map[string]any)
	assert.Equal(t, "environments", plan["policy_name"], "with the default ttl_days (3) the short plan applies")
	preview := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/?extra_vars=%%7B%%22ttl_days%%22%%3A9%%7D", provision), nil)
	assert.Equal(t, "long-lived environments", preview["approval_plan"].(map[string]any)["policy_name"])

	// Submit: two stages, the password masked.
	req := e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", provision), provisionAnswers(7))
	id := idOf(req)
	assert.Equal(t, "pending_approval", req["status"])
	assert.Len(t, req["stages"], 2)
	assert.Equal(t, "$encrypted$", req["node_survey_data"].(map[string]any)["create-database"].(map[string]any)["db_password"])
	assert.Equal(t, float64(7), req["extra_vars"].(map[string]any)["ttl_days"])
	detailPath := fmt.Sprintf("/api/v2/service_requests/%d/", id)

	// Each approver of stage 1 finds it in their inbox; security does not yet.
	e.eventually(20*time.Second, "bob's inbox", func() bool { return slices.Contains(e.inbox(approver), id) })
	assert.Contains(t, e.inbox(approver2), id)
	assert.NotContains(t, e.inbox(otherTeam), id)
	assert.NotContains(t, e.inbox(requester), id)

	st := e.must(http.StatusOK, approver, "POST", detailPath+"approve/", map[string]any{"comment": "capacity is fine"})
	assert.Equal(t, "workflow", st["source"])
	assert.Equal(t, float64(1), st["stages"].([]any)[0].(map[string]any)["approvals"])
	e.must(http.StatusConflict, approver, "POST", detailPath+"approve/", nil) // a second decision
	e.must(http.StatusOK, approver2, "POST", detailPath+"comment/", map[string]any{"text": "looking at it"})
	e.must(http.StatusForbidden, requester, "POST", detailPath+"approve/", nil)
	e.must(http.StatusOK, approver2, "POST", detailPath+"approve/", nil)

	e.eventually(20*time.Second, "stage 2 in dave's inbox", func() bool { return slices.Contains(e.inbox(otherTeam), id) })
	e.must(http.StatusOK, otherTeam, "POST", detailPath+"approve/", map[string]any{"comment": "ok"})

	e.eventually(30*time.Second, "the job to succeed", func() bool {
		return e.must(http.StatusOK, requester, "GET", detailPath, nil)["status"] == "successful"
	})
	done := e.must(http.StatusOK, requester, "GET", detailPath, nil)
	job := done["job"].(map[string]any)
	assert.Equal(t, "workflow_job", job["type"])
	assert.Contains(t, job["url"], "/#/jobs/workflow/")
	comments := done["comments"].([]any)
	require.Len(t, comments, 1)
	assert.Equal(t, "carol", comments[0].(map[string]any)["user"])

	// A rejection, seen by the requester with the stage's denial message.
	rejected := idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", provision), provisionAnswers(9)))
	rejectedPath := fmt.Sprintf("/api/v2/service_requests/%d/", rejected)
	e.eventually(20*time.Second, "the second request in bob's inbox", func() bool { return slices.Contains(e.inbox(approver), rejected) })
	e.must(http.StatusBadRequest, approver, "POST", rejectedPath+"reject/", map[string]any{"reason": ""})
	e.must(http.StatusOK, approver, "POST", rejectedPath+"reject/", map[string]any{"reason": "we have enough environments"})
	denied := e.must(http.StatusOK, requester, "GET", rejectedPath, nil)
	assert.Equal(t, "rejected", denied["status"])
	denial := denied["denial"].(map[string]any)
	assert.Equal(t, "SRE declined the environment.", denial["message"])
	assert.Equal(t, "we have enough environments", denial["reason"])

	// A cancellation by the requester, and a request that waits.
	restartAnswers := map[string]any{"justification": "stuck workers", "extra_vars": map[string]any{"service_name": "worker"}}
	canceled := idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart), restartAnswers))
	waiting := idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart), restartAnswers))
	e.eventually(20*time.Second, "the requests to open", func() bool {
		return slices.Contains(e.inbox(approver), canceled) && slices.Contains(e.inbox(approver), waiting)
	})
	e.must(http.StatusOK, requester, "POST", fmt.Sprintf("/api/v2/service_requests/%d/cancel/", canceled), map[string]any{"reason": "fixed by itself"})

	// Lists and their filters.
	all := e.must(http.StatusOK, requester, "GET", "/api/v2/service_requests/?mine=true&order_by=id", nil)
	assert.Equal(t, []int64{id, rejected, canceled, waiting}, ids(all))
	e.eventually(10*time.Second, "the projection", func() bool {
		return slices.Equal([]int64{rejected}, ids(e.must(http.StatusOK, requester, "GET", "/api/v2/service_requests/?status=rejected", nil)))
	})
	byItem := e.must(http.StatusOK, orgAdmin, "GET", fmt.Sprintf("/api/v2/service_requests/?catalog_item=%d&requester=alice&order_by=-id", restart), nil)
	assert.Equal(t, []int64{waiting, canceled}, ids(byItem))
	itemReqs := e.must(http.StatusOK, orgAdmin, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/requests/", restart), nil)
	assert.Equal(t, float64(2), itemReqs["count"])
	paged := e.must(http.StatusOK, requester, "GET", "/api/v2/service_requests/?page_size=1&order_by=id", nil)
	assert.Equal(t, float64(4), paged["count"])
	assert.Equal(t, "/api/v2/service_requests/?order_by=id&page=2&page_size=1", paged["next"])
	assert.Nil(t, paged["previous"])

	// Delete rules: executed automation stays; the rest may go.
	e.must(http.StatusConflict, requester, "DELETE", detailPath, nil)
	e.must(http.StatusForbidden, approver, "DELETE", rejectedPath, nil)
	e.must(http.StatusNoContent, requester, "DELETE", rejectedPath, nil)
	e.must(http.StatusNotFound, requester, "GET", rejectedPath, nil)
	e.must(http.StatusNoContent, orgAdmin, "DELETE", fmt.Sprintf("/api/v2/service_requests/%d/", waiting), nil)
	e.must(http.StatusConflict, orgAdmin, "DELETE", fmt.Sprintf("/api/v2/service_catalog_items/%d/", restart), nil)
}

// capabilityActions are the request capabilities and the call each
// promises.
var capabilityActions = []struct {
	name, method, path string
	body               map[string]any
	// team, when set, is the body's approver_team: a team of the env's.
	team string
}{
	{"approve", "POST", "approve/", map[string]any{"comment": "fine"}, ""},
	{"reject", "POST", "reject/", map[string]any{"reason": "not now"}, ""},
	{"request_changes", "POST", "request_changes/", map[string]any{"reason": "smaller, please"}, ""},
	{"comment", "POST", "comment/", map[string]any{"text": "a remark"}, ""},
	{"cancel", "POST", "cancel/", map[string]any{"reason": "no longer needed"}, ""},
	{"extend", "POST", "extend/", map[string]any{"by": "1h"}, ""},
	{"escalate", "POST", "escalate/", nil, "security"},
	{"delete", "DELETE", "", nil, ""},
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
		reqBody := a.body
		if a.team != "" {
			reqBody = map[string]any{"approver_team": e.teamID(a.team)}
		}
		got, body := e.call(user, a.method, fmt.Sprintf("/api/v2/service_requests/%d/%s", target, a.path), reqBody)
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
	// The item's stage allows no extension: nobody may extend it.
	all := map[string]bool{"approve": true, "reject": true, "request_changes": true, "comment": true, "cancel": true, "delete": true,
		"extend": false, "escalate": true, "resubmit": false, "request_again": false}
	for user, want := range map[string]map[string]bool{
		requester: {"approve": false, "reject": false, "request_changes": false, "comment": true, "cancel": true, "delete": true,
			"extend": false, "escalate": false, "resubmit": false, "request_again": false},
		approver: {"approve": true, "reject": true, "request_changes": true, "comment": true, "cancel": false, "delete": false,
			"extend": false, "escalate": false, "resubmit": false, "request_again": false},
		orgAdmin: {"approve": false, "reject": false, "request_changes": false, "comment": true, "cancel": true, "delete": true,
			"extend": false, "escalate": true, "resubmit": false, "request_again": false},
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
	none := map[string]bool{"approve": false, "reject": false, "request_changes": false, "comment": false, "cancel": false,
		"extend": false, "escalate": false, "resubmit": false, "request_again": false}
	with := func(del bool) map[string]bool {
		out := map[string]bool{"delete": del}
		for k, v := range none {
			out[k] = v
		}
		return out
	}
	again := with(true)
	again["request_again"] = true
	for user, want := range map[string]map[string]bool{
		requester: again,
		approver:  with(false),
		orgAdmin:  with(true),
		superuser: with(true),
		otherTeam: nil,
	} {
		t.Run(user, func(t *testing.T) { e.checkCapabilities(user, id, want, rejected) })
	}
}

// The 201 of a submit is read-your-writes without waiting for the
// workflow: the approver finds the request in their inbox at once, sees
// it, and may decide it at once.
func TestAPI_SubmitIsReadYourWrites(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	for range 3 {
		id := idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart), restartServiceAnswers()))
		assert.Contains(t, e.inbox(approver), id, "in bob's inbox at once")
		r := e.must(http.StatusOK, approver, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		assert.EqualValues(t, 0, r["current_stage"])
		assert.Contains(t, r["pending_approvers"], approver)
		e.must(http.StatusOK, approver, "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", id), map[string]any{"comment": "at once"})
	}
}
