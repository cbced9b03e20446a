package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/store"
)

// TestAPI_RoundTrip: what GET returns, sent back whole with PATCH (the API
// has no PUT), is accepted and changes nothing, not even modified, for
// every resource a client can change, by every kind of caller who may;
// read-only fields that say which object or place a body is about must be
// the object's own, the others are ignored.
func TestAPI_RoundTrip(t *testing.T) {
	e := newEnv(t)
	provision, restart := e.catalog()
	p := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	policy := map[string]string{}
	for _, pol := range e.must(http.StatusOK, orgAdmin, "GET", "/api/v2/approval_policies/", nil)["results"].([]any) {
		policy[pol.(map[string]any)["name"].(string)] = pol.(map[string]any)["url"].(string)
	}
	twoStages, oneStage := policy["long-lived environments"], policy["environments"]
	require.NotEmpty(t, twoStages)
	require.NotEmpty(t, oneStage)
	e.must(http.StatusOK, superuser, "PATCH", p("/api/v2/organizations/%d/", e.orgID()), map[string]any{"awx_organization": 1})

	for _, c := range []struct{ name, user, path string }{
		{"organization", superuser, p("/api/v2/organizations/%d/", e.orgID())},
		{"user, by themselves", requester, p("/api/v2/users/%d/", e.userID(requester))},
		{"user, by a superuser", superuser, p("/api/v2/users/%d/", e.userID(requester))},
		{"superuser, by themselves", superuser, p("/api/v2/users/%d/", e.userID(superuser))},
		{"team", orgAdmin, p("/api/v2/teams/%d/", e.teamID("sre"))},
		{"catalog item with a job template and an approver team", orgAdmin, p("/api/v2/service_catalog_items/%d/", restart)},
		{"catalog item with a workflow template", orgAdmin, p("/api/v2/service_catalog_items/%d/", provision)},
		{"policy with two stages", orgAdmin, twoStages},
		{"policy with one stage", superuser, oneStage},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, before := e.raw(c.user, "GET", c.path, nil)
			db := e.dbState()
			status, after := e.raw(c.user, "PATCH", c.path, json.RawMessage(before))
			require.Equal(t, http.StatusOK, status, "%s", after)
			assert.JSONEq(t, string(before), string(after), "the answer is the object as it was")
			_, again := e.raw(c.user, "GET", c.path, nil)
			assert.JSONEq(t, string(before), string(again))
			assert.Equal(t, db, e.dbState(), "nothing was written")
		})
	}

	// Values saved under other rules (a stage outside today's limits, a
	// condition that no longer compiles, a template of another AWX
	// organization that a superuser chose) are not checked again when they
	// are sent back unchanged: the object can still be edited.
	t.Run("values saved under other rules", func(t *testing.T) {
		old, err := e.stack.Store.CreatePolicy(context.Background(), store.NewPolicy{OrganizationID: e.orgID(), Name: "old rules",
			Priority: 500, Condition: `item.nmae == "x"`, Stages: []store.PolicyStage{{Name: "Fast", MinApprovers: 1, Timeout: time.Hour, ReminderInterval: time.Second}}})
		require.NoError(t, err)
		require.NoError(t, e.stack.Sim.AddJobTemplate(awxsim.JobTemplate{ID: 902, Name: "Elsewhere", Organization: 2}))
		foreign := e.must(http.StatusCreated, superuser, "POST", "/api/v2/service_catalog_items/", map[string]any{
			"organization": e.orgID(), "name": "Elsewhere", "job_template": 902,
		})
		for _, path := range []string{p("/api/v2/approval_policies/%d/", old.ID), foreign["url"].(string)} {
			got := e.must(http.StatusOK, orgAdmin, "GET", path, nil)
			got["name"] = "renamed " + got["name"].(string)
			changed := e.must(http.StatusOK, orgAdmin, "PATCH", path, got)
			assert.Equal(t, got["name"], changed["name"])
			assert.Equal(t, withField(got, "modified", changed["modified"]), changed, "only the name changed")
		}
		e.must(http.StatusBadRequest, orgAdmin, "PATCH", p("/api/v2/approval_policies/%d/", old.ID), map[string]any{"condition": `item.nmae == "y"`})
	})

	t.Run("tokens and decision keys cannot be changed", func(t *testing.T) {
		tokens := e.must(http.StatusOK, requester, "GET", p("/api/v2/users/%d/tokens/", e.userID(requester)), nil)["results"].([]any)
		key := e.must(http.StatusCreated, requester, "POST", "/api/v2/me/decision_keys/", map[string]any{})
		for _, path := range []string{tokens[0].(map[string]any)["url"].(string), key["url"].(string)} {
			status, body := e.call(requester, "PATCH", path, map[string]any{"description": "x"})
			assert.Equal(t, http.StatusMethodNotAllowed, status, "%s: %v", path, body)
		}
	})

	t.Run("read-only fields", func(t *testing.T) {
		team := p("/api/v2/teams/%d/", e.teamID("sre"))
		item := p("/api/v2/service_catalog_items/%d/", restart)
		user := p("/api/v2/users/%d/", e.userID(requester))
		stages := e.must(http.StatusOK, orgAdmin, "GET", twoStages, nil)["stages"].([]any)
		swapped := []any{stages[1], stages[0]}
		for _, c := range []struct {
			name, user, method, path string
			body                     map[string]any
			want                     map[string]any
		}{
			{"another id", orgAdmin, "PATCH", team, map[string]any{"id": e.teamID("security")},
				fieldErr("id", p("Read-only: this is %d; send it as GET shows it, or leave it out.", e.teamID("sre")))},
			{"another type", orgAdmin, "PATCH", team, map[string]any{"type": "user"},
				fieldErr("type", `Read-only: this is "team"; send it as GET shows it, or leave it out.`)},
			{"another url", orgAdmin, "PATCH", team, map[string]any{"url": p("/api/v2/teams/%d/", e.teamID("security"))},
				fieldErr("url", p(`Read-only: this is "/api/v2/teams/%d/"; send it as GET shows it, or leave it out.`, e.teamID("sre")))},
			{"another organization", orgAdmin, "PATCH", item, map[string]any{"organization": e.initech.ID},
				fieldErr("organization", "An item stays in its organization.")},
			{"another username", requester, "PATCH", user, map[string]any{"username": "alicia"},
				fieldErr("username", "A username cannot change: decisions are recorded under it.")},
			{"stages reordered by their order", orgAdmin, "PATCH", twoStages, map[string]any{"stages": []any{
				withField(stages[0], "order", 2), withField(stages[1], "order", 1)}},
				map[string]any{
					"stages.0.order": []string{"A stage's order is its place in the list (1 here): move the stage to reorder."},
					"stages.1.order": []string{"A stage's order is its place in the list (2 here): move the stage to reorder."},
				}},
			{"its own template beside another", orgAdmin, "PATCH", item, map[string]any{
				"job_template": awxsim.DemoRestartServiceID, "workflow_job_template": awxsim.DemoProvisionEnvironmentID},
				fieldErr("job_template", "Give exactly one of job_template and workflow_job_template.")},
			{"an id on a create", orgAdmin, "POST", "/api/v2/teams/", map[string]any{"organization": e.orgID(), "name": "new", "id": 5},
				fieldErr("id", "Read-only: the server sets it; leave it out.")},
		} {
			t.Run(c.name, func(t *testing.T) {
				db := e.dbState()
				status, raw := e.raw(c.user, c.method, c.path, c.body)
				require.Equal(t, http.StatusBadRequest, status, "%s", raw)
				eq, got := sameJSON(t, c.want, raw)
				assert.True(t, eq, "got %s", got)
				assert.Equal(t, db, e.dbState())
			})
		}

		// Moving the stages reorders them; their order follows.
		moved := e.must(http.StatusOK, orgAdmin, "PATCH", twoStages, map[string]any{"stages": []any{
			withField(swapped[0], "order", 1), withField(swapped[1], "order", 2)}})
		got := moved["stages"].([]any)
		assert.Equal(t, stages[1].(map[string]any)["name"], got[0].(map[string]any)["name"])
		assert.EqualValues(t, 1, got[0].(map[string]any)["order"])

		// What the server derives is ignored, whatever is sent.
		before := e.must(http.StatusOK, orgAdmin, "GET", item, nil)
		after := e.must(http.StatusOK, orgAdmin, "PATCH", item, map[string]any{
			"created": "2000-01-01T00:00:00Z", "modified": "2000-01-01T00:00:00Z", "related": map[string]any{}, "is_workflow": true,
			"summary_fields": map[string]any{"organization": map[string]any{"id": 1, "name": "x"}}, "description": "restarts one service",
		})
		assert.Equal(t, before["created"], after["created"])
		assert.Equal(t, before["related"], after["related"])
		assert.Equal(t, before["summary_fields"], after["summary_fields"])
		assert.Equal(t, false, after["is_workflow"])
		assert.Equal(t, "restarts one service", after["description"])
		assert.NotEqual(t, before["modified"], after["modified"], "a change moves modified")
	})
}

// withField is a copy of the object obj with field set to v.
func withField(obj any, field string, v any) map[string]any {
	out := map[string]any{}
	for k, val := range obj.(map[string]any) {
		out[k] = val
	}
	out[field] = v
	return out
}
