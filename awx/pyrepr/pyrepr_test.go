package pyrepr_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/awx/pyrepr"
)

// The expected texts are CPython's str() and repr() of json.loads of the
// same JSON.
func TestRepr(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{2.5, "2.5"}, {3, "3.0"}, {0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {-0.5, "-0.5"}, {0.0001, "0.0001"},
		{0.00001, "1e-05"}, {1e16, "1e+16"}, {123456789012345, "123456789012345.0"}, {0.1, "0.1"},
		{1e22, "1e+22"}, {-1.5e-7, "-1.5e-07"}, {math.Inf(1), "inf"}, {math.NaN(), "nan"},
	} {
		assert.Equal(t, c.want, pyrepr.Float(c.in), "%v", c.in)
	}

	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, "None"},
		{true, "True"},
		{false, "False"},
		{json.Number("7"), "7"},
		{json.Number("7.0"), "7.0"},
		{json.Number("1e3"), "1000.0"},
		{json.Number("1E2"), "100.0"},
		{int64(-3), "-3"},
		{4, "4"},
		{"it's", `"it's"`},
		{`a'b"c`, `'a\'b"c'`},
		{"tab\there", `'tab\there'`},
		{`back\slash`, `'back\\slash'`},
		{"\x7f\u0080\u00a0é\u200b😀", `'\x7f\x80\xa0é\u200b😀'`},
		{"new\nline\r", `'new\nline\r'`},
		{[]any{"one", json.Number("2"), nil, 2.0, true}, "['one', 2, None, 2.0, True]"},
		{map[string]any{"b": json.Number("1"), "a": "x", "c": map[string]any{"k": []any{false}}}, "{'a': 'x', 'b': 1, 'c': {'k': [False]}}"},
	} {
		assert.Equal(t, c.want, pyrepr.Repr(c.in), "%#v", c.in)
	}
	assert.Equal(t, "plain", pyrepr.Str("plain"), "str() of a string is the string itself")
	assert.Equal(t, "['plain']", pyrepr.Str([]any{"plain"}))
}

func TestJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           `"plain"`,
		`quote " slash \`: `"quote \" slash \\"`,
		"tab\tline\n":     `"tab\tline\n"`,
		"\x01\b\f\r":      `"\u0001\b\f\r"`,
		"café":            `"caf\u00e9"`,
		"😀":               `"\ud83d\ude00"`,
		"del \x7f":        `"del \u007f"`,
	} {
		assert.Equal(t, want, pyrepr.JSONString(in), in)
	}
}
