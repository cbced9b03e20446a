package awx_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
)

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

func ptr[T any](v T) *T { return &v }

func TestClient_Me(t *testing.T) {
	f := newFakeAWX(t)
	f.handle("GET /api/v2/me/", serveBytes(http.StatusOK, fixture(t, "me.json")))

	u, err := f.client.Me(context.Background())
	require.NoError(t, err)
	assert.Equal(t, awx.User{ID: 1, Username: "user001", Email: "test@test.com", IsSuperuser: true}, u)

	t.Run("empty list is an error", func(t *testing.T) {
		f.handle("GET /api/v2/me/", serveBytes(http.StatusOK, []byte(`{"count":0,"next":null,"previous":null,"results":[]}`)))
		_, err := f.client.Me(context.Background())
		require.Error(t, err)
		assert.False(t, awx.IsTransient(err))
	})
}

func TestClient_JobTemplate(t *testing.T) {
	f := newFakeAWX(t)
	f.handle("GET /api/v2/job_templates/7/", serveBytes(http.StatusOK, fixture(t, "job_template_detail.json")))

	jt, err := f.client.Template(context.Background(), awx.JobTemplate, 7)
	require.NoError(t, err)
	assert.Equal(t, int64(7), jt.ID)
	assert.Equal(t, "job_template", jt.Type)
	assert.Equal(t, "Mike's JT", jt.Name)
	assert.Equal(t, int64(1), jt.Inventory)
	assert.Zero(t, jt.Organization, "this AWX version omits organization")
	assert.True(t, jt.SurveyEnabled)
	assert.False(t, jt.AskVariablesOnLaunch)
	assert.False(t, jt.AskLabelsOnLaunch)
	assert.Equal(t, "/api/v2/job_templates/7/launch/", jt.Related["launch"])
	assert.Equal(t, "/api/v2/job_templates/7/survey_spec/", jt.Related["survey_spec"])
}

func TestClient_WorkflowJobTemplate(t *testing.T) {
	f := newFakeAWX(t)
	f.handle("GET /api/v2/workflow_job_templates/15/", serveBytes(http.StatusOK, fixture(t, "workflow_job_template_detail.json")))

	wfjt, err := f.client.Template(context.Background(), awx.WorkflowJobTemplate, 15)
	require.NoError(t, err)
	assert.Equal(t, int64(15), wfjt.ID)
	assert.Equal(t, "workflow_job_template", wfjt.Type)
	assert.Equal(t, "A workflow", wfjt.Name)
	assert.Zero(t, wfjt.Organization, "null organization")
	assert.Zero(t, wfjt.Inventory, "null inventory")
	assert.True(t, wfjt.SurveyEnabled)
	assert.False(t, wfjt.AskVariablesOnLaunch)
	assert.Equal(t, "/api/v2/workflow_job_templates/15/workflow_nodes/", wfjt.Related["workflow_nodes"])
}

func TestClient_JobTemplateLaunchInfo(t *testing.T) {
	f := newFakeAWX(t)
	f.handle("GET /api/v2/job_templates/7/launch/", serveBytes(http.StatusOK, fixture(t, "job_template_launch_get.json")))

	li, err := f.client.LaunchInfo(context.Background(), awx.JobTemplate, 7)
	require.NoError(t, err)
	assert.True(t, li.CanStartWithoutUserInput)
	assert.False(t, li.SurveyEnabled)
	assert.False(t, li.InventoryNeededToStart)
	assert.Empty(t, li.VariablesNeededToStart)
	assert.Empty(t, li.PasswordsNeededToStart)
	assert.False(t, li.AskVariablesOnLaunch)
	assert.False(t, li.AskLabelsOnLaunch)
	assert.Equal(t, awx.TemplateRef{ID: 7, Name: "JT with Default Cred"}, li.Template())
	assert.Nil(t, li.WorkflowJobTemplateData)
	assert.Equal(t, "---", li.Defaults.ExtraVars)
	assert.Equal(t, awx.NamedRef{ID: 1, Name: "Demo Inventory"}, li.Defaults.Inventory)
	assert.Equal(t, []awx.NamedRef{{ID: 1, Name: "alex label"}}, li.Defaults.Labels)
}

func TestClient_WorkflowJobTemplateLaunchInfo(t *testing.T) {
	f := newFakeAWX(t)
	f.handle("GET /api/v2/workflow_job_templates/152/launch/", serveBytes(http.StatusOK, fixture(t, "workflow_job_template_launch_get.json")))

	li, err := f.client.LaunchInfo(context.Background(), awx.WorkflowJobTemplate, 152)
	require.NoError(t, err)
	assert.True(t, li.CanStartWithoutUserInput)
	assert.False(t, li.SurveyEnabled)
	assert.False(t, li.AskVariablesOnLaunch)
	assert.Empty(t, li.NodeTemplatesMissing)
	assert.Empty(t, li.NodePromptsRejected)
	assert.Equal(t, awx.TemplateRef{ID: 152, Name: "E2E 6GDe", Description: "this is a description"}, li.Template())
	assert.Nil(t, li.JobTemplateData)
	assert.Equal(t, "", li.Defaults.ExtraVars)
	assert.Equal(t, awx.NamedRef{}, li.Defaults.Inventory, "null id and name")
	assert.Equal(t, "", li.Defaults.Limit, "null limit")
	assert.Equal(t, []awx.NamedRef{{ID: 79, Name: "E2E Label DnWA"}}, li.Defaults.Labels)
}

func TestClient_Survey(t *testing.T) {
	want := awx.Survey{Name: "Simple", Description: "Description", Spec: []awx.Question{
		{QuestionName: "cantbeshort", QuestionDescription: "What is a long answer", Type: "text", Variable: "long_answer",
			Default: "Leeloo Minai Lekarariba-Laminai-Tchai Ekbat De Sebat", Min: ptr(5.0)},
		{QuestionName: "cantbelong", QuestionDescription: "What is a short answer", Type: "text", Variable: "short_answer",
			Default: "leeloo", Max: ptr(7.0)},
		{QuestionName: "reqd", QuestionDescription: "I should be required", Required: true, Type: "text", Variable: "reqd_answer",
			Default: "NOT OPTIONAL"},
		{QuestionName: "achoice", QuestionDescription: "Need one of these", Type: "multiplechoice", Variable: "single_choice",
			Choices: []any{"one", "two"}, Default: "one"},
		{QuestionName: "mchoice", QuestionDescription: "Can have multiples of these", Type: "multiselect", Variable: "multi_choice",
			Choices: []any{"one", "two", "three"}, Default: "one\nthree"},
		{QuestionName: "integerchoice", QuestionDescription: "I need an int here", Type: "integer", Variable: "int_answer",
			Default: "", Min: ptr(1.0), Max: ptr(5.0)},
		{QuestionName: "float", QuestionDescription: "I need a float here", Type: "float", Variable: "float_answer",
			Default: "", Min: ptr(2.0), Max: ptr(5.0)},
	}}

	f := newFakeAWX(t)
	f.handle("GET /api/v2/job_templates/7/survey_spec/", serveBytes(http.StatusOK, fixture(t, "survey_spec_all_types.json")))
	f.handle("GET /api/v2/workflow_job_templates/15/survey_spec/", serveBytes(http.StatusOK, fixture(t, "survey_spec_all_types.json")))

	s, err := f.client.Survey(context.Background(), awx.JobTemplate, 7)
	require.NoError(t, err)
	assert.Equal(t, want, s)
	assert.Equal(t, []string{"one", "three"}, s.Spec[4].DefaultList())
	assert.Nil(t, s.Spec[0].Max, `"" max is unset`)
	assert.Nil(t, s.Spec[0].Choices, `"" choices is no choices`)

	s, err = f.client.Survey(context.Background(), awx.WorkflowJobTemplate, 15)
	require.NoError(t, err)
	assert.Equal(t, want, s)

	t.Run("no survey", func(t *testing.T) {
		f.handle("GET /api/v2/job_templates/8/survey_spec/", serveBytes(http.StatusOK, []byte(`{}`)))
		s, err := f.client.Survey(context.Background(), awx.JobTemplate, 8)
		require.NoError(t, err)
		assert.Equal(t, awx.Survey{}, s)
		assert.Empty(t, s.Spec)
	})
}

func TestClient_Job(t *testing.T) {
	f := newFakeAWX(t)
	f.handle("GET /api/v2/jobs/26/", serveBytes(http.StatusOK, fixture(t, "job_detail_running.json")))
	f.handle("GET /api/v2/jobs/2/", serveBytes(http.StatusOK, fixture(t, "job_detail_successful.json")))

	t.Run("running", func(t *testing.T) {
		j, err := f.client.Job(context.Background(), awx.KindJob, 26)
		require.NoError(t, err)
		assert.Equal(t, int64(26), j.ID)
		assert.Equal(t, awx.KindJob, j.Type)
		assert.Equal(t, "Demo Job Template", j.Name)
		assert.Equal(t, awx.StatusRunning, j.Status)
		assert.False(t, awx.IsTerminal(j.Status))
		assert.False(t, j.Failed)
		assert.Equal(t, ts(t, "2023-06-06T18:22:41.591249Z"), j.Created)
		require.NotNil(t, j.Started)
		assert.Equal(t, ts(t, "2023-06-06T18:22:42.907521Z"), *j.Started)
		assert.Nil(t, j.CanceledOn)
		assert.InDelta(t, 19.577, j.Elapsed, 1e-9)
		assert.Equal(t, "manual", j.LaunchType)
		assert.Equal(t, "", j.JobExplanation)
		assert.Equal(t, int64(7), j.JobTemplate)
		assert.Equal(t, int64(7), j.UnifiedJobTemplate)
		assert.Zero(t, j.WorkflowJobTemplate)
		assert.Equal(t, "admin", j.CreatedBy())
		assert.Equal(t, "{}", j.ExtraVars)
		vars, err := j.ExtraVarsMap()
		require.NoError(t, err)
		assert.Empty(t, vars)
	})

	t.Run("successful", func(t *testing.T) {
		j, err := f.client.Job(context.Background(), awx.KindJob, 2)
		require.NoError(t, err)
		assert.Equal(t, int64(2), j.ID)
		assert.Equal(t, awx.StatusSuccessful, j.Status)
		assert.True(t, awx.IsTerminal(j.Status))
		require.NotNil(t, j.Finished)
		assert.Equal(t, ts(t, "2019-08-08T19:24:50.119995Z"), *j.Finished)
		assert.InDelta(t, 31.79, j.Elapsed, 1e-9)
		assert.Equal(t, "Job explanation placeholder", j.JobExplanation)
		assert.Equal(t, `{"num_messages": 94}`, j.ExtraVars)
		vars, err := j.ExtraVarsMap()
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"num_messages": json.Number("94")}, vars)
	})
}

func TestClient_WorkflowJob(t *testing.T) {
	f := newFakeAWX(t)
	f.handle("GET /api/v2/workflow_jobs/126/", serveBytes(http.StatusOK, fixture(t, "workflow_job_detail_failed.json")))

	j, err := f.client.Job(context.Background(), awx.KindWorkflowJob, 126)
	require.NoError(t, err)
	assert.Equal(t, int64(126), j.ID)
	assert.Equal(t, awx.KindWorkflowJob, j.Type)
	assert.Equal(t, awx.StatusFailed, j.Status)
	assert.True(t, j.Failed)
	assert.True(t, awx.IsTerminal(j.Status))
	assert.Equal(t, "No error handling paths found, marking workflow as failed", j.JobExplanation)
	assert.Equal(t, int64(39), j.WorkflowJobTemplate)
	assert.Equal(t, int64(39), j.UnifiedJobTemplate)
	assert.Zero(t, j.JobTemplate, "null job_template: not a sliced job")
	assert.Equal(t, "dev", j.CreatedBy())
	require.NotNil(t, j.Finished)
	assert.Equal(t, ts(t, "2024-03-05T20:47:17.360480Z"), *j.Finished)
	assert.InDelta(t, 62.959, j.Elapsed, 1e-9)
}

func TestClient_WorkflowNodes(t *testing.T) {
	check := func(t *testing.T, nodes []awx.WorkflowNode) {
		t.Helper()
		require.Len(t, nodes, 6)
		ids := make([]int64, len(nodes))
		for i, n := range nodes {
			ids[i] = n.ID
		}
		assert.Equal(t, []int64{585, 586, 1286, 1356, 1510, 1511}, ids)

		n := nodes[0]
		assert.Equal(t, "1ac94337-f228-4ffd-b41a-cb9b0e50cd00", n.Identifier)
		assert.Equal(t, int64(8178), n.WorkflowJobTemplate)
		assert.Equal(t, int64(14426), n.UnifiedJobTemplate)
		assert.Equal(t, &awx.TemplateRef{ID: 14426, Name: "E2E Job Template 9Bay", UnifiedJobType: "job"}, n.SummaryFields.UnifiedJobTemplate)
		assert.Empty(t, n.SuccessNodes)
		assert.Equal(t, []int64{1510}, n.AlwaysNodes)
		assert.Equal(t, map[string]any{}, n.ExtraData)

		assert.Equal(t, []int64{585}, nodes[1].SuccessNodes)
		assert.Equal(t, "project_update", nodes[1].SummaryFields.UnifiedJobTemplate.UnifiedJobType)
		assert.Equal(t, "workflow_approval", nodes[2].SummaryFields.UnifiedJobTemplate.UnifiedJobType)
		assert.Equal(t, map[string]any{"days": 30.0}, nodes[4].ExtraData)
	}

	t.Run("one page", func(t *testing.T) {
		f := newFakeAWX(t)
		f.handle("GET /api/v2/workflow_job_templates/8178/workflow_nodes/", serveBytes(http.StatusOK, fixture(t, "workflow_job_template_nodes_list.json")))
		nodes, err := f.client.WorkflowNodes(context.Background(), 8178)
		require.NoError(t, err)
		check(t, nodes)
		reqs := f.received()
		require.Len(t, reqs, 1)
		assert.Equal(t, "200", reqs[0].URL.Query().Get("page_size"))
	})

	t.Run("two pages", func(t *testing.T) {
		all := fixtureMap(t, "workflow_job_template_nodes_list.json")["results"].([]any)
		const path = "/api/v2/workflow_job_templates/8178/workflow_nodes/"
		page1 := map[string]any{"count": 6, "next": path + "?page=2&page_size=200", "previous": nil, "results": all[:4]}
		page2 := map[string]any{"count": 6, "next": nil, "previous": path + "?page=1&page_size=200", "results": all[4:]}
		f := newFakeAWX(t)
		f.handle("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("page") == "2" {
				writeJSON(w, http.StatusOK, mustJSON(t, page2))
				return
			}
			writeJSON(w, http.StatusOK, mustJSON(t, page1))
		})
		nodes, err := f.client.WorkflowNodes(context.Background(), 8178)
		require.NoError(t, err)
		check(t, nodes)
		assert.Len(t, f.received(), 2)
	})
}

func TestClient_ListJobs_MixedFixture(t *testing.T) {
	// The fixture is a real list page whose next link points at another
	// collection; the client must follow next verbatim, not rebuild it.
	f := newFakeAWX(t)
	f.handle("GET /api/v2/jobs/", serveBytes(http.StatusOK, fixture(t, "unified_jobs_list_mixed_statuses.json")))
	f.handle("GET /api/v2/unified_jobs/", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "2", r.URL.Query().Get("page"))
		assert.Equal(t, "-finished", r.URL.Query().Get("order_by"))
		assert.Equal(t, "sync", r.URL.Query().Get("not__launch_type"))
		writeJSON(w, http.StatusOK, `{"count": 11, "next": null, "previous": "/api/v2/unified_jobs/?page=1",
			"results": [{"id": 400, "type": "job", "status": "error", "failed": true, "extra_vars": "{}",
			"created": "2022-12-01T10:00:00.000001Z", "started": null, "finished": null, "job_template": 7}]}`)
	})

	jobs, err := f.client.ListJobs(context.Background(), awx.KindJob, awx.JobFilter{})
	require.NoError(t, err)
	require.Len(t, jobs, 11)

	wf := jobs[0]
	assert.Equal(t, int64(491), wf.ID)
	assert.Equal(t, awx.KindWorkflowJob, wf.Type)
	assert.Equal(t, awx.StatusFailed, wf.Status)
	assert.Equal(t, "No error handling paths found, marking workflow as failed", wf.JobExplanation)
	assert.Equal(t, int64(63), wf.WorkflowJobTemplate)
	assert.Equal(t, "vnambiar", wf.CreatedBy())

	assert.Equal(t, int64(492), jobs[1].ID)
	assert.Equal(t, int64(62), jobs[1].JobTemplate)

	sys := jobs[2]
	assert.Equal(t, awx.Kind("system_job"), sys.Type)
	assert.Equal(t, "", sys.CreatedBy())
	vars, err := sys.ExtraVarsMap()
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"days": "355"}, vars)

	assert.Equal(t, awx.StatusRunning, jobs[3].Status)

	last := jobs[10]
	assert.Equal(t, int64(400), last.ID)
	assert.Equal(t, awx.StatusError, last.Status)
	assert.Nil(t, last.Started)
	assert.Nil(t, last.Finished)
}
