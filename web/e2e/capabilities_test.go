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

// TestPortal_SuperuserDecidesOnTheRequestPage: the request page offers
// the actions the server grants the user (summary_fields.user_capabilities),
// not ones the page works out itself. admin, a superuser outside sre, may
// decide any stage (approval.Request.Check), so their page of alice's
// request offers Approve and Reject, and their approval completes the
// stage; alice, its requester, is offered Cancel but no decision.
func TestPortal_SuperuserDecidesOnTheRequestPage(t *testing.T) {
	s := newStack(t)
	_, restart := s.catalog()
	id := int64(s.call(http.StatusCreated, "alice", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "stuck workers", "extra_vars": map[string]any{"service_name": "worker"}})["id"].(float64))
	route := fmt.Sprintf("#/requests/%d", id)
	approve := `.detail [data-action="approve"]`
	reject := `.detail [data-action="reject"]`
	cancel := `.detail [data-action="cancel"]`
	b := newBrowser(t, s.url)
	b.do("opening the portal", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`.dev-users`)))

	// alice may cancel her request, not decide on it.
	b.signIn("alice")
	b.route(route)
	b.do("alice's request", chromedp.WaitVisible(chromedp.CSS(`.detail .badge[data-status="pending_approval"]`)))
	b.until(60*time.Second, "alice to be offered Cancel", nil, func() bool { return b.present(cancel) })
	assert.False(t, b.present(approve), "the requester is offered Approve")
	assert.False(t, b.present(reject), "the requester is offered Reject")
	b.signOut()

	// admin is in no team, yet may decide: the page says so.
	require.NotContains(t, s.call(http.StatusOK, "admin", "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)["pending_approvers"],
		"admin", "superusers are not listed among the approvers")
	b.signIn("admin")
	b.route(route)
	b.do("the request's page as admin", chromedp.WaitVisible(chromedp.CSS(`.detail .badge[data-status="pending_approval"]`)))
	b.until(60*time.Second, "admin to be offered Approve and Reject", nil, func() bool { return b.present(approve) && b.present(reject) })
	b.screenshot("superuser-may-decide")
	b.do("approving as admin", chromedp.Click(chromedp.CSS(approve)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` textarea`)),
		chromedp.SendKeys(chromedp.CSS(dialog+` textarea`), "approved on behalf of sre"),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	b.until(60*time.Second, "admin's approval on the timeline", nil, func() bool {
		return strings.Contains(b.text(`.timeline`), "admin approved Stage 1")
	})
	assert.False(t, b.present(approve), "Approve is still offered after the stage was decided")
	assert.False(t, b.present(reject), "Reject is still offered after the stage was decided")
	assert.False(t, b.present(`.detail .badge[data-status="pending_approval"]`), "the approval did not move the request on")

	// The job runs; once it is done, nothing is offered but what the
	// server still grants.
	b.until(120*time.Second, "the request to succeed (the page refreshes itself)", nil,
		func() bool { return b.present(`.detail .badge[data-status="successful"]`) })
	assert.Contains(t, b.text(`.timeline`), "The job succeeded")
	assert.False(t, b.present(cancel), "a finished request offers Cancel")
	req := s.call(http.StatusOK, "admin", "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	assert.NotNil(t, req["finished"])
	b.screenshot("superuser-decided")
	b.checkNoExceptions()
}
