package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPortal_ExtendTheDeadline: a stage whose policy allows extensions
// offers Extend deadline to its approvers (the server's extend
// capability), not to the requester; an extension beyond max_extension is
// refused in the dialog with the server's reason, and one within it moves
// the deadline and shows on the timeline. An org admin then escalates
// the stage to another team from its own dialog.
func TestPortal_ExtendTheDeadline(t *testing.T) {
	s := newStack(t)
	_, restart := s.catalog()
	s.call(http.StatusCreated, "erin", "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": s.org, "name": "restarts", "priority": 1, "condition": `item.name == "Restart service"`,
		"stages": []map[string]any{{"name": "SRE", "approver_team": s.teams["sre"], "timeout": "24h", "max_extension": "48h"}},
	})
	id := int64(s.call(http.StatusCreated, "alice", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "stuck workers", "extra_vars": map[string]any{"service_name": "worker"}})["id"].(float64))
	route := fmt.Sprintf("#/requests/%d", id)
	extend := `.detail [data-action="extend"]`
	b := newBrowser(t, s.url)
	b.do("opening the portal", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`.dev-users`)))

	b.signIn("alice")
	b.route(route)
	b.until(60*time.Second, "alice to be offered Cancel", nil, func() bool { return b.present(`.detail [data-action="cancel"]`) })
	assert.False(t, b.present(extend), "the requester is offered Extend deadline")
	b.signOut()

	b.signIn("bob")
	b.route(route)
	b.until(60*time.Second, "bob to be offered Extend deadline", nil, func() bool { return b.present(extend) })
	b.do("asking for too much", chromedp.Click(chromedp.CSS(extend)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` input[name="by"]`)),
		chromedp.SetValue(chromedp.CSS(dialog+` input[name="by"]`), "72h"),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)))
	b.until(30*time.Second, "the refusal in the dialog", nil, func() bool {
		return strings.Contains(b.text(dialog), "may be extended by 48h more at most")
	})
	b.screenshot("extend-refused")
	b.do("extending by a day", chromedp.SetValue(chromedp.CSS(dialog+` input[name="by"]`), "24h"),
		chromedp.SendKeys(chromedp.CSS(dialog+` textarea`), "waiting for the change window"),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	b.until(30*time.Second, "the extension on the timeline", nil, func() bool {
		return strings.Contains(b.text(`.timeline`), "bob extended the deadline of Stage 1 “SRE” by 24h0m0s")
	})
	assert.Contains(t, b.text(`.timeline`), "waiting for the change window")
	b.screenshot("extended")

	req := s.call(http.StatusOK, "bob", "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	st := req["stages"].([]any)[0].(map[string]any)
	require.Equal(t, "24h0m0s", st["extended"])
	opened, err := time.Parse(time.RFC3339Nano, st["opened_at"].(string))
	require.NoError(t, err)
	deadline, err := time.Parse(time.RFC3339Nano, st["deadline"].(string))
	require.NoError(t, err)
	assert.Equal(t, 48*time.Hour, deadline.Sub(opened), "the deadline moved by the extension")
	b.signOut()

	// erin, an org admin, escalates the stage to security.
	escalate := `.detail [data-action="escalate"]`
	b.signIn("erin")
	b.route(route)
	b.until(60*time.Second, "erin to be offered Escalate", nil, func() bool { return b.present(escalate) })
	b.do("escalating to security", chromedp.Click(chromedp.CSS(escalate)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` select[name="approver_team"]`)))
	b.choose(dialog+` select[name="approver_team"]`, fmt.Sprint(s.teams["security"]))
	b.do("sending the escalation", chromedp.SendKeys(chromedp.CSS(dialog+` textarea`), "sre is away"),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	b.until(30*time.Second, "the escalation on the timeline", nil, func() bool {
		return strings.Contains(b.text(`.timeline`), "erin escalated Stage 1 “SRE” to team security")
	})
	assert.Contains(t, b.text(`.progress`), "escalated to security")
	b.screenshot("escalated")
	b.checkNoExceptions()
}
