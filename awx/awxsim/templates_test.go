package awxsim_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

func TestDemoInventory(t *testing.T) {
	inv := awxsim.DemoInventory()
	jts := map[int64]awxsim.JobTemplate{}
	for _, jt := range inv.JobTemplates {
		jts[jt.ID] = jt
	}
	for _, id := range []int64{awxsim.DemoRestartServiceID, awxsim.DemoHealthCheckID, awxsim.DemoRotateCredentialsID,
		awxsim.DemoCreateDatabaseID, awxsim.DemoDeployAppID} {
		assert.Contains(t, jts, id)
	}
	assert.Equal(t, "Restart service", jts[7].Name)
	assert.Equal(t, "Health check", jts[9].Name)
	assert.Nil(t, jts[9].Survey)
	assert.Equal(t, awxsim.StatusFailed, jts[13].Outcome)

	require.Len(t, inv.WorkflowJobTemplates, 1)
	wf := inv.WorkflowJobTemplates[0]
	assert.Equal(t, awxsim.DemoProvisionEnvironmentID, wf.ID)
	assert.True(t, wf.AskVariablesOnLaunch, "node answers travel in the workflow's extra_vars")

	// Every node's job template exists, and merging the workflow's and the
	// nodes' answers is never ambiguous.
	definedBy := map[string]string{}
	addSurvey := func(owner string, s *awxsim.Survey) {
		require.NotNil(t, s, owner)
		for _, q := range s.Spec {
			assert.NotContains(t, definedBy, q.Variable, "%s redefines %s of %s", owner, q.Variable, definedBy[q.Variable])
			definedBy[q.Variable] = owner
		}
	}
	addSurvey(wf.Name, wf.Survey)
	var idents []string
	for _, n := range wf.Nodes {
		jt, ok := jts[n.UnifiedJobTemplate]
		require.True(t, ok, "node %s names a missing job template", n.Identifier)
		addSurvey(n.Identifier, jt.Survey)
		idents = append(idents, n.Identifier)
	}
	assert.Equal(t, []string{"create-database", "deploy-app"}, idents)
	for _, v := range []string{"service_name", "drain_seconds", "reason"} {
		assert.NotContains(t, definedBy, v)
	}
}

func TestTemplates_Detail(t *testing.T) {
	e := newEnv(t)
	jt := e.get("/api/v2/job_templates/7/")
	assert.Equal(t, float64(7), jt["id"])
	assert.Equal(t, "job_template", jt["type"])
	assert.Equal(t, "/api/v2/job_templates/7/", jt["url"])
	assert.Equal(t, "Restart service", jt["name"])
	assert.Equal(t, true, jt["survey_enabled"])
	assert.Equal(t, false, jt["ask_variables_on_launch"])
	assert.Equal(t, true, jt["ask_labels_on_launch"])
	assert.Equal(t, "never updated", jt["status"])
	assert.Equal(t, "", jt["extra_vars"])
	related := jt["related"].(map[string]any)
	assert.Equal(t, "/api/v2/job_templates/7/launch/", related["launch"])
	assert.Equal(t, "/api/v2/job_templates/7/survey_spec/", related["survey_spec"])
	assert.Equal(t, "Restart service", jt["summary_fields"].(map[string]any)["survey"].(map[string]any)["title"])
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`, jt["created"])

	wf := e.get("/api/v2/workflow_job_templates/11/")
	assert.Equal(t, "workflow_job_template", wf["type"])
	assert.Equal(t, "Provision environment", wf["name"])
	assert.Equal(t, true, wf["ask_variables_on_launch"])
	assert.Equal(t, "/api/v2/workflow_job_templates/11/workflow_nodes/", wf["related"].(map[string]any)["workflow_nodes"])

	// A launched template reports its last job.
	job := e.launch(awxsim.KindJob, 9, nil)
	hc := e.get("/api/v2/job_templates/9/")
	assert.Equal(t, "pending", hc["status"])
	assert.Equal(t, job["id"], hc["summary_fields"].(map[string]any)["last_job"].(map[string]any)["id"])

	list := e.get("/api/v2/job_templates/?name=Health+check")
	assert.Equal(t, []int64{9}, ids(t, list))
}

func TestTemplates_LaunchInfo(t *testing.T) {
	e := newEnv(t)
	rs := e.get("/api/v2/job_templates/7/launch/")
	assert.Equal(t, []any{"service_name"}, rs["variables_needed_to_start"])
	assert.Equal(t, true, rs["survey_enabled"])
	assert.Equal(t, false, rs["can_start_without_user_input"])
	assert.Equal(t, true, rs["ask_labels_on_launch"])
	assert.Equal(t, []any{}, rs["passwords_needed_to_start"])
	assert.Equal(t, map[string]any{"name": "Restart service", "id": float64(7), "description": rs["job_template_data"].(map[string]any)["description"]}, rs["job_template_data"])
	assert.Equal(t, "", rs["defaults"].(map[string]any)["extra_vars"])

	hc := e.get("/api/v2/job_templates/9/launch/")
	assert.Equal(t, []any{}, hc["variables_needed_to_start"])
	assert.Equal(t, false, hc["survey_enabled"])
	assert.Equal(t, true, hc["can_start_without_user_input"])

	wf := e.get("/api/v2/workflow_job_templates/11/launch/")
	assert.Equal(t, []any{"env_name", "ttl_days"}, wf["variables_needed_to_start"], "required even with a default")
	assert.Equal(t, []any{}, wf["node_templates_missing"])
	assert.Equal(t, []any{}, wf["node_prompts_rejected"])
	assert.Equal(t, float64(11), wf["workflow_job_template_data"].(map[string]any)["id"])
	assert.NotContains(t, wf, "job_template_data")
}

func TestTemplates_SurveySpec(t *testing.T) {
	e := newEnv(t)
	assert.Equal(t, map[string]any{}, e.get("/api/v2/job_templates/9/survey_spec/"))

	spec := e.get("/api/v2/job_templates/7/survey_spec/")
	assert.Equal(t, "Restart service", spec["name"])
	qs := spec["spec"].([]any)
	require.Len(t, qs, 3)
	service := qs[0].(map[string]any)
	assert.Equal(t, "multiplechoice", service["type"])
	assert.Equal(t, "service_name", service["variable"])
	assert.Equal(t, true, service["required"])
	assert.Equal(t, []any{"api", "web", "worker"}, service["choices"])
	drain := qs[1].(map[string]any)
	assert.Equal(t, float64(30), drain["default"])
	assert.Equal(t, float64(0), drain["min"])
	assert.Equal(t, float64(600), drain["max"])
	reason := qs[2].(map[string]any)
	assert.Nil(t, reason["min"])
	assert.Equal(t, float64(200), reason["max"])
	assert.Equal(t, "", reason["choices"])

	wf := e.get("/api/v2/workflow_job_templates/11/survey_spec/")
	var vars []any
	for _, q := range wf["spec"].([]any) {
		vars = append(vars, q.(map[string]any)["variable"])
	}
	assert.Equal(t, []any{"env_name", "ttl_days"}, vars)

	t.Run("password defaults are hidden", func(t *testing.T) {
		require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 40, Name: "Secret", SurveyEnabled: true,
			Survey: &awxsim.Survey{Name: "s", Spec: []awxsim.SurveyQuestion{
				{Type: awxsim.QuestionPassword, QuestionName: "Password", Variable: "pw", Default: "hunter22"},
			}}}))
		r := e.do("GET", "/api/v2/job_templates/40/survey_spec/", nil)
		require.Equal(t, http.StatusOK, r.status)
		assert.NotContains(t, string(r.raw), "hunter22")
		assert.Equal(t, "$encrypted$", r.json(t)["spec"].([]any)[0].(map[string]any)["default"])
	})
}

func TestTemplates_WorkflowNodes(t *testing.T) {
	e := newEnv(t)
	page := e.get("/api/v2/workflow_job_templates/11/workflow_nodes/")
	assert.Equal(t, float64(2), page["count"])
	nodes := results(t, page)
	require.Len(t, nodes, 2)
	db := nodes[0]
	assert.Equal(t, float64(awxsim.DemoCreateDatabaseNodeID), db["id"])
	assert.Equal(t, "workflow_job_template_node", db["type"])
	assert.Equal(t, "/api/v2/workflow_job_template_nodes/31/", db["url"])
	assert.Equal(t, "create-database", db["identifier"])
	assert.Equal(t, float64(11), db["workflow_job_template"])
	assert.Equal(t, float64(21), db["unified_job_template"])
	assert.Equal(t, []any{float64(32)}, db["success_nodes"])
	assert.Equal(t, []any{}, db["failure_nodes"])
	assert.Equal(t, []any{}, db["always_nodes"])
	assert.Equal(t, map[string]any{"db_size": "small", "db_password": "$encrypted$"}, db["extra_data"],
		"answers to its template's required questions, the password as AWX shows it")
	ujt := db["summary_fields"].(map[string]any)["unified_job_template"].(map[string]any)
	assert.Equal(t, "Create database", ujt["name"])
	assert.Equal(t, "job", ujt["unified_job_type"])
	assert.Equal(t, "deploy-app", nodes[1]["identifier"])

	assert.Equal(t, "deploy-app", e.get("/api/v2/workflow_job_template_nodes/32/")["identifier"])
	assert.Equal(t, http.StatusNotFound, e.do("GET", "/api/v2/workflow_job_templates/7/workflow_nodes/", nil).status)

	t.Run("broken and rejected nodes", func(t *testing.T) {
		require.NoError(t, e.sim.AddWorkflowJobTemplate(awxsim.WorkflowJobTemplate{ID: 60, Name: "Broken",
			Nodes: []awxsim.WorkflowNode{
				{ID: 601, Identifier: "gone", UnifiedJobTemplate: 999},
				{ID: 602, Identifier: "unprompted", UnifiedJobTemplate: 9, ExtraData: map[string]any{"x": 1}},
			}}))
		nodes := results(t, e.get("/api/v2/workflow_job_templates/60/workflow_nodes/"))
		require.Len(t, nodes, 2)
		assert.Nil(t, nodes[0]["unified_job_template"])
		assert.NotContains(t, nodes[0]["summary_fields"], "unified_job_template")
		assert.Equal(t, map[string]any{"x": float64(1)}, nodes[1]["extra_data"])
		info := e.get("/api/v2/workflow_job_templates/60/launch/")
		assert.Equal(t, []any{float64(601)}, info["node_templates_missing"])
		assert.Equal(t, []any{float64(602)}, info["node_prompts_rejected"])
	})
}

// node_prompts_rejected is AWX's WorkflowJobTemplate.node_prompts_rejected:
// a node is listed when its job template's _accept_or_ignore_job_kwargs
// reports any error for the node's saved prompts, and the survey's required
// questions count, defaults or not (the node's extra_data must answer them).
func TestTemplates_NodePromptsRejected(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 71, Name: "Required with a default", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "s", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionInteger, QuestionName: "Size", Variable: "size", Required: true, Default: 3},
		}}}))
	require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 72, Name: "Secret", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "s", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionPassword, QuestionName: "Password", Variable: "pw", Required: true, Min: intPtr(8)},
		}}}))
	require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 73, Name: "Disabled survey", SurveyEnabled: false,
		Survey: &awxsim.Survey{Name: "s", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionText, QuestionName: "Name", Variable: "name", Required: true},
		}}}))
	nodes := []awxsim.WorkflowNode{
		{ID: 709, Identifier: "unanswered", UnifiedJobTemplate: awxsim.DemoRestartServiceID},
		{ID: 701, Identifier: "answered", UnifiedJobTemplate: awxsim.DemoRestartServiceID, ExtraData: map[string]any{"service_name": "api"}},
		{ID: 702, Identifier: "bad answer", UnifiedJobTemplate: awxsim.DemoRestartServiceID, ExtraData: map[string]any{"service_name": "db"}},
		{ID: 703, Identifier: "default only", UnifiedJobTemplate: 71},
		{ID: 704, Identifier: "default answered", UnifiedJobTemplate: 71, ExtraData: map[string]any{"size": 4}},
		{ID: 705, Identifier: "no survey", UnifiedJobTemplate: awxsim.DemoHealthCheckID},
		{ID: 706, Identifier: "unprompted variable", UnifiedJobTemplate: awxsim.DemoHealthCheckID, ExtraData: map[string]any{"x": 1}},
		{ID: 707, Identifier: "nothing required", UnifiedJobTemplate: awxsim.DemoDeployAppID},
		{ID: 708, Identifier: "password", UnifiedJobTemplate: 72, ExtraData: map[string]any{"pw": "long-enough"}},
		{ID: 710, Identifier: "short password", UnifiedJobTemplate: 72, ExtraData: map[string]any{"pw": "short"}},
		{ID: 711, Identifier: "survey disabled", UnifiedJobTemplate: 73},
	}
	require.NoError(t, e.sim.AddWorkflowJobTemplate(awxsim.WorkflowJobTemplate{ID: 70, Name: "Mixed", Nodes: nodes}))

	info := e.get("/api/v2/workflow_job_templates/70/launch/")
	assert.Equal(t, []any{float64(702), float64(703), float64(706), float64(709), float64(710)}, info["node_prompts_rejected"])
	assert.Equal(t, []any{}, info["node_templates_missing"])

	shown := e.get("/api/v2/workflow_job_template_nodes/708/")
	assert.Equal(t, map[string]any{"pw": "$encrypted$"}, shown["extra_data"], "saved passwords are shown as AWX shows them")

	t.Run("the demo workflow is accepted", func(t *testing.T) {
		info := e.get("/api/v2/workflow_job_templates/11/launch/")
		assert.Equal(t, []any{}, info["node_prompts_rejected"])
	})
}

func TestTemplates_AddValidates(t *testing.T) {
	sim := awxsim.New(awxsim.Config{})
	assert.Error(t, sim.AddJobTemplate(awxsim.JobTemplate{ID: 0, Name: "no id"}))
	assert.Error(t, sim.AddJobTemplate(awxsim.JobTemplate{ID: 50, Outcome: "exploded"}))
	assert.Error(t, sim.AddJobTemplate(awxsim.JobTemplate{ID: 50, Survey: &awxsim.Survey{Spec: []awxsim.SurveyQuestion{
		{Type: "date", Variable: "d"}}}}))
	assert.Error(t, sim.AddJobTemplate(awxsim.JobTemplate{ID: 50, Survey: &awxsim.Survey{Spec: []awxsim.SurveyQuestion{
		{Type: "text", Variable: "a"}, {Type: "integer", Variable: "a"}}}}))
	assert.Error(t, sim.AddJobTemplate(awxsim.JobTemplate{ID: 50, Survey: &awxsim.Survey{Spec: []awxsim.SurveyQuestion{
		{Type: "multiplechoice", Variable: "c"}}}}))
	assert.Error(t, sim.AddWorkflowJobTemplate(awxsim.WorkflowJobTemplate{ID: 60, Nodes: []awxsim.WorkflowNode{
		{ID: 1, Identifier: "a"}, {ID: 2, Identifier: "a"}}}), "identifiers are unique within a workflow")
	assert.Error(t, sim.AddWorkflowJobTemplate(awxsim.WorkflowJobTemplate{ID: 60, Nodes: []awxsim.WorkflowNode{
		{ID: awxsim.DemoDeployAppNodeID, Identifier: "a"}}}), "node ids are unique across workflows")
	assert.NoError(t, sim.AddWorkflowJobTemplate(awxsim.WorkflowJobTemplate{ID: 11, Name: "Replaced", Nodes: []awxsim.WorkflowNode{
		{ID: awxsim.DemoDeployAppNodeID, Identifier: "a"}}}), "a workflow may keep its own node ids when replaced")
	assert.Panics(t, func() {
		awxsim.New(awxsim.Config{Inventory: &awxsim.Inventory{JobTemplates: []awxsim.JobTemplate{{ID: -1}}}})
	})
}
