package survey_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/survey"
)

// "$encrypted$" answers a password question with its default, as AWX's
// launch takes it: it must reach AWX as it is (AWX reports a required
// question missing otherwise), and a question without a default has
// nothing to keep.
func TestValidate_PasswordPlaceholder(t *testing.T) {
	spec := surveyOf(t, `[
		{"type": "password", "variable": "required_default", "required": true, "min": 8, "default": "$encrypted$"},
		{"type": "password", "variable": "optional_default", "required": false, "default": "$encrypted$"},
		{"type": "password", "variable": "empty_default", "required": true, "default": ""},
		{"type": "password", "variable": "required_none", "required": true},
		{"type": "password", "variable": "optional_none", "required": false},
		{"type": "text", "variable": "text", "required": false}
	]`)
	keep := `{"required_default": "$encrypted$", "optional_default": "$encrypted$", "empty_default": "$encrypted$", "required_none": "pw"}`

	t.Run("kept for AWX where there is a default", func(t *testing.T) {
		effective, errs := survey.Validate(spec, answersOf(t, keep), false)
		require.Empty(t, errs)
		assert.Equal(t, map[string]any{"required_default": "$encrypted$", "optional_default": "$encrypted$",
			"empty_default": "$encrypted$", "required_none": "pw"}, effective)
		assert.Equal(t, "$encrypted$", survey.Mask(spec, effective)["required_default"], "stored and shown as $encrypted$")
	})
	t.Run("refused where there is none", func(t *testing.T) {
		_, errs := survey.Validate(spec, answersOf(t, `{"required_default": "$encrypted$", "empty_default": "$encrypted$", "required_none": "$encrypted$", "optional_none": "$encrypted$"}`), false)
		assert.Equal(t, survey.Errors{
			"extra_vars.required_none": {"'required_none' value missing"},
			"extra_vars.optional_none": {"'optional_none' has no default for $encrypted$ to keep; give a password or leave the question out."},
		}, errs)
	})
	t.Run("an ordinary value of other questions", func(t *testing.T) {
		effective, errs := survey.Validate(spec, answersOf(t, `{"required_default": "$encrypted$", "empty_default": "$encrypted$", "required_none": "pw", "text": "$encrypted$"}`), false)
		require.Empty(t, errs)
		assert.Equal(t, "$encrypted$", effective["text"])
	})
	t.Run("node surveys alike", func(t *testing.T) {
		nodes := map[string]awx.Survey{"db": spec}
		effective, errs := survey.ValidateNodes(nodes, map[string]map[string]any{"db": answersOf(t, keep)})
		require.Empty(t, errs)
		assert.Equal(t, "$encrypted$", effective["db"]["required_default"])
	})
}

// The variables AWX gets hold each number as the requester wrote it: an
// integer beyond 2^53 keeps its digits, 2.0 stays a float (AWX's Python
// reads 2 and 2.0 as different types), 1e3 stays 1e3. Integers beyond 64
// bits are refused, as are numbers beyond float64's range.
func TestValidate_NumbersAsWritten(t *testing.T) {
	spec := surveyOf(t, `[
		{"type": "integer", "variable": "n", "required": false},
		{"type": "integer", "variable": "bounded", "required": false, "min": 1, "max": 9007199254740000},
		{"type": "float", "variable": "f", "required": false},
		{"type": "float", "variable": "f_default", "required": false, "default": 2.0},
		{"type": "integer", "variable": "n_default", "required": false, "default": 9007199254740993}
	]`)
	body := `{"n": 9007199254740993, "bounded": 9007199254740000, "f": 2.0, "extra": {"big": -12345678901234567, "l": [1e3, 0.10]}}`
	effective, errs := survey.Validate(spec, answersOf(t, body), true)
	require.Empty(t, errs)
	assert.Equal(t, map[string]any{
		"n": json.Number("9007199254740993"), "bounded": json.Number("9007199254740000"), "f": json.Number("2.0"),
		"f_default": json.Number("2.0"), "n_default": json.Number("9007199254740993"),
		"extra": map[string]any{"big": json.Number("-12345678901234567"), "l": []any{json.Number("1e3"), json.Number("0.10")}},
	}, effective)
	b, err := json.Marshal(effective)
	require.NoError(t, err)
	assert.Equal(t, `{"bounded":9007199254740000,"extra":{"big":-12345678901234567,"l":[1e3,0.10]},"f":2.0,"f_default":2.0,"n":9007199254740993,"n_default":9007199254740993}`, string(b))

	t.Run("range checks are exact", func(t *testing.T) {
		_, errs := survey.Validate(spec, answersOf(t, `{"bounded": 9007199254740001}`), false)
		assert.Equal(t, survey.Errors{"extra_vars.bounded": {"'bounded' value 9007199254740001 is too large (must be no more than 9007199254740000)."}}, errs)
	})
	t.Run("Go values as encoding/json writes them", func(t *testing.T) {
		effective, errs := survey.Validate(spec, map[string]any{"n": 3, "f": 2.5, "extra": []int{1, 2}}, true)
		require.Empty(t, errs)
		assert.Equal(t, json.Number("3"), effective["n"])
		assert.Equal(t, json.Number("2.5"), effective["f"])
		assert.Equal(t, []any{json.Number("1"), json.Number("2")}, effective["extra"])
	})
	t.Run("beyond what AWX's JSON can carry unchanged", func(t *testing.T) {
		_, errs := survey.Validate(spec, answersOf(t, `{"n": 9223372036854775808, "f": 1e400}`), false)
		assert.Equal(t, survey.Errors{
			"extra_vars.n": {"'n' value cannot be passed to AWX unchanged: numbers must be 64-bit integers or finite floating-point numbers."},
			"extra_vars.f": {"'f' value cannot be passed to AWX unchanged: numbers must be 64-bit integers or finite floating-point numbers."},
		}, errs)
	})
	t.Run("previews alike", func(t *testing.T) {
		assert.Equal(t, map[string]any{"f": json.Number("2.0"), "f_default": json.Number("2.0"), "n_default": json.Number("9007199254740993")},
			survey.Preview(spec, answersOf(t, `{"f": 2.0}`)))
	})
}

// AWX checks a choice answer with Python's `in`: choices saved as numbers
// or booleans (AWX's API takes them) are compared by value, never as text,
// and a string choice takes only that string.
func TestValidate_ChoicesThatAreNotStrings(t *testing.T) {
	spec := surveyOf(t, `[
		{"type": "multiplechoice", "variable": "size", "required": false, "choices": [1, 2.5, "large", 9007199254740993]},
		{"type": "multiselect", "variable": "zones", "required": false, "choices": [1, 2, true]},
		{"type": "multiplechoice", "variable": "text", "required": false, "choices": ["1", "2"]}
	]`)
	for _, tt := range []struct {
		body string
		want survey.Errors
	}{
		{body: `{"size": 1}`},
		{body: `{"size": 1.0}`},
		{body: `{"size": true}`},
		{body: `{"size": 2.50}`},
		{body: `{"size": "large"}`},
		{body: `{"size": 9007199254740993}`},
		{body: `{"zones": [1, 2.0, true, false]}`,
			want: survey.Errors{"extra_vars.zones": {"Value False for 'zones' expected to be one of [1, 2, True]."}}},
		{body: `{"size": "1"}`,
			want: survey.Errors{"extra_vars.size": {"Value 1 for 'size' expected to be one of [1, 2.5, 'large', 9007199254740993]."}}},
		{body: `{"size": 9007199254740992}`,
			want: survey.Errors{"extra_vars.size": {"Value 9007199254740992 for 'size' expected to be one of [1, 2.5, 'large', 9007199254740993]."}}},
		{body: `{"text": 1}`,
			want: survey.Errors{"extra_vars.text": {"Value 1 for 'text' expected to be one of ['1', '2']."}}},
		{body: `{"text": "1"}`},
	} {
		t.Run(tt.body, func(t *testing.T) {
			effective, errs := survey.Validate(spec, answersOf(t, tt.body), false)
			if tt.want != nil {
				assert.Equal(t, tt.want, errs)
				return
			}
			require.Empty(t, errs)
			want := answersOf(t, tt.body)
			assert.Equal(t, want, effective, "the answer as given")
		})
	}
}
