package requests

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/store"
)

// AnswerLines lists request r's answers as text for a channel that shows
// the request to whoever decides it (a Slack message, a mail's confirm
// page): "name: value" and "node / name: value", sorted, each value cut
// to maxValue runes (a string as it is, anything else as JSON), at most
// max lines and then one saying how many more. Password answers are
// stored masked and show so.
func AnswerLines(r store.Request, max, maxValue int) []string {
	var out []string
	var vars map[string]any
	if json.Unmarshal(r.ExtraVars, &vars) == nil {
		for _, k := range sortedKeys(vars) {
			out = append(out, k+": "+answerText(vars[k], maxValue))
		}
	}
	var nodes map[string]map[string]any
	if json.Unmarshal(r.NodeSurveyData, &nodes) == nil {
		for _, n := range sortedKeys(nodes) {
			for _, k := range sortedKeys(nodes[n]) {
				out = append(out, n+" / "+k+": "+answerText(nodes[n][k], maxValue))
			}
		}
	}
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("… and %d more in the portal", len(out)-max))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func answerText(v any, maxValue int) string {
	s, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v)
		s = string(b)
	}
	return notify.Cut(s, maxValue)
}
