package awxsim

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/awx/pyrepr"
)

// AWX's messages embed Python renderings of values; these cases were
// checked against CPython's str(), repr() and json.dumps().
func TestPythonRendering(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{2.5, "2.5"}, {3, "3.0"}, {0, "0.0"}, {-0.5, "-0.5"}, {0.0001, "0.0001"}, {0.00001, "1e-05"},
		{1e16, "1e+16"}, {123456789012345, "123456789012345.0"}, {0.1, "0.1"},
	} {
		assert.Equal(t, c.want, pyrepr.Float(c.in), "%v", c.in)
	}

	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, "None"},
		{true, "True"},
		{json.Number("7"), "7"},
		{json.Number("7.0"), "7.0"},
		{json.Number("1e3"), "1000.0"},
		{"it's", `"it's"`},
		{`a'b"c`, `'a\'b"c'`},
		{"tab\there", `'tab\there'`},
		{[]any{"one", json.Number("2"), nil}, "['one', 2, None]"},
		{map[string]any{"b": json.Number("1"), "a": "x"}, "{'a': 'x', 'b': 1}"},
	} {
		assert.Equal(t, c.want, pyrepr.Repr(c.in), "%#v", c.in)
	}
	assert.Equal(t, "plain", pyrepr.Str("plain"), "str() of a string is the string itself")

	vars := map[string]any{"b": json.Number("1"), "a": "é<>&", "c": []any{true, nil, json.Number("2.50"), json.Number("1e3")}, "d": "😀", "e": map[string]any{}}
	assert.Equal(t, `{"a": "\u00e9<>&", "b": 1, "c": [true, null, 2.5, 1000.0], "d": "\ud83d\ude00", "e": {}}`, pyDumps(vars))
	assert.Equal(t, "{}", pyDumps(map[string]any{}))
}
