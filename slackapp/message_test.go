package slackapp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

func TestButtonValue(t *testing.T) {
	id, pos, ok := parseButtonValue(buttonValue(42, 1))
	require.True(t, ok)
	assert.Equal(t, int64(42), id)
	assert.Equal(t, 1, pos)
	for _, bad := range []string{"", "42", "42:", ":1", "x:1", "42:x", "-1:0", "42:-1", "0:0", strings.Repeat("1", 41) + ":0"} {
		_, _, ok := parseButtonValue(bad)
		assert.False(t, ok, bad)
	}
}

func TestCard(t *testing.T) {
	stage := 0
	deadline := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	r := store.Request{ID: 7, CatalogItemName: "Provision <env>", RequesterUsername: "alice",
		Justification:  "for <!channel> & co",
		ExtraVars:      json.RawMessage(`{"env_name":"demo","ttl_days":7}`),
		NodeSurveyData: json.RawMessage(`{"create-database":{"db_password":"$encrypted$","db_size":"small"}}`),
		CurrentStage:   &stage, Status: "pending_approval",
		Stages: []store.StageState{{Position: 0, Name: "SRE review", Deadline: &deadline}}}
	c := cardOf(r, "https://cs.example/")
	text := blocksJSON(t, c)

	assert.Equal(t, []string{"env_name: demo", "ttl_days: 7", "create-database / db_password: $encrypted$", "create-database / db_size: small"}, c.Answers)
	assert.Contains(t, text, "SRE review")
	assert.Contains(t, text, "2026-12-05T10:00:00Z", "the deadline's fallback text")
	assert.Contains(t, text, `"url":"https://cs.example/ui/#/requests/7"`, "a page the portal serves (web.TestPortal_ServesTheRequestPageNotificationsLinkTo)")
	assert.Contains(t, text, `"action_id":"`+actionApprove+`"`)
	assert.Contains(t, text, `"value":"7:0"`)
	assert.Contains(t, text, "&lt;!channel&gt; &amp; co", "what a requester typed cannot mention or link")
	assert.NotContains(t, text, "<!channel>")

	c.Closed = "The request is approved."
	closed := blocksJSON(t, c)
	assert.NotContains(t, closed, actionApprove, "a closed message has no decision buttons")
	assert.NotContains(t, closed, actionReject)
	assert.Contains(t, closed, actionOpen)
	assert.Contains(t, closed, "The request is approved.")
}

// blocksJSON is c's blocks as Slack receives them (without Go's HTML
// escaping, which Slack would undo).
func blocksJSON(t *testing.T, c card) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(c.Blocks()))
	return b.String()
}

func TestAnswersAreBounded(t *testing.T) {
	vars := map[string]any{}
	for i := range 40 {
		vars[strings.Repeat("k", i+1)] = strings.Repeat("v", 1000)
	}
	raw, err := json.Marshal(vars)
	require.NoError(t, err)
	c := cardOf(store.Request{ID: 1, ExtraVars: raw}, "http://x")
	require.Len(t, c.Answers, maxAnswers+1)
	assert.Equal(t, "… and 15 more in the portal", c.Answers[maxAnswers])
	for _, b := range c.Blocks() {
		out, _ := json.Marshal(b)
		assert.Less(t, len(out), 3200, "Slack refuses a section over 3000 characters")
	}
}
