package survey_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/survey"
)

func TestConflicts(t *testing.T) {
	template := surveyOf(t, `[
		{"type": "text", "variable": "region", "required": false},
		{"type": "text", "variable": "owner", "required": false}
	]`)
	nodes := map[string]awx.Survey{
		"build":  surveyOf(t, `[{"type": "text", "variable": "region", "required": false}, {"type": "text", "variable": "image", "required": false}]`),
		"deploy": surveyOf(t, `[{"type": "text", "variable": "image", "required": false}, {"type": "text", "variable": "region", "required": false}]`),
		"notify": surveyOf(t, `[{"type": "text", "variable": "channel", "required": false}]`),
	}
	assert.Equal(t, []string{
		"'image' is asked by node build, node deploy",
		"'region' is asked by the workflow survey, node build, node deploy",
	}, survey.Conflicts(template, nodes))

	assert.Empty(t, survey.Conflicts(template, map[string]awx.Survey{"notify": nodes["notify"]}))
	assert.Empty(t, survey.Conflicts(awx.Survey{}, nil))
	assert.Empty(t, survey.Conflicts(
		surveyOf(t, `[{"type": "text", "variable": "x"}, {"type": "text", "variable": "x"}]`), nil),
		"a variable repeated inside one survey is not a conflict between surveys")
}

func TestSecrets(t *testing.T) {
	spec := surveyOf(t, `[
		{"type": "password", "variable": "zz_token"},
		{"type": "text", "variable": "name"},
		{"type": "password", "variable": "api_key"}
	]`)
	assert.Equal(t, []string{"zz_token", "api_key"}, survey.Secrets(spec))
	assert.Empty(t, survey.Secrets(fixtureSurvey(t)))

	nodes := workflowNodes(t)
	nodes["other"] = spec
	assert.Equal(t, []string{"api_key", "db_password", "zz_token"}, survey.NodeSecrets(nodes))
	assert.Empty(t, survey.NodeSecrets(nil))
}

func TestMask(t *testing.T) {
	spec := surveyOf(t, `[
		{"type": "password", "variable": "pw"},
		{"type": "password", "variable": "pw_number"},
		{"type": "password", "variable": "pw_unanswered"},
		{"type": "text", "variable": "name"}
	]`)
	vars := map[string]any{
		"pw":        "hunter2",
		"pw_number": int64(1234),
		"name":      "db1",
		"other":     map[string]any{"list": []any{"a"}},
	}
	masked := survey.Mask(spec, vars)
	assert.Equal(t, map[string]any{
		"pw":        "$encrypted$",
		"pw_number": "$encrypted$",
		"name":      "db1",
		"other":     map[string]any{"list": []any{"a"}},
	}, masked)

	masked["other"].(map[string]any)["list"].([]any)[0] = "changed"
	masked["name"] = "changed"
	assert.Equal(t, map[string]any{
		"pw":        "hunter2",
		"pw_number": int64(1234),
		"name":      "db1",
		"other":     map[string]any{"list": []any{"a"}},
	}, vars, "the input must not change, even through the copy")

	assert.Nil(t, survey.Mask(spec, nil))
	assert.Equal(t, map[string]any{"pw": "plain"}, survey.Mask(awx.Survey{}, map[string]any{"pw": "plain"}))
}

func TestMaskNodes(t *testing.T) {
	nodes := workflowNodes(t)
	data := map[string]map[string]any{
		"create-database": {"db_size": "large", "db_password": "correct horse"},
		"notify":          {"channel": "#ops"},
	}
	masked := survey.MaskNodes(nodes, data)
	assert.Equal(t, map[string]map[string]any{
		"create-database": {"db_size": "large", "db_password": "$encrypted$"},
		"notify":          {"channel": "#ops"},
	}, masked)
	assert.Equal(t, "correct horse", data["create-database"]["db_password"], "the input must not change")

	masked["notify"]["channel"] = "changed"
	assert.Equal(t, "#ops", data["notify"]["channel"])
	assert.Nil(t, survey.MaskNodes(nodes, nil))
}
