package survey_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
)

// fixtureSurvey is the survey of AWX's own documentation example: text min
// 5, text max 7, a required text with a default, a multiplechoice, a
// multiselect whose default is "one\nthree", integer 1..5 and float 2..5.
func fixtureSurvey(t testing.TB) awx.Survey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "survey_spec_all_types.json"))
	require.NoError(t, err)
	var s awx.Survey
	require.NoError(t, json.Unmarshal(b, &s))
	return s
}

// surveyOf decodes a survey spec the way the AWX client does, so that
// choices given as a string and min/max given as "" or null are normalised
// exactly as in production.
func surveyOf(t testing.TB, spec string) awx.Survey {
	t.Helper()
	var s awx.Survey
	require.NoError(t, json.Unmarshal([]byte(`{"name": "", "description": "", "spec": `+spec+`}`), &s))
	return s
}

// answersOf decodes a request body's answers as the API does: numbers stay
// json.Number.
func answersOf(t testing.TB, body string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}
