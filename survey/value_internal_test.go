package survey

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/pyrepr"
)

// AWX's messages embed Python's str() and repr() of the decoded answer;
// the expected texts are CPython's output for json.loads of the same JSON.
func TestPythonRendering(t *testing.T) {
	floats := []struct {
		json string
		want string
	}{
		{"2.5", "2.5"}, {"3.0", "3.0"}, {"0.0", "0.0"}, {"-0.0", "-0.0"}, {"0.0001", "0.0001"},
		{"0.00001", "1e-05"}, {"1e16", "1e+16"}, {"123456789012345.0", "123456789012345.0"},
		{"0.1", "0.1"}, {"1e22", "1e+22"}, {"-1.5e-7", "-1.5e-07"}, {"1E2", "100.0"},
	}
	for _, c := range floats {
		v, err := normalize(json.Number(c.json))
		require.NoError(t, err, c.json)
		assert.Equal(t, c.want, pyrepr.Str(v), c.json)
	}

	strs := []struct {
		in   string
		want string
	}{
		{"it's", `"it's"`},
		{`a'b"c`, `'a\'b"c'`},
		{"tab\there", `'tab\there'`},
		{`back\slash`, `'back\\slash'`},
		{"\x7f\u0080\u00a0é\u200b😀", `'\x7f\x80\xa0é\u200b😀'`},
		{"new\nline\r", `'new\nline\r'`},
	}
	for _, c := range strs {
		assert.Equal(t, c.want, pyrepr.Repr(c.in), "%q", c.in)
	}

	v, err := normalize([]any{json.Number("1"), json.Number("2.0"), nil, true, "x", map[string]any{"k": []any{false}}})
	require.NoError(t, err)
	assert.Equal(t, "[1, 2.0, None, True, 'x', {'k': [False]}]", pyrepr.Str(v))
	assert.Equal(t, "plain", pyrepr.Str("plain"), "str() of a string is the string itself")
	assert.Equal(t, "{'a': 1, 'b': 2}", pyrepr.Str(map[string]any{"b": int64(2), "a": int64(1)}), "keys are sorted")

	assert.Equal(t, "5", pyBound(5))
	assert.Equal(t, "-3", pyBound(-3))
	assert.Equal(t, "2.5", pyBound(2.5))
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"JSON integer", json.Number("-0"), int64(0)},
		{"JSON float", json.Number("3.0"), 3.0},
		{"large JSON integer", json.Number("9223372036854775807"), int64(9223372036854775807)},
		{"integral float64 is an integer on the wire", float64(7), int64(7)},
		{"fractional float64", 7.25, 7.25},
		{"float64 beyond int64 stays a float", 1e19, 1e19},
		{"float32", float32(1.5), 1.5},
		{"typed slice through JSON", []int{1, 2}, []any{int64(1), int64(2)}},
		{"typed map through JSON", map[string]int{"a": 1}, map[string]any{"a": int64(1)}},
		{"nested", map[string]any{"l": []any{json.Number("1"), "s"}}, map[string]any{"l": []any{int64(1), "s"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalize(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	for _, bad := range []any{json.Number(""), json.Number("+1"), json.Number("0x10"), json.Number("Inf"), json.Number("9223372036854775808")} {
		_, err := normalize(bad)
		assert.ErrorIs(t, err, errUnrepresentable, "%#v", bad)
	}
}
