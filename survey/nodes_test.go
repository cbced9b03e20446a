package survey_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/survey"
)

func workflowNodes(t *testing.T) map[string]awx.Survey {
	t.Helper()
	return map[string]awx.Survey{
		"create-database": surveyOf(t, `[
			{"type": "multiplechoice", "variable": "db_size", "required": true, "choices": ["small", "large"], "default": "small"},
			{"type": "password", "variable": "db_password", "required": false, "min": 8, "default": "$encrypted$"},
			{"type": "integer", "variable": "db_replicas", "required": false, "min": 1, "max": 3, "default": 1}
		]`),
		"notify": surveyOf(t, `[
			{"type": "text", "variable": "channel", "required": false, "default": "#ops"}
		]`),
	}
}

func TestValidateNodes(t *testing.T) {
	nodes := workflowNodes(t)
	tests := []struct {
		name    string
		answers map[string]map[string]any
		want    survey.Errors
	}{
		{
			name: "unknown node, and a node left unanswered still needs its required answers",
			answers: map[string]map[string]any{
				"ghost": {"x": 1},
			},
			want: survey.Errors{
				"node_survey_data.ghost":                   {"no such node; nodes are: create-database, notify"},
				"node_survey_data.create-database.db_size": {"'db_size' value missing"},
			},
		},
		{
			name: "errors are keyed by node and variable",
			answers: map[string]map[string]any{
				"create-database": answersOf(t, `{"db_size": "huge", "db_password": "short", "db_replicas": 4}`),
				"notify":          answersOf(t, `{"channel": 7}`),
			},
			want: survey.Errors{
				"node_survey_data.create-database.db_size":     {"Value huge for 'db_size' expected to be one of ['small', 'large']."},
				"node_survey_data.create-database.db_password": {"'db_password' value $encrypted$ is too small (length is 5 must be at least 8)."},
				"node_survey_data.create-database.db_replicas": {"'db_replicas' value 4 is too large (must be no more than 3)."},
				"node_survey_data.notify.channel":              {"Value 7 for 'channel' expected to be a string."},
			},
		},
		{
			name: "a node never accepts variables outside its survey",
			answers: map[string]map[string]any{
				"create-database": {"db_size": "large", "channel": "#db"},
			},
			want: survey.Errors{
				"node_survey_data.create-database.channel": {"'channel' is not a question of this node's survey; a node's answers may only answer its own survey."},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			effective, errs := survey.ValidateNodes(nodes, tt.answers)
			assert.Equal(t, tt.want, errs)
			assert.Error(t, errs.Err())
			assert.Nil(t, effective)
		})
	}

	t.Run("valid answers with each node's defaults", func(t *testing.T) {
		effective, errs := survey.ValidateNodes(nodes, map[string]map[string]any{
			"create-database": answersOf(t, `{"db_size": "large", "db_password": "correct horse"}`),
		})
		require.Empty(t, errs)
		assert.Equal(t, map[string]map[string]any{
			"create-database": {"db_size": "large", "db_password": "correct horse", "db_replicas": json.Number("1")},
			"notify":          {"channel": "#ops"},
		}, effective)
	})

	t.Run("a workflow without node surveys", func(t *testing.T) {
		effective, errs := survey.ValidateNodes(nil, map[string]map[string]any{"a": {}})
		assert.Equal(t, survey.Errors{"node_survey_data.a": {"no such node; this workflow has no node surveys"}}, errs)
		assert.Nil(t, effective)

		effective, errs = survey.ValidateNodes(nil, nil)
		assert.Empty(t, errs)
		assert.Empty(t, effective)
	})
}

func TestNodeQuestionsInExtraVars(t *testing.T) {
	nodes := workflowNodes(t)
	assert.Equal(t, survey.Errors{
		"extra_vars.channel": {"'channel' is a question of node notify; answer it in node_survey_data.notify."},
		"extra_vars.db_size": {"'db_size' is a question of node create-database; answer it in node_survey_data.create-database."},
	}, survey.NodeQuestionsInExtraVars(nodes, map[string]any{"channel": "#x", "db_size": "large", "other": 1}))
	assert.Empty(t, survey.NodeQuestionsInExtraVars(nodes, map[string]any{"other": 1}))
	assert.Empty(t, survey.NodeQuestionsInExtraVars(nil, map[string]any{"channel": "#x"}))
}
