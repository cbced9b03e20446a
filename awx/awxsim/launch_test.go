package awxsim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

func TestLaunch_JobTemplate(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v2/job_templates/7/launch/", map[string]any{
		"extra_vars": map[string]any{"service_name": "api", "reason": "deploy <v2> & more"},
	})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	job := r.json(t)
	jobID := id(t, job, "id")
	assert.Equal(t, float64(jobID), job["job"])
	assert.Equal(t, fmt.Sprintf("/api/v2/jobs/%d/", jobID), r.header.Get("Location"))
	assert.Equal(t, map[string]any{}, job["ignored_fields"])
	assert.Equal(t, "job", job["type"])
	assert.Equal(t, fmt.Sprintf("/api/v2/jobs/%d/", jobID), job["url"])
	assert.Equal(t, "pending", job["status"])
	assert.Equal(t, false, job["failed"])
	assert.Nil(t, job["started"])
	assert.Nil(t, job["finished"])
	assert.Equal(t, float64(7), job["job_template"])
	assert.Equal(t, float64(7), job["unified_job_template"])
	assert.Equal(t, "Restart service", job["name"])
	assert.Equal(t, "manual", job["launch_type"])
	assert.Equal(t, "countersign", job["summary_fields"].(map[string]any)["created_by"].(map[string]any)["username"])
	assert.Equal(t, "countersign", job["launched_by"].(map[string]any)["name"])
	assert.Equal(t, "2025-03-01T12:00:00.123456Z", job["created"], "UTC with microseconds")

	// AWX returns extra_vars as Python's json.dumps text; the survey default
	// of drain_seconds is merged in.
	assert.Equal(t, `{"drain_seconds": 30, "reason": "deploy <v2> & more", "service_name": "api"}`, job["extra_vars"])

	// The launch body is the job as GET shows it.
	got := e.get(fmt.Sprintf("/api/v2/jobs/%d/", jobID))
	assert.Equal(t, job["extra_vars"], got["extra_vars"])
	assert.Equal(t, job["created"], got["created"])

	assert.Equal(t, 1, e.sim.LaunchCount(awxsim.KindJob, 7))
	jobs := e.sim.Jobs()
	require.Len(t, jobs, 1)
	assert.Equal(t, awxsim.JobInfo{
		ID: jobID, Kind: awxsim.KindJob, TemplateID: 7, Status: "pending",
		ExtraVars:     map[string]any{"service_name": "api", "reason": "deploy <v2> & more", "drain_seconds": float64(30)},
		IgnoredFields: map[string]any{}, Labels: []string{}, CreatedBy: "countersign", Created: jobs[0].Created,
	}, jobs[0])
}

func TestLaunch_ExtraVarsForms(t *testing.T) {
	e := newEnv(t)
	job := e.launch(awxsim.KindJob, 7, map[string]any{"extra_vars": `{"service_name": "web", "drain_seconds": 0}`})
	assert.Equal(t, map[string]any{"service_name": "web", "drain_seconds": float64(0)}, extraVars(t, job))

	for _, body := range []any{nil, "", map[string]any{}, map[string]any{"extra_vars": "---"}, map[string]any{"extra_vars": nil}} {
		job := e.launch(awxsim.KindJob, 9, body)
		assert.Equal(t, "{}", job["extra_vars"], "body %#v", body)
	}
}

func TestLaunch_WorkflowJobTemplate(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v2/workflow_job_templates/11/launch/", map[string]any{"extra_vars": map[string]any{
		"env_name": "qa-7", "ttl_days": 5,
		"db_size": "small", "db_password": "correct-horse", "replicas": 3, "features": []string{"metrics"},
	}})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	wj := r.json(t)
	wjID := id(t, wj, "id")
	assert.Equal(t, float64(wjID), wj["workflow_job"])
	assert.NotContains(t, wj, "job")
	assert.Equal(t, fmt.Sprintf("/api/v2/workflow_jobs/%d/", wjID), r.header.Get("Location"))
	assert.Equal(t, "workflow_job", wj["type"])
	assert.Equal(t, "pending", wj["status"])
	assert.Equal(t, float64(11), wj["workflow_job_template"])
	assert.Nil(t, wj["job_template"])
	assert.Equal(t, map[string]any{}, wj["ignored_fields"])
	// Only the workflow's own survey passwords are hidden; node answers pass
	// through ask_variables_on_launch in clear, as in AWX.
	assert.Equal(t, map[string]any{"env_name": "qa-7", "ttl_days": float64(5), "db_size": "small",
		"db_password": "correct-horse", "replicas": float64(3), "features": []any{"metrics"}}, extraVars(t, wj))
	assert.Equal(t, wj["status"], e.get(jobPath(awxsim.KindWorkflowJob, wjID))["status"])
	assert.Equal(t, http.StatusNotFound, e.do("GET", jobPath(awxsim.KindJob, wjID), nil).status)
	assert.Equal(t, 1, e.sim.LaunchCount(awxsim.KindWorkflowJob, 11))
	assert.Equal(t, 0, e.sim.LaunchCount(awxsim.KindJob, 11))
}

func TestLaunch_PasswordsRedacted(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v2/job_templates/21/launch/", map[string]any{
		"extra_vars": map[string]any{"db_size": "large", "db_password": "s3cret-pass"}})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	assert.NotContains(t, string(r.raw), "s3cret-pass")
	job := r.json(t)
	assert.Equal(t, map[string]any{"db_size": "large", "db_password": "$encrypted$"}, extraVars(t, job))
	assert.Equal(t, "$encrypted$", e.sim.Jobs()[0].ExtraVars["db_password"])
	assert.NotContains(t, string(e.do("GET", "/api/v2/jobs/", nil).raw), "s3cret-pass")

	require.NoError(t, e.sim.AddWorkflowJobTemplate(awxsim.WorkflowJobTemplate{ID: 70, Name: "Secret workflow", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "s", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionPassword, QuestionName: "Token", Variable: "api_token", Required: true},
		}}}))
	r = e.do("POST", "/api/v2/workflow_job_templates/70/launch/", map[string]any{"extra_vars": map[string]any{"api_token": "tok-123456"}})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	assert.NotContains(t, string(r.raw), "tok-123456")
	assert.Equal(t, map[string]any{"api_token": "$encrypted$"}, extraVars(t, r.json(t)))

	t.Run("$encrypted$ falls back to the default", func(t *testing.T) {
		require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 71, Name: "Defaults", SurveyEnabled: true,
			Survey: &awxsim.Survey{Name: "s", Spec: []awxsim.SurveyQuestion{
				{Type: awxsim.QuestionPassword, QuestionName: "With default", Variable: "pw", Required: true, Default: "default-pw"},
				{Type: awxsim.QuestionPassword, QuestionName: "Without", Variable: "pw2", Required: true},
			}}}))
		r := e.do("POST", "/api/v2/job_templates/71/launch/", map[string]any{"extra_vars": map[string]any{"pw": "$encrypted$", "pw2": "$encrypted$"}})
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, map[string]any{"variables_needed_to_start": []any{"'pw2' value missing"}}, r.json(t))

		job := e.launch(awxsim.KindJob, 71, map[string]any{"extra_vars": map[string]any{"pw": "$encrypted$", "pw2": "given-pw"}})
		assert.Equal(t, map[string]any{"pw": "$encrypted$", "pw2": "$encrypted$"}, extraVars(t, job))
	})
}

func TestLaunch_SurveyValidation(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 50, Name: "All types", SurveyEnabled: true, Survey: loadSurvey(t)}))

	cases := []struct {
		name string
		vars string // extra_vars; reqd_answer is answered unless the case says otherwise
		want []string
	}{
		{"required with a default is still missing", `{}`, []string{"'reqd_answer' value missing"}},
		{"text not a string", `{"reqd_answer": "x", "long_answer": 5}`, []string{"Value 5 for 'long_answer' expected to be a string."}},
		{"text as an object", `{"reqd_answer": "x", "long_answer": {"a": 1}}`, []string{"Value {'a': 1} for 'long_answer' expected to be a string."}},
		{"text null", `{"reqd_answer": "x", "long_answer": null}`, []string{"Value None for 'long_answer' expected to be a string."}},
		{"text too short", `{"reqd_answer": "x", "long_answer": "abc"}`, []string{"'long_answer' value abc is too small (length is 3 must be at least 5)."}},
		{"text length counts characters", `{"reqd_answer": "x", "long_answer": "ééé"}`, []string{"'long_answer' value ééé is too small (length is 3 must be at least 5)."}},
		{"text too long", `{"reqd_answer": "x", "short_answer": "abcdefgh"}`, []string{"'short_answer' value abcdefgh is too large (must be no more than 7)."}},
		{"integer as a string", `{"reqd_answer": "x", "int_answer": "3"}`, []string{"Value 3 for 'int_answer' expected to be an integer."}},
		{"integer as a bool", `{"reqd_answer": "x", "int_answer": true}`, []string{"Value True for 'int_answer' expected to be an integer."}},
		{"integer as a float", `{"reqd_answer": "x", "int_answer": 2.5}`, []string{"Value 2.5 for 'int_answer' expected to be an integer."}},
		{"integer written as a float", `{"reqd_answer": "x", "int_answer": 3.0}`, []string{"Value 3.0 for 'int_answer' expected to be an integer."}},
		{"integer too large", `{"reqd_answer": "x", "int_answer": 10}`, []string{"'int_answer' value 10 is too large (must be no more than 5)."}},
		{"integer too small", `{"reqd_answer": "x", "int_answer": 0}`, []string{"'int_answer' value 0 is too small (must be at least 1)."}},
		{"float not a number", `{"reqd_answer": "x", "float_answer": "a"}`, []string{"Value a for 'float_answer' expected to be a numeric type."}},
		{"float as a bool", `{"reqd_answer": "x", "float_answer": false}`, []string{"Value False for 'float_answer' expected to be a numeric type."}},
		{"float too small", `{"reqd_answer": "x", "float_answer": 1.5}`, []string{"'float_answer' value 1.5 is too small (must be at least 2)."}},
		{"float too large", `{"reqd_answer": "x", "float_answer": 7}`, []string{"'float_answer' value 7 is too large (must be no more than 5)."}},
		{"choice not among choices", `{"reqd_answer": "x", "single_choice": "z"}`, []string{"Value z for 'single_choice' expected to be one of ['one', 'two']."}},
		{"choice of the wrong type", `{"reqd_answer": "x", "single_choice": 1}`, []string{"Value 1 for 'single_choice' expected to be one of ['one', 'two']."}},
		{"multiselect not a list", `{"reqd_answer": "x", "multi_choice": "one"}`, []string{"'multi_choice' value is expected to be a list."}},
		{"multiselect item not among choices", `{"reqd_answer": "x", "multi_choice": ["one", "z", "y"]}`, []string{
			"Value z for 'multi_choice' expected to be one of ['one', 'two', 'three'].",
			"Value y for 'multi_choice' expected to be one of ['one', 'two', 'three'].",
		}},
		{"every error, in survey order", `{"int_answer": 10, "long_answer": "abc"}`, []string{
			"'long_answer' value abc is too small (length is 3 must be at least 5).",
			"'reqd_answer' value missing",
			"'int_answer' value 10 is too large (must be no more than 5).",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/api/v2/job_templates/50/launch/", `{"extra_vars": `+c.vars+`}`)
			require.Equal(t, http.StatusBadRequest, r.status, "%s", r.raw)
			want := make([]any, len(c.want))
			for i, m := range c.want {
				want[i] = m
			}
			assert.Equal(t, map[string]any{"variables_needed_to_start": want}, r.json(t))
		})
	}
	assert.Equal(t, 0, e.sim.LaunchCount(awxsim.KindJob, 50), "a survey violation creates no job")

	t.Run("valid answers and defaults", func(t *testing.T) {
		job := e.launch(awxsim.KindJob, 50, `{"extra_vars": {"reqd_answer": "x", "int_answer": 3, "float_answer": 2}}`)
		// Defaults are merged only when they are valid answers themselves:
		// the "" integer and float defaults and the "one\nthree" multiselect
		// default are not.
		assert.Equal(t, map[string]any{
			"reqd_answer": "x", "int_answer": float64(3), "float_answer": float64(2),
			"long_answer": "Leeloo Minai Lekarariba-Laminai-Tchai Ekbat De Sebat", "short_answer": "leeloo",
			"single_choice": "one",
		}, extraVars(t, job))

		job = e.launch(awxsim.KindJob, 50, `{"extra_vars": {"reqd_answer": "x", "multi_choice": ["two", "three"], "float_answer": 4.25, "single_choice": "two"}}`)
		vars := extraVars(t, job)
		assert.Equal(t, []any{"two", "three"}, vars["multi_choice"])
		assert.Equal(t, 4.25, vars["float_answer"])
		assert.Equal(t, "two", vars["single_choice"])
	})

	t.Run("a disabled survey is not applied", func(t *testing.T) {
		require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 51, Name: "Disabled", Survey: loadSurvey(t)}))
		job := e.launch(awxsim.KindJob, 51, `{"extra_vars": {"int_answer": 99}}`)
		assert.Equal(t, map[string]any{"extra_vars": map[string]any{"int_answer": float64(99)}}, job["ignored_fields"])
		assert.Equal(t, "{}", job["extra_vars"])
	})
}

func TestLaunch_JobTemplateIgnoresUnprompted(t *testing.T) {
	e := newEnv(t)
	label := e.do("POST", "/api/v2/labels/", map[string]any{"name": "marker", "organization": 1}).json(t)

	job := e.launch(awxsim.KindJob, 7, map[string]any{
		"extra_vars":  map[string]any{"service_name": "api", "foo": 1},
		"limit":       "web*",
		"job_type":    "run", // the template's own value: neither accepted nor ignored
		"credentials": []int{1},
		"bogus":       true, // unknown keys are dropped silently
	})
	assert.Equal(t, map[string]any{"extra_vars": map[string]any{"foo": float64(1)}, "limit": "web*"}, job["ignored_fields"])
	assert.Equal(t, map[string]any{"service_name": "api", "drain_seconds": float64(30)}, extraVars(t, job))

	job = e.launch(awxsim.KindJob, 9, map[string]any{"labels": []any{label["id"]}})
	assert.Equal(t, map[string]any{"labels": []any{label["id"]}}, job["ignored_fields"])
	assert.Equal(t, float64(0), job["summary_fields"].(map[string]any)["labels"].(map[string]any)["count"])
	assert.Equal(t, map[string]any{"labels": []any{label["id"]}}, e.sim.Jobs()[1].IgnoredFields)

	t.Run("template variables sent unchanged are not ignored", func(t *testing.T) {
		require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 52, Name: "Vars", ExtraVars: map[string]any{"region": "eu"}}))
		job := e.launch(awxsim.KindJob, 52, map[string]any{"extra_vars": map[string]any{"region": "eu"}})
		assert.Equal(t, map[string]any{}, job["ignored_fields"])
		job = e.launch(awxsim.KindJob, 52, map[string]any{"extra_vars": map[string]any{"region": "us"}})
		assert.Equal(t, map[string]any{"extra_vars": map[string]any{"region": "us"}}, job["ignored_fields"])
		assert.Equal(t, map[string]any{"region": "eu"}, extraVars(t, job))
	})

	t.Run("a survey violation still blocks the launch", func(t *testing.T) {
		r := e.do("POST", "/api/v2/job_templates/7/launch/", map[string]any{"extra_vars": map[string]any{"service_name": "db", "foo": 1}})
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, map[string]any{"variables_needed_to_start": []any{"Value db for 'service_name' expected to be one of ['api', 'web', 'worker']."}}, r.json(t))
	})
}

func TestLaunch_WorkflowRefusesUnprompted(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.sim.AddWorkflowJobTemplate(awxsim.WorkflowJobTemplate{ID: 61, Name: "Strict", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "s", Spec: []awxsim.SurveyQuestion{{Type: "text", QuestionName: "Region", Variable: "region"}}}}))
	label := e.do("POST", "/api/v2/labels/", map[string]any{"name": "marker", "organization": 1}).json(t)

	cases := []struct {
		name string
		body map[string]any
		want map[string]any
	}{
		{"variable", map[string]any{"extra_vars": map[string]any{"region": "eu", "foo": 1}}, map[string]any{"extra_vars": []any{
			"Variables foo are not allowed on launch. Check the Prompt on Launch setting on the Workflow Job Template to include Extra Variables."}}},
		{"variables", map[string]any{"extra_vars": map[string]any{"foo": 1, "bar": 2}}, map[string]any{"extra_vars": []any{
			"Variables bar, foo are not allowed on launch. Check the Prompt on Launch setting on the Workflow Job Template to include Extra Variables."}}},
		{"field", map[string]any{"limit": "web*"}, map[string]any{"limit": []any{"Field is not configured to prompt on launch."}}},
		{"labels", map[string]any{"labels": []any{label["id"]}}, map[string]any{"labels": []any{"Field is not configured to prompt on launch."}}},
		{"survey and prompt errors together", map[string]any{"extra_vars": map[string]any{"region": 1, "foo": 1}}, map[string]any{
			"variables_needed_to_start": []any{"Value 1 for 'region' expected to be a string."},
			"extra_vars":                []any{"Variables foo are not allowed on launch. Check the Prompt on Launch setting on the Workflow Job Template to include Extra Variables."},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/api/v2/workflow_job_templates/61/launch/", c.body)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, c.want, r.json(t))
		})
	}
	assert.Equal(t, 0, e.sim.LaunchCount(awxsim.KindWorkflowJob, 61))

	wj := e.launch(awxsim.KindWorkflowJob, 61, map[string]any{"extra_vars": map[string]any{"region": "eu"}, "limit": ""})
	assert.Equal(t, map[string]any{}, wj["ignored_fields"])
	wj = e.launch(awxsim.KindWorkflowJob, 11, map[string]any{"extra_vars": map[string]any{"env_name": "dev", "ttl_days": 1, "foo": 1}})
	assert.Equal(t, float64(1), extraVars(t, wj)["foo"], "ask_variables_on_launch accepts any variable")
}

func TestLaunch_BadRequests(t *testing.T) {
	e := newEnv(t)
	notObject := detail("JSON parse error - not a JSON object")
	cases := []struct {
		name string
		path string
		body string
		ct   string
		code int
		want map[string]any // nil: only the status is checked
	}{
		{"array body", launchPath(awxsim.KindJob, 9), `[1, 2]`, "", http.StatusBadRequest, notObject},
		{"string body", launchPath(awxsim.KindWorkflowJob, 11), `"hello"`, "", http.StatusBadRequest, notObject},
		{"malformed JSON", launchPath(awxsim.KindJob, 9), `{"extra_vars":`, "", http.StatusBadRequest, nil},
		{"form body", launchPath(awxsim.KindJob, 9), `a=b`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType,
			detail(`Unsupported media type "application/x-www-form-urlencoded" in request.`)},
		{"unknown template before a bad body", launchPath(awxsim.KindJob, 999), `[1]`, "", http.StatusNotFound, detail("Not found.")},
		{"unknown workflow template", launchPath(awxsim.KindWorkflowJob, 9), `{}`, "", http.StatusNotFound, detail("Not found.")},
		{"extra_vars list", launchPath(awxsim.KindJob, 9), `{"extra_vars": [1]}`, "", http.StatusBadRequest, map[string]any{"extra_vars": []any{
			"Cannot parse as JSON (error: Input type `list` is not a dictionary) or YAML (error: Input type `list` is not a dictionary)."}}},
		{"extra_vars string list", launchPath(awxsim.KindJob, 9), `{"extra_vars": "[1]"}`, "", http.StatusBadRequest, map[string]any{"extra_vars": []any{
			"Cannot parse as JSON (error: Input type `list` is not a dictionary) or YAML (error: Input type `list` is not a dictionary)."}}},
		{"labels not a list", launchPath(awxsim.KindJob, 7), `{"labels": 5}`, "", http.StatusBadRequest,
			map[string]any{"labels": []any{`Expected a list of items but got type "int".`}}},
		{"unknown label", launchPath(awxsim.KindJob, 7), `{"labels": [999]}`, "", http.StatusBadRequest,
			map[string]any{"labels": []any{`Invalid pk "999" - object does not exist.`}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := e.request("POST", c.path, c.body)
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			r := e.send(req)
			assert.Equal(t, c.code, r.status, "%s", r.raw)
			if c.want != nil {
				assert.Equal(t, c.want, r.json(t))
			}
		})
	}
	t.Run("extra_vars text that is not JSON", func(t *testing.T) {
		r := e.do("POST", launchPath(awxsim.KindJob, 9), `{"extra_vars": "foo: bar"}`)
		assert.Equal(t, http.StatusBadRequest, r.status)
		msgs := r.json(t)["extra_vars"].([]any)
		require.Len(t, msgs, 1)
		assert.True(t, strings.HasPrefix(msgs[0].(string), "Cannot parse as JSON (error: "), msgs[0])
	})
	t.Run("malformed JSON is a parse error", func(t *testing.T) {
		r := e.do("POST", launchPath(awxsim.KindJob, 9), `{"extra_vars":`)
		assert.True(t, strings.HasPrefix(r.json(t)["detail"].(string), "JSON parse error - "))
	})
	assert.Empty(t, e.sim.Jobs(), "no refused launch creates a job")
}

func TestLabels(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v2/labels/", map[string]any{"name": "countersign-req-42", "organization": 1})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	label := r.json(t)
	assert.Equal(t, "label", label["type"])
	assert.Equal(t, fmt.Sprintf("/api/v2/labels/%d/", id(t, label, "id")), r.header.Get("Location"))

	for _, c := range []struct {
		body map[string]any
		want map[string]any
	}{
		{map[string]any{"name": "countersign-req-42", "organization": 1}, map[string]any{"__all__": []any{"Label with this Name and Organization already exists."}}},
		{map[string]any{"name": "x"}, map[string]any{"organization": []any{"This field is required."}}},
		{map[string]any{"name": "x", "organization": 99}, map[string]any{"organization": []any{`Invalid pk "99" - object does not exist.`}}},
		{map[string]any{"name": "", "organization": 1}, map[string]any{"name": []any{"This field may not be blank."}}},
	} {
		r := e.do("POST", "/api/v2/labels/", c.body)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, c.want, r.json(t))
	}

	job := e.launch(awxsim.KindJob, 7, map[string]any{"extra_vars": map[string]any{"service_name": "api"}, "labels": []any{label["id"]}})
	assert.Equal(t, map[string]any{}, job["ignored_fields"])
	assert.Equal(t, map[string]any{"count": float64(1), "results": []any{map[string]any{"id": label["id"], "name": "countersign-req-42"}}},
		job["summary_fields"].(map[string]any)["labels"])
	e.launch(awxsim.KindJob, 7, map[string]any{"extra_vars": map[string]any{"service_name": "api"}})

	found := e.get("/api/v2/jobs/?labels__name=countersign-req-42")
	assert.Equal(t, []int64{id(t, job, "id")}, ids(t, found))
	assert.Equal(t, []string{"countersign-req-42"}, e.sim.Jobs()[0].Labels)
	assert.Equal(t, float64(1), e.get("/api/v2/labels/?name=countersign-req-42")["count"])
	assert.Equal(t, "countersign-req-42", e.get(fmt.Sprintf("/api/v2/labels/%d/", id(t, label, "id")))["name"])
}
