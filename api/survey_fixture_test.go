package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
)

// allTypesTemplateID is the simulator job template whose survey is AWX's
// survey_spec_all_types.json fixture.
const allTypesTemplateID int64 = 801

// addAllTypesTemplate adds that template to the simulator.
func (e *env) addAllTypesTemplate() {
	e.t.Helper()
	raw, err := os.ReadFile("testdata/survey_spec_all_types.json")
	require.NoError(e.t, err)
	var sv awxsim.Survey
	require.NoError(e.t, json.Unmarshal(raw, &sv))
	require.Len(e.t, sv.Spec, 7)
	require.NoError(e.t, e.stack.Sim.AddJobTemplate(awxsim.JobTemplate{
		ID: allTypesTemplateID, Name: "All survey types", SurveyEnabled: true, Survey: &sv,
	}))
}

// simLaunchErrors launches the template directly on the AWX simulator with
// these extra_vars and returns AWX's survey messages (the launch must be
// refused).
func (e *env) simLaunchErrors(templateID int64, vars map[string]any) []string {
	e.t.Helper()
	raw, err := json.Marshal(map[string]any{"extra_vars": vars})
	require.NoError(e.t, err)
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v2/job_templates/%d/launch/", e.stack.SimURL, templateID), bytes.NewReader(raw))
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+testkit.AWXToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	require.Equal(e.t, http.StatusBadRequest, resp.StatusCode, "AWX must refuse %v: %s", vars, body)
	var out struct {
		Needed []string `json:"variables_needed_to_start"`
	}
	require.NoError(e.t, json.Unmarshal(body, &out), "%s", body)
	return out.Needed
}

func TestAPI_SurveyValidationOnFixture(t *testing.T) {
	e := newEnv(t)
	e.addAllTypesTemplate()
	item := idOf(e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": "All survey types", "job_template": allTypesTemplateID,
	}))
	submit := fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", item)

	// The form shows the survey as AWX stores it, normalised.
	form := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/", item), nil)
	spec := form["survey_spec"].(map[string]any)["spec"].([]any)
	require.Len(t, spec, 7)
	assert.Equal(t, []any{"one", "two"}, spec[3].(map[string]any)["choices"])
	assert.Nil(t, spec[0].(map[string]any)["max"], `"" is an unset bound`)

	with := func(kv ...any) map[string]any { return withFields(map[string]any{"reqd_answer": "given"}, kv...) }
	cases := []struct {
		name string
		vars map[string]any
		want map[string][]string // variable → AWX's messages
	}{
		{"required answer missing", with("reqd_answer", nil),
			map[string][]string{"reqd_answer": {"'reqd_answer' value missing"}}},
		{"text too short", with("long_answer", "abcd"),
			map[string][]string{"long_answer": {"'long_answer' value abcd is too small (length is 4 must be at least 5)."}}},
		{"text too long", with("short_answer", "leeloo-dallas"),
			map[string][]string{"short_answer": {"'short_answer' value leeloo-dallas is too large (must be no more than 7)."}}},
		{"text not a string", with("short_answer", 7),
			map[string][]string{"short_answer": {"Value 7 for 'short_answer' expected to be a string."}}},
		{"integer above max", with("int_answer", 6),
			map[string][]string{"int_answer": {"'int_answer' value 6 is too large (must be no more than 5)."}}},
		{"integer below min", with("int_answer", 0),
			map[string][]string{"int_answer": {"'int_answer' value 0 is too small (must be at least 1)."}}},
		{"integer given as text", with("int_answer", "3"),
			map[string][]string{"int_answer": {"Value 3 for 'int_answer' expected to be an integer."}}},
		{"integer given as a float", with("int_answer", 2.5),
			map[string][]string{"int_answer": {"Value 2.5 for 'int_answer' expected to be an integer."}}},
		{"float not a number", with("float_answer", "two and a half"),
			map[string][]string{"float_answer": {"Value two and a half for 'float_answer' expected to be a numeric type."}}},
		{"float below min", with("float_answer", 1.5),
			map[string][]string{"float_answer": {"'float_answer' value 1.5 is too small (must be at least 2)."}}},
		{"float above max", with("float_answer", 5.5),
			map[string][]string{"float_answer": {"'float_answer' value 5.5 is too large (must be no more than 5)."}}},
		{"choice not allowed", with("single_choice", "three"),
			map[string][]string{"single_choice": {"Value three for 'single_choice' expected to be one of ['one', 'two']."}}},
		{"multiselect not a list", with("multi_choice", "one"),
			map[string][]string{"multi_choice": {"'multi_choice' value is expected to be a list."}}},
		{"multiselect with a bad item", with("multi_choice", []any{"one", "four"}),
			map[string][]string{"multi_choice": {"Value four for 'multi_choice' expected to be one of ['one', 'two', 'three']."}}},
		{"several at once", with("reqd_answer", nil, "int_answer", 9, "multi_choice", []any{"five", "two", "six"}),
			map[string][]string{
				"reqd_answer":  {"'reqd_answer' value missing"},
				"int_answer":   {"'int_answer' value 9 is too large (must be no more than 5)."},
				"multi_choice": {"Value five for 'multi_choice' expected to be one of ['one', 'two', 'three'].", "Value six for 'multi_choice' expected to be one of ['one', 'two', 'three']."},
			}},
	}
	before := e.dbState()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, raw := e.raw(requester, "POST", submit, map[string]any{"justification": "survey check", "extra_vars": c.vars})
			require.Equal(t, http.StatusBadRequest, status, "%s", raw)
			want := map[string]any{}
			var awxWants []string
			for v, msgs := range c.want {
				want["extra_vars."+v] = msgs
				awxWants = append(awxWants, msgs...)
			}
			eq, got := sameJSON(t, want, raw)
			require.True(t, eq, "\n got  %s\n want %s", got, mustJSON(t, want))
			// AWX (the simulator) refuses the same answers with the same
			// messages.
			awxGot := e.simLaunchErrors(allTypesTemplateID, c.vars)
			sort.Strings(awxGot)
			sort.Strings(awxWants)
			require.Equal(t, awxWants, awxGot, "AWX's own messages")
		})
	}
	require.Equal(t, before, e.dbState(), "refused submissions leave nothing behind")

	// A valid submission: what is stored is the answers plus the defaults
	// that are themselves valid answers, as AWX merges them.
	req := e.must(http.StatusCreated, requester, "POST", submit, map[string]any{
		"justification": "survey check", "extra_vars": map[string]any{"reqd_answer": "given", "int_answer": 3},
	})
	wantVars := map[string]any{
		"long_answer":   "Leeloo Minai Lekarariba-Laminai-Tchai Ekbat De Sebat", // default, valid (min 5)
		"short_answer":  "leeloo",                                               // default, valid (max 7)
		"reqd_answer":   "given",                                                // required: the answer, never the default
		"single_choice": "one",                                                  // default, a valid choice
		"int_answer":    float64(3),                                             // the answer
		// multi_choice's default "one\nthree" is not a list and int/float
		// defaults "" are not numbers: AWX leaves them out.
	}
	assert.Equal(t, wantVars, req["extra_vars"])
	id := idOf(req)
	var stored []byte
	require.NoError(t, e.stack.Store.DB().GetContext(context.Background(), &stored, `SELECT extra_vars FROM service_requests WHERE id = $1`, id))
	eq, got := sameJSON(t, wantVars, stored)
	assert.True(t, eq, "stored extra_vars %s", got)

	// No approval applies: it launches, and AWX gets those variables.
	e.eventually(30*time.Second, "the job to succeed", func() bool {
		return e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)["status"] == "successful"
	})
	var job *awxsim.JobInfo
	for _, j := range e.stack.Sim.Jobs() {
		if j.TemplateID == allTypesTemplateID && j.Kind == awxsim.KindJob {
			require.Nil(t, job, "launched once")
			job = &j
		}
	}
	require.NotNil(t, job)
	for k, v := range wantVars {
		assert.Equal(t, v, job.ExtraVars[k], "AWX's job has %s", k)
	}
	assert.Empty(t, job.IgnoredFields)
}
