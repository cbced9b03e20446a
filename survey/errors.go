package survey

import (
	"sort"
	"strings"
)

// Keys of Errors for problems with a whole object rather than one answer.
const (
	// ExtraVars is the key of the template's answers; Field builds the keys
	// of single answers under it.
	ExtraVars = "extra_vars"
	// NodeSurveyData is the key of the per-node answers of a workflow;
	// NodeKey and NodeField build the keys under it.
	NodeSurveyData = "node_survey_data"
)

// Field is the Errors key of the template answer to variable.
func Field(variable string) string { return ExtraVars + "." + variable }

// NodeKey is the Errors key of the answers given for the workflow node with
// the given identifier.
func NodeKey(node string) string { return NodeSurveyData + "." + node }

// NodeField is the Errors key of a node's answer to variable.
func NodeField(node, variable string) string { return NodeKey(node) + "." + variable }

// Errors holds validation messages keyed by the path of what they are
// about (see Field, NodeKey, NodeField). For a given input the keys and the
// order of the messages under each key are always the same: messages
// follow the survey's question order and AWX's order of checks within a
// question. A nil or empty Errors means the answers are valid.
type Errors map[string][]string

// Err returns e as an error, or nil when e holds no messages. Use it rather
// than converting e to error directly: a nil map in an error interface is
// not a nil error.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Error lists every message, keys in lexical order, as
// "key: message; key: message".
func (e Errors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, msg := range e[k] {
			parts = append(parts, k+": "+msg)
		}
	}
	return strings.Join(parts, "; ")
}

func (e Errors) add(key string, msgs ...string) {
	if len(msgs) > 0 {
		e[key] = append(e[key], msgs...)
	}
}
