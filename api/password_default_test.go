package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

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
	require.NoError(t, e.stack.Sim.AddJobTemplate(awxsim.JobTemplate{
		ID: keepDefaultTemplateID, Name: "Reset cache", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "Reset cache", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionPassword, QuestionName: "Cache password", Variable: "cache_password", Required: true,
				Default: "the-default-cache-password", Min: secretIntPtr(8)},
			{Type: awxsim.QuestionPassword, QuestionName: "Admin token", Variable: "admin_token"},
		}},
	}))
	item := idOf(e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": "Reset cache", "job_template": keepDefaultTemplateID,
	}))
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
	path := fmt.Sprintf("/api/v2/service_requests/%d/", idOf(req))
	var detail map[string]any
	e.eventually(30*time.Second, "the request to end", func() bool {
		detail = e.must(http.StatusOK, requester, "GET", path, nil)
		return detail["status"] == "successful" || detail["status"] == "failed"
	})
	require.Equal(t, "successful", detail["status"], "failure reason: %v", detail["failure_reason"])
	jobs := e.stack.Sim.Jobs()
	require.Len(t, jobs, 1)
	assert.Equal(t, "$encrypted$", jobs[0].ExtraVars["cache_password"], "AWX applied the default, shown as $encrypted$")
	assert.Empty(t, jobs[0].IgnoredFields)
}
