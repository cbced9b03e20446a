package awxsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/countersign/countersign/awx/pyrepr"
)

// encrypted is AWX's placeholder for password values.
const encrypted = "$encrypted$"

// validateAnswer reproduces AWX's _survey_element_validation for question q
// against the launch's extra_vars, message for message. AWX formats values
// with Python's str(), hence pyrepr.
func validateAnswer(q SurveyQuestion, data map[string]any) []string {
	v, present := data[q.Variable]
	name := q.Variable
	if q.Type == QuestionPassword {
		if str, ok := v.(string); ok && str == encrypted {
			if q.Default == nil && q.Required {
				return []string{fmt.Sprintf("'%s' value missing", name)}
			}
			return nil
		}
	}
	if !present {
		if q.Required {
			return []string{fmt.Sprintf("'%s' value missing", name)}
		}
		return nil
	}
	var errs []string
	switch q.Type {
	case QuestionText, QuestionTextarea, QuestionPassword:
		str, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("Value %s for '%s' expected to be a string.", pyrepr.Str(v), name)}
		}
		n := utf8.RuneCountInString(str)
		if q.Min != nil && n < *q.Min {
			errs = append(errs, fmt.Sprintf("'%s' value %s is too small (length is %d must be at least %d).", name, str, n, *q.Min))
		}
		if q.Max != nil && n > *q.Max {
			errs = append(errs, fmt.Sprintf("'%s' value %s is too large (must be no more than %d).", name, str, *q.Max))
		}
	case QuestionInteger:
		num, ok := v.(json.Number)
		if !ok || !isIntLiteral(num) {
			return []string{fmt.Sprintf("Value %s for '%s' expected to be an integer.", pyrepr.Str(v), name)}
		}
		errs = checkRange(name, num, q.Min, q.Max)
	case QuestionFloat:
		num, ok := v.(json.Number)
		if !ok {
			return []string{fmt.Sprintf("Value %s for '%s' expected to be a numeric type.", pyrepr.Str(v), name)}
		}
		errs = checkRange(name, num, q.Min, q.Max)
	case QuestionMultiSelect:
		list, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("'%s' value is expected to be a list.", name)}
		}
		for _, item := range list {
			if !isChoice(item, q.Choices) {
				errs = append(errs, fmt.Sprintf("Value %s for '%s' expected to be one of %s.", pyrepr.Str(item), name, pyrepr.Repr(choicesAny(q.Choices))))
			}
		}
	case QuestionMultipleChoice:
		if !isChoice(v, q.Choices) {
			errs = append(errs, fmt.Sprintf("Value %s for '%s' expected to be one of %s.", pyrepr.Str(v), name, pyrepr.Repr(choicesAny(q.Choices))))
		}
	}
	return errs
}

func checkRange(name string, num json.Number, lo, hi *int) []string {
	f, err := num.Float64()
	if err != nil {
		return nil
	}
	var errs []string
	if lo != nil && f < float64(*lo) {
		errs = append(errs, fmt.Sprintf("'%s' value %s is too small (must be at least %d).", name, pyrepr.Str(num), *lo))
	}
	if hi != nil && f > float64(*hi) {
		errs = append(errs, fmt.Sprintf("'%s' value %s is too large (must be no more than %d).", name, pyrepr.Str(num), *hi))
	}
	return errs
}

func isChoice(v any, choices []string) bool {
	str, ok := v.(string)
	if !ok {
		return false
	}
	for _, c := range choices {
		if c == str {
			return true
		}
	}
	return false
}

func choicesAny(choices []string) []any {
	out := make([]any, len(choices))
	for i, c := range choices {
		out[i] = c
	}
	return out
}

// isIntLiteral tells a JSON integer from a float literal, as Python's json
// module does: 3 is an int, 3.0 and 3e0 are floats.
func isIntLiteral(n json.Number) bool {
	return !strings.ContainsAny(n.String(), ".eE")
}

// pyDumps is Python's json.dumps() with its defaults, the form in which AWX
// returns extra_vars: ", " and ": " separators and non-ASCII escaped. Keys
// are sorted, where Python would keep insertion order.
func pyDumps(v any) string {
	var b strings.Builder
	writePyJSON(&b, v)
	return b.String()
}

func writePyJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyrepr.JSONString(k))
			b.WriteString(": ")
			writePyJSON(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyJSON(b, item)
		}
		b.WriteByte(']')
	case string:
		b.WriteString(pyrepr.JSONString(x))
	case json.Number:
		// Python re-renders numbers: 2.50 becomes 2.5, 1e3 becomes 1000.0.
		b.WriteString(pyrepr.Repr(x))
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			b.WriteString("null")
			return
		}
		b.Write(bytes.TrimSpace(buf.Bytes()))
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
