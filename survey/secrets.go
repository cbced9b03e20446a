package survey

import (
	"fmt"
	"sort"
	"strings"

	"github.com/countersign/countersign/awx"
)

// Conflicts lists the variables asked by more than one survey among a
// workflow's own survey and its nodes' surveys, one line per variable in
// lexical order, e.g. "'region' is asked by the workflow survey, node
// deploy". Countersign merges all answers into one extra_vars, so a catalog
// item with conflicts must be refused: which answer wins would be a guess.
// A variable repeated inside a single survey is not reported (AWX refuses
// such a survey).
func Conflicts(template awx.Survey, nodes map[string]awx.Survey) []string {
	where := map[string][]string{}
	note := func(s awx.Survey, place string) {
		seen := map[string]bool{}
		for _, q := range s.Spec {
			if !seen[q.Variable] {
				seen[q.Variable] = true
				where[q.Variable] = append(where[q.Variable], place)
			}
		}
	}
	note(template, "the workflow survey")
	for _, id := range sortedKeys(nodes) {
		note(nodes[id], "node "+id)
	}
	var out []string
	for _, v := range sortedKeys(where) {
		if len(where[v]) > 1 {
			out = append(out, fmt.Sprintf("'%s' is asked by %s", v, strings.Join(where[v], ", ")))
		}
	}
	return out
}

// Secrets returns the variables of the password questions of spec, in
// question order, each once.
func Secrets(spec awx.Survey) []string {
	var out []string
	seen := map[string]bool{}
	for _, q := range spec.Spec {
		if q.Type == awx.QuestionPassword && !seen[q.Variable] {
			seen[q.Variable] = true
			out = append(out, q.Variable)
		}
	}
	return out
}

// NodeSecrets returns the variables of the password questions of all node
// surveys, in lexical order, each once.
func NodeSecrets(nodes map[string]awx.Survey) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range nodes {
		for _, v := range Secrets(s) {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Mask returns a deep copy of vars in which the answer to every password
// question of spec, whatever its value, reads Encrypted: the form in which
// Countersign stores and shows answers, as AWX shows a job's extra_vars.
// Other values are copied unchanged. vars is never modified; a nil vars
// gives nil.
func Mask(spec awx.Survey, vars map[string]any) map[string]any {
	if vars == nil {
		return nil
	}
	secret := map[string]bool{}
	for _, v := range Secrets(spec) {
		secret[v] = true
	}
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		if secret[k] {
			out[k] = Encrypted
		} else {
			out[k] = deepCopy(v)
		}
	}
	return out
}

// MaskNodes applies Mask to each node's answers with that node's survey.
// Answers of a node missing from nodes are copied unmasked: they have no
// password questions to hide (ValidateNodes refuses them anyway). data is
// never modified; a nil data gives nil.
func MaskNodes(nodes map[string]awx.Survey, data map[string]map[string]any) map[string]map[string]any {
	if data == nil {
		return nil
	}
	out := make(map[string]map[string]any, len(data))
	for id, vars := range data {
		out[id] = Mask(nodes[id], vars)
	}
	return out
}
