package requests_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

func TestAnswerLines(t *testing.T) {
	r := store.Request{
		ExtraVars:      []byte(`{"service_name": "nginx", "replicas": 3, "db_password": "$encrypted$", "tags": ["a", "b"], "note": "` + strings.Repeat("é", 14) + `"}`),
		NodeSurveyData: []byte(`{"deploy-app": {"version": "1.2"}}`),
	}
	assert.Equal(t, []string{
		"db_password: $encrypted$",
		"note: éééééééééééé…",
		"replicas: 3",
		"service_name: nginx",
		`tags: ["a","b"]`,
		"deploy-app / version: 1.2",
	}, requests.AnswerLines(r, 10, 12), "sorted, nodes after, values cut to 12 runes")

	assert.Equal(t, []string{"db_password: $encrypted$", "note: éééééééééééé…", "… and 4 more in the portal"},
		requests.AnswerLines(r, 2, 12))
	assert.Empty(t, requests.AnswerLines(store.Request{}, 10, 10), "no answers")
}
