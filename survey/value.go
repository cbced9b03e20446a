package survey

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// errUnrepresentable marks an answer that has no faithful form in the
// extra_vars Countersign sends: a number beyond int64 or float64, NaN,
// infinities, or a Go value that does not encode as JSON.
var errUnrepresentable = errors.New("not representable")

// normalize turns an answer into the value AWX would decode from the JSON
// Countersign sends: nil, bool, string, int64 (a JSON integer), float64 (a
// JSON number with a fraction or exponent), []any or map[string]any. The
// int/float split is the one Python's json module makes, which AWX's type
// checks rely on: json.Number("3") is an int, json.Number("3.0") a float.
// A Go float64 is encoded without a fraction when it is integral, so AWX
// reads float64(3) as the integer 3, and so does normalize. The input is
// never modified; containers are copied.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		return normalizeNumber(string(x))
	case float64:
		return normalizeFloat(x)
	case float32:
		return normalizeFloat(float64(x))
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			n, err := normalize(item)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			n, err := normalize(item)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	// Anything else (typed slices, structs, other integer kinds) is judged
	// by the JSON it encodes to, since that is what AWX receives.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errUnrepresentable
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var decoded any
	if err := dec.Decode(&decoded); err != nil {
		return nil, errUnrepresentable
	}
	return normalize(decoded)
}

func normalizeNumber(s string) (any, error) {
	if s == "" || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) || !json.Valid([]byte(s)) {
		return nil, errUnrepresentable
	}
	if !strings.ContainsAny(s, ".eE") {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errUnrepresentable
		}
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, errUnrepresentable
	}
	return f, nil
}

func normalizeFloat(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errUnrepresentable
	}
	// encoding/json writes integral values below 1e21 without a fraction or
	// exponent; those that fit int64 become Python ints on AWX's side.
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return int64(f), nil
	}
	return f, nil
}

// cmpIntFloat compares an integer answer with a bound exactly, as Python
// compares int and float.
func cmpIntFloat(i int64, f float64) int {
	return new(big.Float).SetInt64(i).Cmp(big.NewFloat(f))
}

// pyStr renders a normalized value as Python's str() does, which is how
// AWX's messages show answers.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// pyRepr renders a normalized value as Python's repr() does. Dict keys come
// out sorted: Python keeps the order of the request body, which a Go map
// does not remember.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return pyQuote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	case []any:
		parts := make([]string, len(x))
		for i, item := range x {
			parts[i] = pyRepr(item)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyQuote(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// pyFloat is Python's repr() of a float: the shortest digits that round
// trip, an exponent outside [1e-4, 1e16), and ".0" on integral values.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyQuote is Python's repr() of a str: single quotes unless the text holds
// a single quote and no double quote, and escapes for what is not
// printable.
func pyQuote(s string) string {
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteRune(quote)
	for _, r := range s {
		switch {
		case r == '\\' || r == quote:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == ' ' || (r < 0x7f && r > 0x20) || (r > 0x7f && unicode.IsPrint(r)):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteRune(quote)
	return b.String()
}

// pyBound renders a survey min or max. AWX stores them as integers and
// prints them as such; a legacy fractional bound keeps its fraction.
func pyBound(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10)
	}
	return pyFloat(f)
}

// deepCopy copies the containers of a decoded JSON value so that callers
// can change the result without touching the input.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = deepCopy(item)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = deepCopy(item)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	}
	return v
}
