package survey_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/survey"
)

// FuzzValidate feeds arbitrary JSON answers to Validate and checks what
// must hold for any input: no panic, the answers untouched, and valid
// answers giving extra_vars that encode as JSON.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"reqd_answer": "x"}`,
		`{"reqd_answer": "x", "int_answer": 3, "float_answer": 2.5, "multi_choice": ["one", "three"]}`,
		`{"reqd_answer": null, "int_answer": 3.0, "float_answer": "a", "multi_choice": "one\nthree"}`,
		`{"reqd_answer": "x", "int_answer": 1e400, "float_answer": -0.0, "single_choice": ["one"]}`,
		`{"reqd_answer": "x", "long_answer": "", "short_answer": "ééééééééé", "unknown": {"a": [1, {"b": null}]}}`,
		`{"reqd_answer": "x", "int_answer": 123456789012345678901234567890}`,
		`{"pw": "$encrypted$", "multi_choice": [[], {}, true, 1]}`,
	} {
		f.Add(seed)
	}
	spec := fixtureSurvey(f)
	other := surveyOf(f, `[
		{"type": "password", "variable": "pw", "required": true, "min": 2, "max": 4},
		{"type": "multiselect", "variable": "multi_choice", "choices": "a\nb"},
		{"type": "float", "variable": "int_answer", "min": -1.5, "max": 1e300}
	]`)
	f.Fuzz(func(t *testing.T, body string) {
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		var answers map[string]any
		if dec.Decode(&answers) != nil {
			return
		}
		before, err := json.Marshal(answers)
		require.NoError(t, err)
		for _, s := range []struct {
			name string
			run  func() (map[string]any, survey.Errors)
		}{
			{"fixture, strict", func() (map[string]any, survey.Errors) { return survey.Validate(spec, answers, false) }},
			{"fixture, open", func() (map[string]any, survey.Errors) { return survey.Validate(spec, answers, true) }},
			{"other, open", func() (map[string]any, survey.Errors) { return survey.Validate(other, answers, true) }},
		} {
			effective, errs := s.run()
			if len(errs) > 0 {
				assert.Nil(t, effective, s.name)
				continue
			}
			_, err := json.Marshal(effective)
			assert.NoError(t, err, s.name)
			_, err = json.Marshal(survey.Mask(other, effective))
			assert.NoError(t, err, s.name)
		}
		after, err := json.Marshal(answers)
		require.NoError(t, err)
		assert.Equal(t, string(before), string(after), "answers must not change")
	})
}
