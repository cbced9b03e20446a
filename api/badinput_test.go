package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/store"
)

// badCase is one bad request and the exact answer it must get.
type badCase struct {
	name   string
	user   string
	method string
	path   string
	body   any
	status int
	// want is the exact JSON body; when check is set it judges the body
	// instead.
	want  any
	check func(t *testing.T, raw []byte)
	// noCompile asserts that no policy condition was compiled: the call
	// was refused before its condition reached the compiler.
	noCompile bool
}

// fieldErr is AWX's {"field": ["message", ...]} body.
func fieldErr(field string, msgs ...string) map[string]any {
	return map[string]any{field: msgs}
}

func detailErr(msg string) map[string]any { return map[string]any{"detail": msg} }

const invalidPK = `Invalid pk "%d" - object does not exist.`

func TestAPI_BadInput(t *testing.T) {
	e := newEnv(t)
	provision, restart := e.catalog()
	acme := e.orgID()
	ops, err := e.stack.Store.CreateTeam(context.Background(), e.initech.ID, "ops", "initech's team")
	require.NoError(t, err)
	empty, err := e.stack.Store.CreateTeam(context.Background(), acme, "empty", "a team without members")
	require.NoError(t, err)
	policy, err := e.stack.Store.GetPolicyByName(context.Background(), acme, "environments")
	require.NoError(t, err)
	waiting := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	const missing = int64(987654321)

	p := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	submitRestart := p("/api/v2/service_catalog_items/%d/submit/", restart)
	submitProvision := p("/api/v2/service_catalog_items/%d/submit/", provision)
	restartWith := func(vars map[string]any) map[string]any {
		return map[string]any{"justification": "needed", "extra_vars": vars}
	}
	provisionWith := func(mutate func(a map[string]any)) map[string]any {
		a := provisionAnswers(3)
		mutate(a)
		return a
	}
	stage := func(kv ...any) map[string]any {
		s := map[string]any{"name": "Review", "approver_team": e.teamID("sre")}
		for i := 0; i < len(kv); i += 2 {
			s[kv[i].(string)] = kv[i+1]
		}
		return s
	}
	newPolicy := func(kv ...any) map[string]any {
		b := map[string]any{"organization": acme, "name": "new policy", "stages": []any{stage()}}
		for i := 0; i < len(kv); i += 2 {
			b[kv[i].(string)] = kv[i+1]
		}
		return b
	}
	newItem := func(kv ...any) map[string]any {
		return withFields(map[string]any{"organization": acme, "name": "New item", "job_template": awxsim.DemoHealthCheckID}, kv...)
	}
	conditionErr := func(expr string) string {
		err := approval.CheckCondition(expr)
		require.Error(t, err, "%q must not be a valid condition", expr)
		return err.Error()
	}
	notFound := detailErr("Not found.")
	forbidden := detailErr("You do not have permission to perform this action.")
	// doubling chains maps that double the type the checker infers.
	doubling := "size([{1: 1}].map(a, {a: a}).map(b, {b: b}).map(c, {c: c}).map(d, {d: d}).map(e, {e: e})) > 0"
	huge := `{"description": "` + strings.Repeat("x", 1<<20+10) + `"}`

	cases := []badCase{
		// Binding: JSON syntax, shape, types, unknown and missing fields, size.
		{name: "malformed JSON", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: `{"name": }`, status: 400,
			want: detailErr("JSON parse error - invalid character '}' looking for beginning of value (at byte 10)")},
		{name: "truncated JSON", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: `{"name": "x",`, status: 400,
			want: detailErr("JSON parse error - unexpected end of input")},
		{name: "two JSON objects", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: `{"name": "x"} {}`, status: 400,
			want: detailErr("JSON parse error - extra data after the object")},
		{name: "body is a list", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: p(`[{"organization": %d, "name": "x"}]`, acme), status: 400,
			want: detailErr("JSON parse error - not a JSON object")},
		{name: "body is a string", user: requester, method: "POST", path: submitRestart, body: `"please"`, status: 400,
			want: detailErr("JSON parse error - not a JSON object")},
		{name: "string for an id", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: map[string]any{"organization": fmt.Sprint(acme), "name": "x"}, status: 400,
			want: fieldErr("organization", "Expected an integer, got string.")},
		{name: "number for a name", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: map[string]any{"organization": acme, "name": 5}, status: 400,
			want: fieldErr("name", "Expected a string, got number.")},
		{name: "string for tags", user: orgAdmin, method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", restart), body: map[string]any{"tags": "ops"}, status: 400,
			want: fieldErr("tags", "Expected a list, got string.")},
		{name: "string for extra_vars", user: requester, method: "POST", path: submitRestart, body: map[string]any{"justification": "j", "extra_vars": "service_name=api"}, status: 400,
			want: fieldErr("extra_vars", "Expected an object, got string.")},
		{name: "string for priority", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/", body: newPolicy("priority", "high"), status: 400,
			want: fieldErr("priority", "Expected an integer, got string.")},
		{name: "unknown field on create", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: map[string]any{"organization": acme, "name": "x", "colour": "red"}, status: 400,
			want: fieldErr("colour", "Unknown field.")},
		{name: "unknown field on update", user: orgAdmin, method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", restart), body: map[string]any{"colour": "red"}, status: 400,
			want: fieldErr("colour", "Unknown field.")},
		{name: "unknown field on submit", user: requester, method: "POST", path: submitRestart, body: map[string]any{"justification": "j", "extra_vars": map[string]any{"service_name": "api"}, "priority": 1}, status: 400,
			want: fieldErr("priority", "Unknown field.")},
		// The organization comes first: whether the caller may create there
		// is decided before the rest of the body is looked at.
		{name: "team without fields", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: map[string]any{}, status: 400,
			want: fieldErr("organization", "This field is required.")},
		{name: "team with an empty body", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: "", status: 400,
			want: fieldErr("organization", "This field is required.")},
		{name: "team without a name", user: orgAdmin, method: "POST", path: "/api/v2/teams/", body: map[string]any{"organization": acme}, status: 400,
			want: fieldErr("name", "This field is required.")},
		{name: "catalog item without fields", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/", body: map[string]any{}, status: 400,
			want: fieldErr("organization", "This field is required.")},
		{name: "catalog item with only its organization", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/", body: map[string]any{"organization": acme}, status: 400,
			want: map[string]any{"name": []string{"This field is required."},
				"job_template": []string{"Give exactly one of job_template and workflow_job_template."}}},
		{name: "team: requester with an invalid body", user: requester, method: "POST", path: "/api/v2/teams/", body: map[string]any{"organization": acme, "name": ""}, status: 403,
			want: forbidden},
		{name: "catalog item: requester with malformed JSON", user: requester, method: "POST", path: "/api/v2/service_catalog_items/", body: `{"name": `, status: 403,
			want: forbidden},
		{name: "policy without stages", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/", body: map[string]any{"organization": acme, "name": "p"}, status: 400,
			want: fieldErr("stages", "Give at least one stage.")},
		{name: "user without username", user: superuser, method: "POST", path: "/api/v2/users/", body: map[string]any{"email": "x@example.com"}, status: 400,
			want: fieldErr("username", "This field is required.")},
		{name: "body over 1 MiB", user: orgAdmin, method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", restart), body: huge, status: 413,
			want: detailErr("The request body is larger than 1 MiB.")},

		// Submissions checked against the template's survey, as AWX does.
		{name: "submit: required answer missing", user: requester, method: "POST", path: submitRestart, body: restartWith(map[string]any{}), status: 400,
			want: fieldErr("extra_vars.service_name", "'service_name' value missing")},
		{name: "submit: number above max", user: requester, method: "POST", path: submitRestart, body: restartWith(map[string]any{"service_name": "api", "drain_seconds": 601}), status: 400,
			want: fieldErr("extra_vars.drain_seconds", "'drain_seconds' value 601 is too large (must be no more than 600).")},
		{name: "submit: number below min", user: requester, method: "POST", path: submitRestart, body: restartWith(map[string]any{"service_name": "api", "drain_seconds": -1}), status: 400,
			want: fieldErr("extra_vars.drain_seconds", "'drain_seconds' value -1 is too small (must be at least 0).")},
		{name: "submit: float for an integer", user: requester, method: "POST", path: submitProvision,
			body: provisionWith(func(a map[string]any) { a["extra_vars"].(map[string]any)["ttl_days"] = 3.5 }), status: 400,
			want: fieldErr("extra_vars.ttl_days", "Value 3.5 for 'ttl_days' expected to be an integer.")},
		{name: "submit: invalid choice", user: requester, method: "POST", path: submitRestart, body: restartWith(map[string]any{"service_name": "db"}), status: 400,
			want: fieldErr("extra_vars.service_name", "Value db for 'service_name' expected to be one of ['api', 'web', 'worker'].")},
		{name: "submit: text too long", user: requester, method: "POST", path: submitRestart,
			body: restartWith(map[string]any{"service_name": "api", "reason": strings.Repeat("r", 201)}), status: 400,
			want: fieldErr("extra_vars.reason", "'reason' value "+strings.Repeat("r", 201)+" is too large (must be no more than 200).")},
		{name: "submit: unknown variable, template does not prompt", user: requester, method: "POST", path: submitRestart,
			body: restartWith(map[string]any{"service_name": "api", "force": true}), status: 400,
			want: fieldErr("extra_vars.force", "'force' is not a survey question, and the template does not prompt for other variables (ask_variables_on_launch is off).")},
		{name: "submit: node_survey_data on a job template item", user: requester, method: "POST", path: submitRestart,
			body:   map[string]any{"justification": "j", "extra_vars": map[string]any{"service_name": "api"}, "node_survey_data": map[string]any{"create-database": map[string]any{"db_size": "small"}}},
			status: 400, check: func(t *testing.T, raw []byte) {
				// Node errors may follow; the item-level message must be there.
				body := decodeObject(t, raw)
				require.Equal(t, []any{"Only workflow items have node surveys."}, body["node_survey_data"], "%s", raw)
				for k := range body {
					require.True(t, strings.HasPrefix(k, "node_survey_data"), "unexpected key %q in %s", k, raw)
				}
			}},
		{name: "submit: unknown node", user: requester, method: "POST", path: submitProvision,
			body: provisionWith(func(a map[string]any) {
				a["node_survey_data"].(map[string]any)["create-db"] = map[string]any{"db_size": "small"}
			}), status: 400,
			want: fieldErr("node_survey_data.create-db", "no such node; nodes are: create-database, deploy-app")},
		{name: "submit: required node answer missing", user: requester, method: "POST", path: submitProvision,
			body: provisionWith(func(a map[string]any) {
				delete(a["node_survey_data"].(map[string]any)["create-database"].(map[string]any), "db_size")
			}), status: 400,
			want: fieldErr("node_survey_data.create-database.db_size", "'db_size' value missing")},
		{name: "submit: no justification", user: requester, method: "POST", path: submitRestart,
			body: map[string]any{"extra_vars": map[string]any{"service_name": "api"}}, status: 400,
			want: fieldErr("justification", "Say why this is needed.")},
		{name: "submit: blank justification", user: requester, method: "POST", path: submitRestart,
			body: map[string]any{"justification": " \n\t ", "extra_vars": map[string]any{"service_name": "api"}}, status: 400,
			want: fieldErr("justification", "Say why this is needed.")},
		{name: "submit: justification too long", user: requester, method: "POST", path: submitRestart,
			body: map[string]any{"justification": strings.Repeat("j", 2001), "extra_vars": map[string]any{"service_name": "api"}}, status: 400,
			want: fieldErr("justification", "Use at most 2000 bytes.")},
		{name: "launch_data: extra_vars not JSON", user: requester, method: "GET", path: p("/api/v2/service_catalog_items/%d/launch_data/?extra_vars=ttl_days%%3D9", provision), status: 400,
			want: fieldErr("extra_vars", "Give a JSON object.")},

		// Approval policies.
		{name: "policy: condition does not compile", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("condition", "extra_vars.ttl_days >"), status: 400, want: fieldErr("condition", conditionErr("extra_vars.ttl_days >"))},
		{name: "policy: condition is not a bool", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("condition", "extra_vars.ttl_days + 1"), status: 400, check: func(t *testing.T, raw []byte) {
				body := decodeObject(t, raw)
				require.Equal(t, []string{"condition"}, keysOf(body), "%s", raw)
				msgs := body["condition"].([]any)
				require.Len(t, msgs, 1)
				require.Contains(t, msgs[0], "bool", "the message says a bool is needed: %s", raw)
				require.Equal(t, conditionErr("extra_vars.ttl_days + 1"), msgs[0])
			}},
		{name: "policy: misspelt field of item", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("condition", `item.nmae == "x"`), status: 400, check: func(t *testing.T, raw []byte) {
				body := decodeObject(t, raw)
				require.Equal(t, []string{"condition"}, keysOf(body), "%s", raw)
				require.Contains(t, body["condition"].([]any)[0], "undefined field 'nmae'")
			}},
		{name: "policy: misspelt field of requester on update", user: orgAdmin, method: "PATCH", path: p("/api/v2/approval_policies/%d/", policy.ID),
			body: map[string]any{"condition": `"sre" in requester.team`}, status: 400, check: func(t *testing.T, raw []byte) {
				require.Contains(t, decodeObject(t, raw)["condition"].([]any)[0], "undefined field 'team'")
			}},
		{name: "policy: condition too complex to check", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("condition", doubling), status: 400, check: func(t *testing.T, raw []byte) {
				require.Contains(t, decodeObject(t, raw)["condition"].([]any)[0], "condition is too complex")
			}},
		{name: "policy: requester with a hostile, invalid body", user: requester, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("condition", hostileCondition(), "name", "", "stages", []any{}), status: 403, want: forbidden, noCompile: true},
		{name: "policy: requester with malformed JSON", user: requester, method: "POST", path: "/api/v2/approval_policies/",
			body: `{"condition": "` + hostileCondition(), status: 403, want: forbidden, noCompile: true},
		{name: "policy: admin of another organization with a hostile body", user: otherAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("condition", hostileCondition(), "priority", "high"), status: 400, want: fieldErr("organization", p(invalidPK, acme)), noCompile: true},
		{name: "policy update: requester with a hostile body", user: requester, method: "PATCH", path: p("/api/v2/approval_policies/%d/", policy.ID),
			body: map[string]any{"condition": hostileCondition(), "priority": "high"}, status: 404, want: notFound, noCompile: true},
		{name: "policy: condition update does not compile", user: orgAdmin, method: "PATCH", path: p("/api/v2/approval_policies/%d/", policy.ID),
			body: map[string]any{"condition": `item.category ==`}, status: 400, want: fieldErr("condition", conditionErr(`item.category ==`))},
		{name: "policy: negative timeout", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage("timeout", "-5m")}), status: 400,
			want: fieldErr("stages.0.timeout", "A stage waits at least 1m (the minimum stage timeout).")},
		{name: "policy: timeout under the minimum", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage(), stage("timeout", "59s")}), status: 400,
			want: fieldErr("stages.1.timeout", "A stage waits at least 1m (the minimum stage timeout).")},
		{name: "policy: timeout over the maximum", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage("timeout", "721h")}), status: 400,
			want: fieldErr("stages.0.timeout", "A stage waits at most 720h (the maximum stage timeout).")},
		{name: "policy: reminders more often than the minimum interval", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage("reminder_interval", "1s")}), status: 400,
			want: fieldErr("stages.0.reminder_interval", `Remind at most every 1h (the minimum reminder interval), or use "0s" for no reminders.`)},
		{name: "policy update: too many reminders", user: orgAdmin, method: "PATCH", path: p("/api/v2/approval_policies/%d/", policy.ID),
			body: map[string]any{"stages": []any{stage("timeout", "720h", "reminder_interval", "12h")}}, status: 400,
			want: fieldErr("stages.0.reminder_interval", `A stage sends at most 30 reminders: with a timeout of 720h, remind at most every 23h14m, or use "0s" for no reminders.`)},
		{name: "policy: unparseable timeout", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage("timeout", "3 days")}), status: 400,
			want: fieldErr("stages.0.timeout", `Use a duration such as "72h" or "30m", not "3 days".`)},
		{name: "policy: negative reminder interval", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage("reminder_interval", "-1h")}), status: 400,
			want: fieldErr("stages.0.reminder_interval", `A reminder interval cannot be negative; use "0s" for no reminders.`)},
		{name: "policy: zero min_approvers", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage("min_approvers", 0)}), status: 400, want: fieldErr("stages.0.min_approvers", "Use 1 to 100 approvers.")},
		{name: "policy: no stages", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{}), status: 400, want: fieldErr("stages", "Give 1 to 20 stages.")},
		{name: "policy: stage team of another organization", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage("approver_team", ops.ID)}), status: 400,
			want: fieldErr("stages", "A stage names a team that is not in the policy's organization.")},
		{name: "policy: stage team that does not exist", user: orgAdmin, method: "PATCH", path: p("/api/v2/approval_policies/%d/", policy.ID),
			body: map[string]any{"stages": []any{stage("approver_team", missing)}}, status: 400,
			want: fieldErr("stages", "A stage names a team that is not in the policy's organization.")},
		{name: "policy: a stage needs more approvers than its team has", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage(), stage("name", "Quorum", "min_approvers", 5)}), status: 400,
			want: fieldErr("stages.1.min_approvers", "Stage 2 (Quorum) needs 5 approvers but team sre has 2 active members, so it could never be completed; "+
				"lower min_approvers or add members to the team first.")},
		{name: "policy: a stage of an empty team", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("stages", []any{stage("approver_team", empty.ID)}), status: 400,
			want: fieldErr("stages.0.min_approvers", "Stage 1 (Review) needs 1 approver but team empty has 0 active members, so it could never be completed; "+
				"lower min_approvers or add members to the team first.")},
		{name: "policy update: more org admins needed than the organization has", user: orgAdmin, method: "PATCH", path: p("/api/v2/approval_policies/%d/", policy.ID),
			body: map[string]any{"stages": []any{stage("name", "Admins", "approver_team", nil, "min_approvers", 2)}}, status: 400,
			want: fieldErr("stages.0.min_approvers", "Stage 1 (Admins) needs 2 approvers but the organization has 1 active admin, so it could never be completed; "+
				"lower min_approvers or make more people admins of the organization first.")},

		// Catalog items.
		{name: "item: both templates", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/",
			body: newItem("workflow_job_template", awxsim.DemoProvisionEnvironmentID), status: 400,
			want: fieldErr("job_template", "Give exactly one of job_template and workflow_job_template.")},
		{name: "item: neither template", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/",
			body: newItem("job_template", nil), status: 400,
			want: fieldErr("job_template", "Give exactly one of job_template and workflow_job_template.")},
		{name: "item update: both templates", user: orgAdmin, method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", restart),
			body: map[string]any{"job_template": awxsim.DemoHealthCheckID, "workflow_job_template": awxsim.DemoProvisionEnvironmentID}, status: 400,
			want: fieldErr("job_template", "Give exactly one of job_template and workflow_job_template.")},
		{name: "item: job template unknown to AWX", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/",
			body: newItem("job_template", 999), status: 400,
			want: fieldErr("job_template", "AWX has no job template 999 that Countersign's AWX user may launch.")},
		{name: "item: workflow template unknown to AWX", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/",
			body: newItem("job_template", nil, "workflow_job_template", 998), status: 400,
			want: fieldErr("workflow_job_template", "AWX has no workflow job template 998 that Countersign's AWX user may launch.")},
		{name: "item update: template unknown to AWX", user: orgAdmin, method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", restart),
			body: map[string]any{"job_template": 997}, status: 400,
			want: fieldErr("job_template", "AWX has no job template 997 that Countersign's AWX user may launch.")},
		{name: "item: invalid icon", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/",
			body: newItem("icon", "Server!"), status: 400,
			want: fieldErr("icon", `Use a lucide icon name such as "server" or "database-backup".`)},
		{name: "item: approver team of another organization", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/",
			body: newItem("approver_team", ops.ID), status: 400,
			want: fieldErr("approver_team", "No such team in the item's organization.")},
		{name: "item update: approver team that does not exist", user: orgAdmin, method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", restart),
			body: map[string]any{"approver_team": missing}, status: 400,
			want: fieldErr("approver_team", "No such team in the item's organization.")},
		{name: "item: requires the approval of an empty team", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/",
			body: newItem("requires_approval", true, "approver_team", empty.ID), status: 400,
			want: fieldErr("approver_team", "Team empty has no active members, so requests for this item could never be approved; add members to the team first.")},
		{name: "item update: an empty team as approver", user: orgAdmin, method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", restart),
			body: map[string]any{"approver_team": empty.ID}, status: 400,
			want: fieldErr("approver_team", "Team empty has no active members, so requests for this item could never be approved; add members to the team first.")},
		{name: "item update: requiring the approval of an empty team", user: orgAdmin, method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", provision),
			body: map[string]any{"requires_approval": true, "approver_team": empty.ID}, status: 400,
			want: fieldErr("approver_team", "Team empty has no active members, so requests for this item could never be approved; add members to the team first.")},

		// Decisions.
		{name: "reject with the wrong field", user: approver, method: "POST", path: p("/api/v2/service_requests/%d/reject/", waiting),
			body: map[string]any{"comment": "no"}, status: 400, want: fieldErr("comment", `Unknown field; this action takes "reason".`)},
		{name: "comment without text", user: approver, method: "POST", path: p("/api/v2/service_requests/%d/comment/", waiting),
			body: map[string]any{"text": "  "}, status: 400, want: map[string]any{"detail": "a comment needs text", "code": "text_required"}},

		// Ids that do not exist: 404 in paths, AWX's invalid pk in bodies.
		{name: "path: team", user: superuser, method: "GET", path: p("/api/v2/teams/%d/", missing), status: 404, want: notFound},
		{name: "path: not a number", user: superuser, method: "GET", path: "/api/v2/teams/abc/", status: 404, want: notFound},
		{name: "path: zero", user: superuser, method: "GET", path: "/api/v2/users/0/", status: 404, want: notFound},
		{name: "path: organization", user: superuser, method: "PATCH", path: p("/api/v2/organizations/%d/", missing), body: map[string]any{"name": "x"}, status: 404, want: notFound},
		{name: "path: catalog item update", user: superuser, method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", missing), body: map[string]any{"name": "x"}, status: 404, want: notFound},
		{name: "path: submit", user: superuser, method: "POST", path: p("/api/v2/service_catalog_items/%d/submit/", missing), body: restartServiceAnswers(), status: 404, want: notFound},
		{name: "path: policy delete", user: superuser, method: "DELETE", path: p("/api/v2/approval_policies/%d/", missing), status: 404, want: notFound},
		{name: "path: request", user: superuser, method: "GET", path: p("/api/v2/service_requests/%d/", missing), status: 404, want: notFound},
		{name: "path: request approve", user: superuser, method: "POST", path: p("/api/v2/service_requests/%d/approve/", missing), status: 404, want: notFound},
		{name: "path: token delete", user: superuser, method: "DELETE", path: p("/api/v2/tokens/%d/", missing), status: 404, want: notFound},
		{name: "path: unknown route", user: superuser, method: "GET", path: "/api/v2/no_such_thing/", status: 404, want: notFound},
		{name: "body: team member", user: orgAdmin, method: "POST", path: p("/api/v2/teams/%d/members/", e.teamID("sre")),
			body: map[string]any{"id": missing}, status: 400, want: fieldErr("id", p(invalidPK, missing))},
		{name: "body: organization admin", user: orgAdmin, method: "POST", path: p("/api/v2/organizations/%d/admins/", acme),
			body: map[string]any{"id": missing}, status: 400, want: fieldErr("id", p(invalidPK, missing))},
		{name: "body: team organization (org admin)", user: orgAdmin, method: "POST", path: "/api/v2/teams/",
			body: map[string]any{"organization": missing, "name": "x"}, status: 400, want: fieldErr("organization", p(invalidPK, missing))},
		// A superuser passes the access check, so the store's refusal must
		// still name the organization, as it does for an org admin.
		{name: "body: team organization (superuser)", user: superuser, method: "POST", path: "/api/v2/teams/",
			body: map[string]any{"organization": missing, "name": "x"}, status: 400, want: fieldErr("organization", p(invalidPK, missing))},
		{name: "body: catalog item organization (org admin)", user: orgAdmin, method: "POST", path: "/api/v2/service_catalog_items/",
			body: newItem("organization", missing), status: 400, want: fieldErr("organization", p(invalidPK, missing))},
		{name: "body: catalog item organization (superuser)", user: superuser, method: "POST", path: "/api/v2/service_catalog_items/",
			body: newItem("organization", missing), status: 400, want: fieldErr("organization", p(invalidPK, missing))},
		{name: "body: policy organization (org admin)", user: orgAdmin, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("organization", missing), status: 400, want: fieldErr("organization", p(invalidPK, missing))},
		{name: "body: policy organization (superuser)", user: superuser, method: "POST", path: "/api/v2/approval_policies/",
			body: newPolicy("organization", missing, "stages", []any{map[string]any{"name": "Admins"}}), status: 400,
			want: fieldErr("organization", p(invalidPK, missing))},

		// List parameters.
		{name: "list: unknown filter", user: requester, method: "GET", path: "/api/v2/service_catalog_items/?colour=red", status: 400,
			want: detailErr(`Unknown filter "colour"; filters here: category, enabled, organization, search, tag.`)},
		{name: "list: unknown filter on requests", user: requester, method: "GET", path: "/api/v2/service_requests/?owner=alice", status: 400,
			want: detailErr(`Unknown filter "owner"; filters here: mine, status, catalog_item, requester, organization.`)},
		{name: "list: page 0", user: requester, method: "GET", path: "/api/v2/service_requests/?page=0", status: 400, want: detailErr(`Invalid page: "0".`)},
		{name: "list: page not a number", user: requester, method: "GET", path: "/api/v2/teams/?page=two", status: 400, want: detailErr(`Invalid page: "two".`)},
		{name: "list: page_size not a number", user: requester, method: "GET", path: "/api/v2/teams/?page_size=all", status: 400, want: detailErr(`Invalid page_size: "all".`)},
		{name: "list: order_by an unknown field", user: requester, method: "GET", path: "/api/v2/service_requests/?order_by=colour", status: 400,
			want: detailErr(`Cannot order by "colour": choose from id, created, modified, status, finished.`)},
		{name: "list: order_by an unknown field, descending", user: orgAdmin, method: "GET", path: "/api/v2/users/?order_by=-password", status: 400,
			check: func(t *testing.T, raw []byte) {
				body := decodeObject(t, raw)
				require.Equal(t, []string{"detail"}, keysOf(body), "%s", raw)
				require.True(t, strings.HasPrefix(body["detail"].(string), `Cannot order by "-password": choose from id, `), "%s", raw)
			}},
		{name: "list: status=bogus", user: requester, method: "GET", path: "/api/v2/service_requests/?status=bogus", status: 400,
			want: detailErr(`Unknown status "bogus"; statuses are ` + statusNames() + `.`)},
		{name: "list: one bad status among good ones", user: requester, method: "GET", path: "/api/v2/service_requests/?status=rejected,done", status: 400,
			want: detailErr(`Unknown status "done"; statuses are ` + statusNames() + `.`)},
		{name: "list: enabled=maybe", user: orgAdmin, method: "GET", path: "/api/v2/service_catalog_items/?enabled=maybe", status: 400,
			want: detailErr(`Invalid enabled: "maybe"; use true or false.`)},
		{name: "list: catalog_item not an id", user: requester, method: "GET", path: "/api/v2/service_requests/?catalog_item=restart", status: 400,
			want: detailErr(`Invalid catalog_item: "restart".`)},
		{name: "list: organization not an id", user: requester, method: "GET", path: "/api/v2/teams/?organization=-1", status: 400,
			want: detailErr(`Invalid organization: "-1".`)},
		{name: "list: inbox takes no filters", user: approver, method: "GET", path: "/api/v2/service_requests/pending_approvals/?mine=true", status: 400,
			check: func(t *testing.T, raw []byte) {
				body := decodeObject(t, raw)
				require.Equal(t, []string{"detail"}, keysOf(body), "%s", raw)
				require.True(t, strings.HasPrefix(body["detail"].(string), `Unknown filter "mine"`), "%s", raw)
			}},
	}

	before := e.dbState()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			compiled := approval.ConditionCompiles()
			status, raw := e.raw(c.user, c.method, c.path, c.body)
			if c.noCompile {
				require.Equal(t, compiled, approval.ConditionCompiles(), "no condition may be compiled")
			}
			shown := raw
			if len(shown) > 400 {
				shown = append(append([]byte{}, shown[:400]...), "…"...)
			}
			require.Equal(t, c.status, status, "%s %s as %s: %s", c.method, c.path, c.user, shown)
			if c.check != nil {
				c.check(t, raw)
			} else {
				eq, got := sameJSON(t, c.want, raw)
				require.True(t, eq, "%s %s as %s:\n got  %s\n want %s", c.method, c.path, c.user, got, mustJSON(t, c.want))
			}
			after := e.dbState()
			for table, state := range before {
				require.Equal(t, state, after[table], "table %s changed after %s %s", table, c.method, c.path)
			}
			require.Len(t, after, len(before))
		})
	}
	t.Logf("%d bad-input cases", len(cases))

	// The fixtures the cases aimed at are intact.
	item, err := e.stack.Store.GetCatalogItem(context.Background(), restart)
	require.NoError(t, err)
	require.Equal(t, "Restart service", item.Name)
	require.Equal(t, []string{}, item.Tags)
	got, err := e.stack.Store.GetPolicy(context.Background(), policy.ID)
	require.NoError(t, err)
	require.Equal(t, policy.Condition, got.Condition)
	require.Equal(t, "pending_approval", e.must(http.StatusOK, requester, "GET", p("/api/v2/service_requests/%d/", waiting), nil)["status"])
	_, err = e.stack.Store.GetTeamByName(context.Background(), acme, "x")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// statusNames are SPEC 3.4's statuses, in lifecycle order.
func statusNames() string {
	return "pending_approval, approved, running, successful, failed, rejected, expired, canceled, changes_requested"
}
