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

// numbersTemplateID is a simulator job template with unbounded number
// questions that prompts for other variables.
const numbersTemplateID int64 = 806

// Numbers reach AWX exactly as the requester wrote them, through
// validation, the stored request, the workflow and the launch: an integer
// beyond 2^53 keeps its digits and 2.0 stays a float for AWX's Python.
func TestAPI_NumbersReachAWXAsWritten(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.stack.Sim.AddJobTemplate(awxsim.JobTemplate{
		ID: numbersTemplateID, Name: "Resize volume", SurveyEnabled: true, AskVariablesOnLaunch: true,
		Survey: &awxsim.Survey{Name: "Resize volume", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionInteger, QuestionName: "Bytes", Variable: "bytes", Required: true},
			{Type: awxsim.QuestionFloat, QuestionName: "Ratio", Variable: "ratio", Required: true},
		}},
	}))
	item := idOf(e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": "Resize volume", "job_template": numbersTemplateID,
	}))
	body := `{"justification": "disk full", "extra_vars": {"bytes": 9007199254740993, "ratio": 2.0, "limits": {"max": -12345678901234567}}}`
	status, raw := e.raw(requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", item), body)
	require.Equal(t, http.StatusCreated, status, "%s", raw)
	assert.Contains(t, string(raw), `"bytes":9007199254740993`, "stored as given")
	assert.Contains(t, string(raw), `"ratio":2.0`)

	var created map[string]any
	require.NoError(t, json.Unmarshal(raw, &created))
	id := idOf(created)
	var detail map[string]any
	e.eventually(30*time.Second, "the request to end", func() bool {
		detail = e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		return detail["status"] == "successful" || detail["status"] == "failed"
	})
	require.Equal(t, "successful", detail["status"], "failure reason: %v", detail["failure_reason"])
	job := detail["job"].(map[string]any)
	j, err := e.stack.AWX.Job(context.Background(), awx.KindJob, int64(job["id"].(float64)))
	require.NoError(t, err)
	assert.Contains(t, j.ExtraVars, `"bytes": 9007199254740993`)
	assert.Contains(t, j.ExtraVars, `"ratio": 2.0`)
	assert.Contains(t, j.ExtraVars, `"limits": {"max": -12345678901234567}`)
}
