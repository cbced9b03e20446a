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

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/awx/awxsim"
)

// templateItem adds tpl to the AWX simulator and a catalog item of the
// same name for it, made by the org admin.
func (e *env) templateItem(tpl awxsim.JobTemplate) int64 {
	e.t.Helper()
	require.NoError(e.t, e.stack.Sim.AddJobTemplate(tpl))
	return idOf(e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": tpl.Name, "job_template": tpl.ID,
	}))
}

// launched waits for request id to end and requires that its job
// succeeded; it returns the request's detail.
func (e *env) launched(id int64) map[string]any {
	e.t.Helper()
	var detail map[string]any
	e.eventually(30*time.Second, "the request to end", func() bool {
		detail = e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		return detail["status"] == "successful" || detail["status"] == "failed"
	})
	require.Equal(e.t, "successful", detail["status"], "failure reason: %v", detail["failure_reason"])
	return detail
}

// numbersTemplateID is a simulator job template with unbounded number
// questions that prompts for other variables.
const numbersTemplateID int64 = 806

// Numbers reach AWX exactly as the requester wrote them, through
// validation, the stored request, the workflow and the launch: an integer
// beyond 2^53 keeps its digits and 2.0 stays a float for AWX's Python.
func TestAPI_NumbersReachAWXAsWritten(t *testing.T) {
	e := newEnv(t)
	item := e.templateItem(awxsim.JobTemplate{
		ID: numbersTemplateID, Name: "Resize volume", SurveyEnabled: true, AskVariablesOnLaunch: true,
		Survey: &awxsim.Survey{Name: "Resize volume", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionInteger, QuestionName: "Bytes", Variable: "bytes", Required: true},
			{Type: awxsim.QuestionFloat, QuestionName: "Ratio", Variable: "ratio", Required: true},
		}},
	})
	body := `{"justification": "disk full", "extra_vars": {"bytes": 9007199254740993, "ratio": 2.0, "limits": {"max": -12345678901234567}}}`
	status, raw := e.raw(requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", item), body)
	require.Equal(t, http.StatusCreated, status, "%s", raw)
	assert.Contains(t, string(raw), `"bytes":9007199254740993`, "stored as given")
	assert.Contains(t, string(raw), `"ratio":2.0`)

	var created map[string]any
	require.NoError(t, json.Unmarshal(raw, &created))
	id := idOf(created)
	detail := e.launched(id)
	job := detail["job"].(map[string]any)
	j, err := e.stack.AWX.Job(context.Background(), awx.KindJob, int64(job["id"].(float64)))
	require.NoError(t, err)
	assert.Contains(t, j.ExtraVars, `"bytes": 9007199254740993`)
	assert.Contains(t, j.ExtraVars, `"ratio": 2.0`)
	assert.Contains(t, j.ExtraVars, `"limits": {"max": -12345678901234567}`)
}

// keepDefaultTemplateID is a simulator job template with a required
// password question that has a default.
const keepDefaultTemplateID int64 = 803

// The portal's "leave empty to keep the default" sends "$encrypted$" for a
// required password question with a default. AWX takes it for the default
// when it receives it, and reports the question missing when it does not:
// Countersign must send it on, not drop it, or AWX refuses the launch after
// the approvals.
func TestAPI_PasswordKeepsItsDefault(t *testing.T) {
	e := newEnv(t)
	item := e.templateItem(awxsim.JobTemplate{
		ID: keepDefaultTemplateID, Name: "Reset cache", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "Reset cache", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionPassword, QuestionName: "Cache password", Variable: "cache_password", Required: true,
				Default: "the-default-cache-password", Min: secretIntPtr(8)},
			{Type: awxsim.QuestionPassword, QuestionName: "Admin token", Variable: "admin_token"},
		}},
	})
	submit := fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", item)

	form := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/", item), nil)
	assert.Equal(t, "$encrypted$", form["survey_spec"].(map[string]any)["spec"].([]any)[0].(map[string]any)["default"],
		"the form knows there is a default to keep, not what it is")

	status, body := e.call(requester, "POST", submit, map[string]any{"justification": "stale entries",
		"extra_vars": map[string]any{"cache_password": "$encrypted$", "admin_token": "$encrypted$"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, map[string]any{"extra_vars.admin_token": []any{"'admin_token' has no default for $encrypted$ to keep; give a password or leave the question out."}}, body)

	req := e.must(http.StatusCreated, requester, "POST", submit, map[string]any{"justification": "stale entries",
		"extra_vars": map[string]any{"cache_password": "$encrypted$"}})
	assert.Equal(t, map[string]any{"cache_password": "$encrypted$"}, req["extra_vars"])
	e.launched(idOf(req))
	jobs := e.stack.Sim.Jobs()
	require.Len(t, jobs, 1)
	assert.Equal(t, "$encrypted$", jobs[0].ExtraVars["cache_password"], "AWX applied the default, shown as $encrypted$")
	assert.Empty(t, jobs[0].IgnoredFields)
}
