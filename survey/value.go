package survey

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/countersign/countersign/awx/pyrepr"
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

// asWritten is v as the JSON Countersign sends AWX, where normalize gives
// its meaning: numbers are json.Number holding their literal, so that a
// json.Number from a request body goes on exactly as the requester wrote it
// (2.0 stays a float for AWX's Python, 9007199254740993 keeps its digits,
// where a float64 would change both), and a Go number as encoding/json
// writes it. Containers are fresh copies; v is never modified. Call it on a
// value normalize accepts.
func asWritten(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		if _, err := normalizeNumber(string(x)); err != nil {
			return nil, err
		}
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			w, err := asWritten(item)
			if err != nil {
				return nil, err
			}
			out[i] = w
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			w, err := asWritten(item)
			if err != nil {
				return nil, err
			}
			out[k] = w
		}
		return out, nil
	}
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil, errUnrepresentable
	}
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
	return asWritten(decoded)
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

// pyBound renders a survey min or max. AWX stores them as integers and
// prints them as such; a legacy fractional bound keeps its fraction.
func pyBound(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10)
	}
	return pyrepr.Float(f)
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
