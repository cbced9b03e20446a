package survey

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/countersign/countersign/awx"

	"github.com/countersign/countersign/awx/pyrepr"
)

// Encrypted is the value AWX shows in place of a password, and the value
// Mask stores. A password question answered with Encrypted takes its
// default, as AWX does at launch.
const Encrypted = awx.Encrypted

// Validate checks answers against the survey spec as AWX does at launch and
// returns the variables the job would get from them.
//
// allowUnknown is the template's ask_variables_on_launch. When it is false,
// every variable that is not a survey question is an error: AWX would drop
// it silently from a job template launch and refuse a workflow launch. An
// empty Survey asks nothing, so every answer is then such a variable. Pass
// an empty Survey for a template whose survey is not enabled: AWX ignores a
// disabled survey.
//
// Error keys are Field(variable). When errs is empty, effective holds the
// answers plus the defaults of unanswered questions that are themselves
// valid answers (AWX's merge); numbers are json.Number holding the literal
// the requester wrote (a Go number: as encoding/json writes it) and
// containers are fresh copies, so effective marshals to exactly the JSON
// AWX should get: 2.0 stays a float, 9007199254740993 keeps its digits. A
// number Countersign cannot carry unchanged (an integer beyond 64 bits, a
// float beyond float64's range) is an error. When errs is not empty,
// effective is nil. answers is never modified.
//
// Two defaults never reach effective. A multiselect default stored as
// "a\nb" is not a list, so AWX leaves it out of the job; a form that shows
// it preselected (awx.Question.DefaultList) gets it answered instead. A
// password default shows as Encrypted, its value hidden; AWX applies it
// itself when the variable is absent. A password question answered
// Encrypted keeps its default: effective holds Encrypted for AWX, which
// takes it for the default (a required question left out would be
// missing). Answered so, a question without a default is an error.
func Validate(spec awx.Survey, answers map[string]any, allowUnknown bool) (effective map[string]any, errs Errors) {
	s := scope{key: Field}
	if !allowUnknown {
		s.unknown = "'%s' is not a survey question, and the template does not prompt for other variables (ask_variables_on_launch is off)."
	}
	return validate(spec, answers, s)
}

// ValidateNodes checks the answers given for each node of a workflow
// against that node's survey, keyed by node identifier. nodes holds the
// survey of every node that has one.
//
// Answers for an identifier missing from nodes are an error under
// NodeKey(id). A node's answers may only answer its own survey: Countersign
// merges them into the workflow's extra_vars, where AWX would not check
// anything else. Every node in nodes is checked, answered or not, so a
// required question left unanswered is reported. Other error keys are
// NodeField(id, variable).
//
// When errs is empty, effective holds, for each node with at least one
// value, its answers plus its valid defaults (see Validate); otherwise it is
// nil. answers is never modified.
func ValidateNodes(nodes map[string]awx.Survey, answers map[string]map[string]any) (effective map[string]map[string]any, errs Errors) {
	errs = Errors{}
	ids := sortedKeys(nodes)
	for _, id := range sortedKeys(answers) {
		if _, ok := nodes[id]; ok {
			continue
		}
		if len(ids) == 0 {
			errs.add(NodeKey(id), "no such node; this workflow has no node surveys")
		} else {
			errs.add(NodeKey(id), "no such node; nodes are: "+strings.Join(ids, ", "))
		}
	}
	effective = make(map[string]map[string]any, len(nodes))
	for _, id := range ids {
		s := scope{
			key:     func(variable string) string { return NodeField(id, variable) },
			unknown: "'%s' is not a question of this node's survey; a node's answers may only answer its own survey.",
		}
		vars, nodeErrs := validate(nodes[id], answers[id], s)
		for k, msgs := range nodeErrs {
			errs.add(k, msgs...)
		}
		if len(vars) > 0 {
			effective[id] = vars
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return effective, nil
}

// scope says where answers sit in Errors and what to say about variables
// outside the survey; an empty unknown accepts them.
type scope struct {
	key     func(variable string) string
	unknown string
}

func validate(spec awx.Survey, answers map[string]any, s scope) (map[string]any, Errors) {
	errs := Errors{}
	effective := map[string]any{}
	asked := make(map[string]bool, len(spec.Spec))
	// Defaults go in first: AWX lets every answer override them.
	for _, q := range spec.Spec {
		asked[q.Variable] = true
		if d, ok := validDefault(q); ok {
			effective[q.Variable] = d
		}
	}
	for _, q := range spec.Spec {
		raw, present := answers[q.Variable]
		if isPlaceholder(q, raw) {
			// AWX takes the placeholder for the question's default: it must
			// reach AWX as it is, since a required question left out is
			// missing. Without a default there is nothing to keep.
			switch {
			case q.Default == nil && q.Required:
				errs.add(s.key(q.Variable), missing(q))
			case q.Default == nil:
				errs.add(s.key(q.Variable), fmt.Sprintf("'%s' has no default for %s to keep; give a password or leave the question out.", q.Variable, Encrypted))
			default:
				effective[q.Variable] = Encrypted
			}
			continue
		}
		if !present {
			if q.Required {
				errs.add(s.key(q.Variable), missing(q))
			}
			continue
		}
		v, err := normalize(raw)
		if err != nil {
			errs.add(s.key(q.Variable), unrepresentable(q.Variable))
			continue
		}
		if msgs := check(q, v); len(msgs) > 0 {
			errs.add(s.key(q.Variable), msgs...)
			continue
		}
		if effective[q.Variable], err = asWritten(raw); err != nil {
			errs.add(s.key(q.Variable), unrepresentable(q.Variable))
		}
	}
	for _, name := range sortedKeys(answers) {
		if asked[name] {
			continue
		}
		if s.unknown != "" {
			errs.add(s.key(name), fmt.Sprintf(s.unknown, name))
			continue
		}
		w, err := asWritten(answers[name])
		if err == nil {
			_, err = normalize(answers[name])
		}
		if err != nil {
			errs.add(s.key(name), unrepresentable(name))
			continue
		}
		effective[name] = w
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return effective, nil
}

// isPlaceholder reports a password answered with AWX's placeholder, which
// AWX never validates: it stands for the question's default, which AWX
// applies at launch (and refuses when there is none and the question is
// required).
func isPlaceholder(q awx.Question, answer any) bool {
	s, ok := answer.(string)
	return ok && q.Type == awx.QuestionPassword && s == Encrypted
}

// validDefault returns the default AWX would merge into the job's
// extra_vars for q: only a default that passes q's own checks. A password
// default shown as Encrypted cannot be checked here; AWX applies it at
// launch when the variable is absent, if it is valid.
func validDefault(q awx.Question) (any, bool) {
	if q.Default == nil {
		return nil, false
	}
	if s, ok := q.Default.(string); ok && q.Type == awx.QuestionPassword && strings.HasPrefix(s, Encrypted) {
		return nil, false
	}
	v, err := normalize(q.Default)
	if err != nil || len(check(q, v)) > 0 {
		return nil, false
	}
	w, err := asWritten(q.Default)
	return w, err == nil
}

// check applies AWX's type, length, range and choice checks to the
// normalized answer v of q; it returns AWX's messages, in AWX's order.
// Types AWX does not know get no checks, as in AWX.
func check(q awx.Question, v any) []string {
	name := q.Variable
	shown := pyrepr.Str(v)
	if q.Type == awx.QuestionPassword {
		shown = Encrypted
	}
	var msgs []string
	switch q.Type {
	case awx.QuestionText, awx.QuestionTextarea, awx.QuestionPassword:
		s, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("Value %s for '%s' expected to be a string.", shown, name)}
		}
		n := float64(utf8.RuneCountInString(s)) // Python's len() counts code points
		if q.Min != nil && n < math.Trunc(*q.Min) {
			msgs = append(msgs, fmt.Sprintf("'%s' value %s is too small (length is %d must be at least %s).",
				name, shown, int(n), pyBound(*q.Min)))
		}
		if q.Max != nil && n > math.Trunc(*q.Max) {
			msgs = append(msgs, fmt.Sprintf("'%s' value %s is too large (must be no more than %s).",
				name, shown, pyBound(*q.Max)))
		}
	case awx.QuestionInteger:
		i, ok := v.(int64)
		if !ok {
			return []string{fmt.Sprintf("Value %s for '%s' expected to be an integer.", shown, name)}
		}
		// AWX compares with int(min): a fractional bound is truncated.
		if q.Min != nil && cmpIntFloat(i, math.Trunc(*q.Min)) < 0 {
			msgs = append(msgs, tooSmall(name, shown, *q.Min))
		}
		if q.Max != nil && cmpIntFloat(i, math.Trunc(*q.Max)) > 0 {
			msgs = append(msgs, tooLarge(name, shown, *q.Max))
		}
	case awx.QuestionFloat:
		var below, above bool
		switch x := v.(type) {
		case int64:
			below = q.Min != nil && cmpIntFloat(x, *q.Min) < 0
			above = q.Max != nil && cmpIntFloat(x, *q.Max) > 0
		case float64:
			below = q.Min != nil && x < *q.Min
			above = q.Max != nil && x > *q.Max
		default:
			return []string{fmt.Sprintf("Value %s for '%s' expected to be a numeric type.", shown, name)}
		}
		if below {
			msgs = append(msgs, tooSmall(name, shown, *q.Min))
		}
		if above {
			msgs = append(msgs, tooLarge(name, shown, *q.Max))
		}
	case awx.QuestionMultiSelect:
		items, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("'%s' value is expected to be a list.", name)}
		}
		for _, item := range items {
			if !isChoice(item, q.Choices) {
				msgs = append(msgs, notAChoice(item, name, q.Choices))
			}
		}
	case awx.QuestionMultipleChoice:
		if !isChoice(v, q.Choices) {
			msgs = append(msgs, notAChoice(v, name, q.Choices))
		}
	}
	return msgs
}

func missing(q awx.Question) string { return fmt.Sprintf("'%s' value missing", q.Variable) }

func tooSmall(name, shown string, bound float64) string {
	return fmt.Sprintf("'%s' value %s is too small (must be at least %s).", name, shown, pyBound(bound))
}

func tooLarge(name, shown string, bound float64) string {
	return fmt.Sprintf("'%s' value %s is too large (must be no more than %s).", name, shown, pyBound(bound))
}

func notAChoice(v any, name string, choices []any) string {
	return fmt.Sprintf("Value %s for '%s' expected to be one of %s.", pyrepr.Str(v), name, pyrepr.Repr(choices))
}

// unrepresentable is Countersign's own message: AWX would take such a
// value, but the extra_vars Countersign sends could not carry it unchanged.
func unrepresentable(name string) string {
	return fmt.Sprintf("'%s' value cannot be passed to AWX unchanged: numbers must be 64-bit integers or finite floating-point numbers.", name)
}

// isChoice is Python's `v in choices`, for the normalized answer v: a
// string equals the same string only; numbers and booleans compare by
// value (1 == 1.0 == True), integers exactly. So the choice "1" takes only
// the answer "1", and the choice 1 the answers 1, 1.0 and true, as in AWX.
func isChoice(v any, choices []any) bool {
	for _, c := range choices {
		if s, ok := v.(string); ok {
			if c == s {
				return true
			}
			continue
		}
		a, okA := numeric(v)
		b, okB := numeric(c)
		if okA && okB && a.Cmp(b) == 0 {
			return true
		}
	}
	return false
}

// numeric is the exact value of a number or boolean (Python's bool is an
// int), for comparing as Python compares int, float and bool.
func numeric(v any) (*big.Float, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return big.NewFloat(1), true
		}
		return big.NewFloat(0), true
	case int64:
		return new(big.Float).SetInt64(x), true
	case float64:
		return big.NewFloat(x), true
	case json.Number:
		n, err := normalizeNumber(string(x))
		if err != nil {
			return nil, false
		}
		return numeric(n)
	}
	return nil, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Preview is what extra_vars would hold with these answers as far as they
// are valid: the valid defaults, overridden by the valid answers; invalid
// and unknown answers are left out. Approval-plan previews use it while a
// form is still incomplete.
func Preview(spec awx.Survey, answers map[string]any) map[string]any {
	out := map[string]any{}
	for _, q := range spec.Spec {
		if d, ok := validDefault(q); ok {
			out[q.Variable] = d
		}
	}
	for _, q := range spec.Spec {
		raw, ok := answers[q.Variable]
		if !ok || isPlaceholder(q, raw) {
			continue
		}
		if v, err := normalize(raw); err == nil && len(check(q, v)) == 0 {
			if w, err := asWritten(raw); err == nil {
				out[q.Variable] = w
			}
		}
	}
	return out
}

// PreviewNodes is Preview for each node's survey.
func PreviewNodes(nodes map[string]awx.Survey, answers map[string]map[string]any) map[string]map[string]any {
	out := make(map[string]map[string]any, len(nodes))
	for id, spec := range nodes {
		out[id] = Preview(spec, answers[id])
	}
	return out
}

// NodeQuestionsInExtraVars refuses extra_vars answers to questions of a
// node's survey. Countersign merges node answers into the workflow's
// extra_vars, so such an answer would silently replace the node's answer
// and skip the node survey's checks; it belongs in node_survey_data.
func NodeQuestionsInExtraVars(nodes map[string]awx.Survey, extraVars map[string]any) Errors {
	errs := Errors{}
	for _, id := range sortedKeys(nodes) {
		for _, q := range nodes[id].Spec {
			if _, ok := extraVars[q.Variable]; ok {
				errs.add(Field(q.Variable), fmt.Sprintf("'%s' is a question of node %s; answer it in %s.", q.Variable, id, NodeKey(id)))
			}
		}
	}
	return errs
}
