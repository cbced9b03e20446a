package survey_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/survey"
)

func TestPreview(t *testing.T) {
	min, max := 1.0, 30.0
	spec := awx.Survey{Spec: []awx.Question{
		{Variable: "ttl_days", Type: awx.QuestionInteger, Required: true, Default: json.Number("3"), Min: &min, Max: &max},
		{Variable: "env_name", Type: awx.QuestionText, Required: true},
	}}
	assert.Equal(t, map[string]any{"ttl_days": json.Number("3")}, survey.Preview(spec, nil), "defaults, though required answers are missing")
	assert.Equal(t, map[string]any{"ttl_days": json.Number("7"), "env_name": "x"},
		survey.Preview(spec, map[string]any{"ttl_days": json.Number("7"), "env_name": "x", "other": 1}))
	assert.Equal(t, map[string]any{"ttl_days": json.Number("3")},
		survey.Preview(spec, map[string]any{"ttl_days": json.Number("99")}), "an invalid answer falls back to the default")
	assert.Equal(t, map[string]map[string]any{"db": {"ttl_days": json.Number("3")}},
		survey.PreviewNodes(map[string]awx.Survey{"db": spec}, nil))
}
