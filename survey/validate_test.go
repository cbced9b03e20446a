package survey_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/survey"
)

// The expected messages are AWX's own, as _survey_element_validation
// formats them with Python's %s.
func TestValidate_FixtureMessages(t *testing.T) {
	spec := fixtureSurvey(t)
	tests := []struct {
		name string
		body string
		want survey.Errors
	}{
		{
			name: "all answers valid",
			body: `{"reqd_answer": "x", "long_answer": "abcde", "short_answer": "abcdefg", "single_choice": "two",
				"multi_choice": ["one", "three"], "int_answer": 5, "float_answer": 2}`,
		},
		{
			name: "required answer missing although the question has a default",
			body: `{}`,
			want: survey.Errors{"extra_vars.reqd_answer": {"'reqd_answer' value missing"}},
		},
		{
			name: "required answer null is present, so it is a type error",
			body: `{"reqd_answer": null}`,
			want: survey.Errors{"extra_vars.reqd_answer": {"Value None for 'reqd_answer' expected to be a string."}},
		},
		{
			name: "text not a string",
			body: `{"reqd_answer": "x", "short_answer": 5}`,
			want: survey.Errors{"extra_vars.short_answer": {"Value 5 for 'short_answer' expected to be a string."}},
		},
		{
			name: "text given a list",
			body: `{"reqd_answer": ["a", 1.0, true, null]}`,
			want: survey.Errors{"extra_vars.reqd_answer": {"Value ['a', 1.0, True, None] for 'reqd_answer' expected to be a string."}},
		},
		{
			name: "text shorter than min",
			body: `{"reqd_answer": "x", "long_answer": "abc"}`,
			want: survey.Errors{"extra_vars.long_answer": {"'long_answer' value abc is too small (length is 3 must be at least 5)."}},
		},
		{
			name: "text longer than max",
			body: `{"reqd_answer": "x", "short_answer": "abcdefghij"}`,
			want: survey.Errors{"extra_vars.short_answer": {"'short_answer' value abcdefghij is too large (must be no more than 7)."}},
		},
		{
			name: "text length counts characters, not bytes",
			body: `{"reqd_answer": "x", "short_answer": "ééééééé", "long_answer": "éééé"}`,
			want: survey.Errors{"extra_vars.long_answer": {"'long_answer' value éééé is too small (length is 4 must be at least 5)."}},
		},
		{
			name: "integer given as a string",
			body: `{"reqd_answer": "x", "int_answer": "3"}`,
			want: survey.Errors{"extra_vars.int_answer": {"Value 3 for 'int_answer' expected to be an integer."}},
		},
		{
			name: "integer given as a boolean",
			body: `{"reqd_answer": "x", "int_answer": true}`,
			want: survey.Errors{"extra_vars.int_answer": {"Value True for 'int_answer' expected to be an integer."}},
		},
		{
			name: "integer given a fraction",
			body: `{"reqd_answer": "x", "int_answer": 3.5}`,
			want: survey.Errors{"extra_vars.int_answer": {"Value 3.5 for 'int_answer' expected to be an integer."}},
		},
		{
			name: "integer given 3.0, a float for Python",
			body: `{"reqd_answer": "x", "int_answer": 3.0}`,
			want: survey.Errors{"extra_vars.int_answer": {"Value 3.0 for 'int_answer' expected to be an integer."}},
		},
		{
			name: "integer given an exponent, a float for Python",
			body: `{"reqd_answer": "x", "int_answer": 3e0}`,
			want: survey.Errors{"extra_vars.int_answer": {"Value 3.0 for 'int_answer' expected to be an integer."}},
		},
		{
			name: "integer above max",
			body: `{"reqd_answer": "x", "int_answer": 10}`,
			want: survey.Errors{"extra_vars.int_answer": {"'int_answer' value 10 is too large (must be no more than 5)."}},
		},
		{
			name: "integer below min",
			body: `{"reqd_answer": "x", "int_answer": 0}`,
			want: survey.Errors{"extra_vars.int_answer": {"'int_answer' value 0 is too small (must be at least 1)."}},
		},
		{
			name: "float not a number",
			body: `{"reqd_answer": "x", "float_answer": "a"}`,
			want: survey.Errors{"extra_vars.float_answer": {"Value a for 'float_answer' expected to be a numeric type."}},
		},
		{
			name: "float given a boolean",
			body: `{"reqd_answer": "x", "float_answer": false}`,
			want: survey.Errors{"extra_vars.float_answer": {"Value False for 'float_answer' expected to be a numeric type."}},
		},
		{
			name: "float above max",
			body: `{"reqd_answer": "x", "float_answer": 5.5}`,
			want: survey.Errors{"extra_vars.float_answer": {"'float_answer' value 5.5 is too large (must be no more than 5)."}},
		},
		{
			name: "float below min, given an integer",
			body: `{"reqd_answer": "x", "float_answer": 1}`,
			want: survey.Errors{"extra_vars.float_answer": {"'float_answer' value 1 is too small (must be at least 2)."}},
		},
		{
			name: "float below min, Python's rendering of small floats",
			body: `{"reqd_answer": "x", "float_answer": 1e-5}`,
			want: survey.Errors{"extra_vars.float_answer": {"'float_answer' value 1e-05 is too small (must be at least 2)."}},
		},
		{
			name: "multiplechoice value not among the choices",
			body: `{"reqd_answer": "x", "single_choice": "three"}`,
			want: survey.Errors{"extra_vars.single_choice": {"Value three for 'single_choice' expected to be one of ['one', 'two']."}},
		},
		{
			name: "multiplechoice given a list",
			body: `{"reqd_answer": "x", "single_choice": ["one"]}`,
			want: survey.Errors{"extra_vars.single_choice": {"Value ['one'] for 'single_choice' expected to be one of ['one', 'two']."}},
		},
		{
			name: "multiselect not a list",
			body: `{"reqd_answer": "x", "multi_choice": "one"}`,
			want: survey.Errors{"extra_vars.multi_choice": {"'multi_choice' value is expected to be a list."}},
		},
		{
			name: "multiselect given its newline form is still not a list",
			body: `{"reqd_answer": "x", "multi_choice": "one\nthree"}`,
			want: survey.Errors{"extra_vars.multi_choice": {"'multi_choice' value is expected to be a list."}},
		},
		{
			name: "multiselect items not among the choices, one message each",
			body: `{"reqd_answer": "x", "multi_choice": ["one", "four", 2, "three"]}`,
			want: survey.Errors{"extra_vars.multi_choice": {
				"Value four for 'multi_choice' expected to be one of ['one', 'two', 'three'].",
				"Value 2 for 'multi_choice' expected to be one of ['one', 'two', 'three'].",
			}},
		},
		{
			name: "multiselect empty list is valid",
			body: `{"reqd_answer": "x", "multi_choice": []}`,
		},
		{
			name: "optional questions answered with empty strings are still checked",
			body: `{"reqd_answer": "", "long_answer": "", "short_answer": "", "single_choice": "", "multi_choice": "",
				"int_answer": "", "float_answer": ""}`,
			want: survey.Errors{
				"extra_vars.long_answer":   {"'long_answer' value  is too small (length is 0 must be at least 5)."},
				"extra_vars.single_choice": {"Value  for 'single_choice' expected to be one of ['one', 'two']."},
				"extra_vars.multi_choice":  {"'multi_choice' value is expected to be a list."},
				"extra_vars.int_answer":    {"Value  for 'int_answer' expected to be an integer."},
				"extra_vars.float_answer":  {"Value  for 'float_answer' expected to be a numeric type."},
			},
		},
		{
			name: "optional questions answered null",
			body: `{"reqd_answer": "x", "long_answer": null, "int_answer": null, "multi_choice": null, "single_choice": null}`,
			want: survey.Errors{
				"extra_vars.long_answer":   {"Value None for 'long_answer' expected to be a string."},
				"extra_vars.int_answer":    {"Value None for 'int_answer' expected to be an integer."},
				"extra_vars.multi_choice":  {"'multi_choice' value is expected to be a list."},
				"extra_vars.single_choice": {"Value None for 'single_choice' expected to be one of ['one', 'two']."},
			},
		},
		{
			name: "unknown variable while the template does not prompt for variables",
			body: `{"reqd_answer": "x", "zeta": 1, "alpha": "a"}`,
			want: survey.Errors{
				"extra_vars.alpha": {"'alpha' is not a survey question, and the template does not prompt for other variables (ask_variables_on_launch is off)."},
				"extra_vars.zeta":  {"'zeta' is not a survey question, and the template does not prompt for other variables (ask_variables_on_launch is off)."},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			effective, errs := survey.Validate(spec, answersOf(t, tt.body), false)
			if tt.want == nil {
				assert.Empty(t, errs)
				assert.NoError(t, errs.Err())
				assert.NotNil(t, effective)
				return
			}
			assert.Equal(t, tt.want, errs)
			assert.Error(t, errs.Err())
			assert.Nil(t, effective, "no variables are returned for invalid answers")
		})
	}
}

// Callers other than the API hand over Go values; each must be judged by
// the JSON AWX would receive for it.
func TestValidate_GoValues(t *testing.T) {
	spec := fixtureSurvey(t)
	intErr := func(shown string) survey.Errors {
		return survey.Errors{"extra_vars.int_answer": {"Value " + shown + " for 'int_answer' expected to be an integer."}}
	}
	tests := []struct {
		name  string
		value any
		want  survey.Errors
		eff   any
	}{
		{"int", 3, nil, json.Number("3")},
		{"int64", int64(4), nil, json.Number("4")},
		{"integral float64 is written as 3", float64(3), nil, json.Number("3")},
		{"uint8 through its JSON", uint8(2), nil, json.Number("2")},
		{"json.Number integer", json.Number("3"), nil, json.Number("3")},
		{"json.Number 3.0", json.Number("3.0"), intErr("3.0"), nil},
		{"float64 fraction", 3.5, intErr("3.5"), nil},
		{"string", "3", intErr("3"), nil},
		{"bool", true, intErr("True"), nil},
		{"nil", nil, intErr("None"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			effective, errs := survey.Validate(spec, map[string]any{"reqd_answer": "x", "int_answer": tt.value}, false)
			if tt.want != nil {
				assert.Equal(t, tt.want, errs)
				return
			}
			require.Empty(t, errs)
			assert.Equal(t, tt.eff, effective["int_answer"])
		})
	}

	t.Run("multiselect as a Go string slice", func(t *testing.T) {
		effective, errs := survey.Validate(spec, map[string]any{"reqd_answer": "x", "multi_choice": []string{"two"}}, false)
		require.Empty(t, errs)
		assert.Equal(t, []any{"two"}, effective["multi_choice"])
	})
}

func TestValidate_OtherQuestionTypes(t *testing.T) {
	spec := surveyOf(t, `[
		{"type": "password", "question_name": "Password", "variable": "pw", "required": true, "min": 3, "max": 8, "default": "$encrypted$", "choices": ""},
		{"type": "password", "question_name": "Token", "variable": "token", "required": true, "min": null, "max": null, "choices": ""},
		{"type": "textarea", "question_name": "Notes", "variable": "notes", "required": false, "min": 2, "max": 4, "default": "abc", "choices": ""},
		{"type": "multiplechoice", "question_name": "Colour", "variable": "colour", "required": false, "choices": "red\n\ngreen\nit's\n", "min": null, "max": null},
		{"type": "text", "question_name": "Free", "variable": "free", "required": false, "min": "", "max": null},
		{"type": "integer", "question_name": "Count", "variable": "count", "required": false, "min": "", "max": null},
		{"type": "color", "question_name": "Unknown type", "variable": "odd", "required": false}
	]`)
	tests := []struct {
		name string
		body string
		want survey.Errors
	}{
		{
			name: "valid",
			body: `{"pw": "secret", "token": "t", "notes": "ab", "colour": "it's", "free": "", "count": -99999, "odd": [1]}`,
		},
		{
			name: "password messages never show the password",
			body: `{"pw": "ab", "token": 12345}`,
			want: survey.Errors{
				"extra_vars.pw":    {"'pw' value $encrypted$ is too small (length is 2 must be at least 3)."},
				"extra_vars.token": {"Value $encrypted$ for 'token' expected to be a string."},
			},
		},
		{
			name: "password too long",
			body: `{"pw": "abcdefghi", "token": "t"}`,
			want: survey.Errors{"extra_vars.pw": {"'pw' value $encrypted$ is too large (must be no more than 8)."}},
		},
		{
			name: "the placeholder stands for the default, and is missing without one",
			body: `{"pw": "$encrypted$", "token": "$encrypted$"}`,
			want: survey.Errors{"extra_vars.token": {"'token' value missing"}},
		},
		{
			name: "textarea limits",
			body: `{"pw": "secret", "token": "t", "notes": "a\nbcd"}`,
			want: survey.Errors{"extra_vars.notes": {"'notes' value a\nbcd is too large (must be no more than 4)."}},
		},
		{
			name: "textarea too short",
			body: `{"pw": "secret", "token": "t", "notes": "a"}`,
			want: survey.Errors{"extra_vars.notes": {"'notes' value a is too small (length is 1 must be at least 2)."}},
		},
		{
			name: "choices given as a newline string, blank lines dropped, shown as Python's list",
			body: `{"pw": "secret", "token": "t", "colour": ""}`,
			want: survey.Errors{"extra_vars.colour": {`Value  for 'colour' expected to be one of ['red', 'green', "it's"].`}},
		},
		{
			name: "min and max given as empty string or null are unset",
			body: `{"pw": "secret", "token": "t", "free": "a very long answer that no limit stops", "count": 123456789}`,
		},
		{
			name: "a type AWX does not know gets no checks, only required ones",
			body: `{"pw": "secret", "token": "t", "odd": {"any": "thing"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := survey.Validate(spec, answersOf(t, tt.body), false)
			if tt.want == nil {
				assert.Empty(t, errs)
				return
			}
			assert.Equal(t, tt.want, errs)
		})
	}
}

func TestValidate_UnknownVariables(t *testing.T) {
	spec := fixtureSurvey(t)
	t.Run("accepted when the template prompts for variables", func(t *testing.T) {
		effective, errs := survey.Validate(spec, answersOf(t, `{"reqd_answer": "x", "extra": {"n": 1, "f": [1.5, "s"]}}`), true)
		require.Empty(t, errs)
		assert.Equal(t, map[string]any{"n": json.Number("1"), "f": []any{json.Number("1.5"), "s"}}, effective["extra"])
	})

	empty := awx.Survey{}
	t.Run("no survey and no answers", func(t *testing.T) {
		effective, errs := survey.Validate(empty, nil, false)
		assert.Empty(t, errs)
		assert.Equal(t, map[string]any{}, effective)
	})
	t.Run("no survey refuses every variable", func(t *testing.T) {
		_, errs := survey.Validate(empty, map[string]any{"b": 1, "a": 2}, false)
		assert.Equal(t, survey.Errors{
			"extra_vars.a": {"'a' is not a survey question, and the template does not prompt for other variables (ask_variables_on_launch is off)."},
			"extra_vars.b": {"'b' is not a survey question, and the template does not prompt for other variables (ask_variables_on_launch is off)."},
		}, errs)
	})
	t.Run("no survey, prompting for variables", func(t *testing.T) {
		effective, errs := survey.Validate(empty, map[string]any{"a": json.Number("2")}, true)
		assert.Empty(t, errs)
		assert.Equal(t, map[string]any{"a": json.Number("2")}, effective)
	})
}

func TestValidate_Effective(t *testing.T) {
	spec := fixtureSurvey(t)
	t.Run("valid defaults fill unanswered questions, invalid ones are left out", func(t *testing.T) {
		effective, errs := survey.Validate(spec, answersOf(t, `{"reqd_answer": "mine"}`), false)
		require.Empty(t, errs)
		// multi_choice's default "one\nthree" is not a list, and the
		// integer and float defaults are "": AWX merges none of them.
		assert.Equal(t, map[string]any{
			"reqd_answer":   "mine",
			"long_answer":   "Leeloo Minai Lekarariba-Laminai-Tchai Ekbat De Sebat",
			"short_answer":  "leeloo",
			"single_choice": "one",
		}, effective)
	})
	t.Run("answers override defaults, numbers keep their JSON kind", func(t *testing.T) {
		effective, errs := survey.Validate(spec, answersOf(t,
			`{"reqd_answer": "mine", "short_answer": "", "int_answer": 4, "float_answer": 2.5, "multi_choice": ["two"]}`), false)
		require.Empty(t, errs)
		assert.Equal(t, map[string]any{
			"reqd_answer":   "mine",
			"long_answer":   "Leeloo Minai Lekarariba-Laminai-Tchai Ekbat De Sebat",
			"short_answer":  "",
			"single_choice": "one",
			"multi_choice":  []any{"two"},
			"int_answer":    json.Number("4"),
			"float_answer":  json.Number("2.5"),
		}, effective)
		b, err := json.Marshal(effective)
		require.NoError(t, err)
		assert.JSONEq(t, `{"reqd_answer": "mine", "long_answer": "Leeloo Minai Lekarariba-Laminai-Tchai Ekbat De Sebat",
			"short_answer": "", "single_choice": "one", "multi_choice": ["two"], "int_answer": 4, "float_answer": 2.5}`, string(b))
	})
	t.Run("float answered with an integer stays an integer", func(t *testing.T) {
		effective, errs := survey.Validate(spec, answersOf(t, `{"reqd_answer": "x", "float_answer": 3}`), false)
		require.Empty(t, errs)
		assert.Equal(t, json.Number("3"), effective["float_answer"])
	})

	other := surveyOf(t, `[
		{"type": "integer", "variable": "n", "required": false, "min": 1, "max": 9, "default": 2},
		{"type": "float", "variable": "f", "required": false, "min": null, "max": null, "default": 0.5},
		{"type": "integer", "variable": "too_big", "required": false, "min": null, "max": 3, "default": 4},
		{"type": "multiselect", "variable": "ms", "required": false, "choices": ["a", "b"], "default": ["b"]},
		{"type": "multiselect", "variable": "ms_bad", "required": false, "choices": ["a", "b"], "default": ["z"]},
		{"type": "multiplechoice", "variable": "mc_empty", "required": false, "choices": ["a"], "default": ""},
		{"type": "text", "variable": "t_empty", "required": false, "min": 0, "max": 0, "default": ""},
		{"type": "text", "variable": "t_short", "required": false, "min": 1, "default": ""},
		{"type": "text", "variable": "t_null", "required": false, "default": null},
		{"type": "password", "variable": "pw_set", "required": false, "default": "$encrypted$"},
		{"type": "password", "variable": "pw_empty", "required": false, "default": ""}
	]`)
	t.Run("defaults of every type", func(t *testing.T) {
		effective, errs := survey.Validate(other, map[string]any{"pw_set": survey.Encrypted}, false)
		require.Empty(t, errs)
		// pw_set's real default is hidden from Countersign: the placeholder
		// goes to AWX, which applies the default.
		assert.Equal(t, map[string]any{
			"pw_set":   survey.Encrypted,
			"n":        json.Number("2"),
			"f":        json.Number("0.5"),
			"ms":       []any{"b"},
			"t_empty":  "",
			"pw_empty": "",
		}, effective)
	})
	t.Run("inputs are not modified and results share nothing with them", func(t *testing.T) {
		answers := map[string]any{"ms": []any{"a"}, "n": json.Number("3")}
		effective, errs := survey.Validate(other, answers, false)
		require.Empty(t, errs)
		effective["ms"].([]any)[0] = "changed"
		assert.Equal(t, map[string]any{"ms": []any{"a"}, "n": json.Number("3")}, answers)
		again, _ := survey.Validate(other, nil, false)
		assert.Equal(t, []any{"b"}, again["ms"], "the spec's default must not be changed either")
	})
}

// Numbers AWX would take but the extra_vars Countersign sends could not
// carry unchanged are refused rather than silently altered.
func TestValidate_Unrepresentable(t *testing.T) {
	spec := fixtureSurvey(t)
	for name, v := range map[string]any{
		"float overflow":   json.Number("1e400"),
		"integer overflow": json.Number("123456789012345678901234"),
		"not a number":     json.Number("12abc"),
		"NaN":              math.NaN(),
		"infinity":         math.Inf(1),
		"not JSON at all":  make(chan int),
	} {
		t.Run(name, func(t *testing.T) {
			_, errs := survey.Validate(spec, map[string]any{"reqd_answer": "x", "float_answer": v, "other": []any{v}}, true)
			assert.Equal(t, survey.Errors{
				"extra_vars.float_answer": {"'float_answer' value cannot be passed to AWX unchanged: numbers must be 64-bit integers or finite floating-point numbers."},
				"extra_vars.other":        {"'other' value cannot be passed to AWX unchanged: numbers must be 64-bit integers or finite floating-point numbers."},
			}, errs)
		})
	}
}

func TestErrors(t *testing.T) {
	var none survey.Errors
	assert.NoError(t, none.Err())
	assert.NoError(t, survey.Errors{}.Err())

	errs := survey.Errors{
		"extra_vars.b": {"second", "third"},
		"extra_vars.a": {"first"},
	}
	require.Error(t, errs.Err())
	assert.Equal(t, "extra_vars.a: first; extra_vars.b: second; extra_vars.b: third", errs.Err().Error())

	assert.Equal(t, "extra_vars.region", survey.Field("region"))
	assert.Equal(t, "node_survey_data.deploy", survey.NodeKey("deploy"))
	assert.Equal(t, "node_survey_data.deploy.region", survey.NodeField("deploy", "region"))
}
