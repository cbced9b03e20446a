package awx_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
)

func TestQuestion_UnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    awx.Question
		wantErr string
	}{
		{
			name: "choices as a newline string, blank lines dropped",
			json: `{"type": "multiplechoice", "variable": "env", "choices": "dev\n\nstaging\r\n  \nprod\n", "default": "dev"}`,
			want: awx.Question{Type: "multiplechoice", Variable: "env", Choices: []any{"dev", "staging", "prod"}, Default: "dev"},
		},
		{
			name: "choices as a list are kept as given",
			json: `{"type": "multiselect", "variable": "zones", "choices": ["a", " b", "3"], "default": ["a"]}`,
			want: awx.Question{Type: "multiselect", Variable: "zones", Choices: []any{"a", " b", "3"}, Default: []any{"a"}},
		},
		{
			name: "choices that are not strings keep their type, numbers their digits",
			json: `{"type": "multiplechoice", "variable": "size", "choices": [1, 2.50, true, "1", 9007199254740993]}`,
			want: awx.Question{Type: "multiplechoice", Variable: "size",
				Choices: []any{json.Number("1"), json.Number("2.50"), true, "1", json.Number("9007199254740993")}},
		},
		{
			name: "null and missing bounds and choices are unset",
			json: `{"type": "integer", "variable": "n", "choices": null, "min": null, "default": 3}`,
			want: awx.Question{Type: "integer", Variable: "n", Default: json.Number("3")},
		},
		{
			name: "defaults keep their digits",
			json: `{"type": "float", "variable": "f", "default": 2.0}`,
			want: awx.Question{Type: "float", Variable: "f", Default: json.Number("2.0")},
		},
		{
			name: "a null default is none",
			json: `{"type": "text", "variable": "t", "default": null}`,
			want: awx.Question{Type: "text", Variable: "t"},
		},
		{
			name: "empty string bounds are unset, numeric strings are read",
			json: `{"type": "text", "variable": "s", "min": "", "max": " 12 "}`,
			want: awx.Question{Type: "text", Variable: "s", Max: ptr(12.0)},
		},
		{
			name: "float bounds and zero",
			json: `{"type": "float", "variable": "f", "min": 0, "max": 2.5, "required": true}`,
			want: awx.Question{Type: "float", Variable: "f", Required: true, Min: ptr(0.0), Max: ptr(2.5)},
		},
		{
			name: "password default is kept as AWX shows it",
			json: `{"type": "password", "variable": "pw", "default": "$encrypted$"}`,
			want: awx.Question{Type: "password", Variable: "pw", Default: "$encrypted$"},
		},
		{name: "non-numeric bound", json: `{"variable": "x", "min": "five"}`, wantErr: `survey question "x": min`},
		{name: "boolean bound", json: `{"variable": "x", "max": true}`, wantErr: `survey question "x": max`},
		{name: "object choices", json: `{"variable": "x", "choices": {"a": 1}}`, wantErr: `survey question "x": choices`},
		{name: "nested choice", json: `{"variable": "x", "choices": [["a"]]}`, wantErr: `survey question "x": choices`},
		{name: "null choice", json: `{"variable": "x", "choices": ["a", null]}`, wantErr: `survey question "x": choices`},
		{name: "wrong field type", json: `{"variable": "x", "required": "yes"}`, wantErr: "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q awx.Question
			err := json.Unmarshal([]byte(tt.json), &q)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, q)
		})
	}
}

func TestSurvey_RoundTrip(t *testing.T) {
	// Surveys travel through JSON (workflow payloads, API responses): what
	// is encoded must decode to the same value.
	var s awx.Survey
	require.NoError(t, json.Unmarshal(fixture(t, "survey_spec_all_types.json"), &s))
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back awx.Survey
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, s, back)
	assert.JSONEq(t, `{"question_name": "cantbelong", "question_description": "What is a short answer",
		"required": false, "type": "text", "variable": "short_answer", "choices": null,
		"default": "leeloo", "min": null, "max": 7}`, mustJSON(t, s.Spec[1]))
}

func TestQuestion_DefaultList(t *testing.T) {
	tests := []struct {
		name string
		dflt any
		want []string
	}{
		{"newline string", "one\nthree", []string{"one", "three"}},
		{"blank lines", "\none\n\n", []string{"one"}},
		{"list", []any{"a", "b", 3.0}, []string{"a", "b"}},
		{"string slice", []string{"x"}, []string{"x"}},
		{"empty string", "", nil},
		{"none", nil, nil},
		{"number", 4.0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, awx.Question{Type: awx.QuestionMultiSelect, Default: tt.dflt}.DefaultList())
		})
	}
}
