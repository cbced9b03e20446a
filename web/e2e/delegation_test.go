package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPortal_Delegation: bob, going away, delegates to dave on his
// Delegations page while alice's request waits for sre; the request
// reaches dave's inbox, dave approves it, and its timeline says on whose
// behalf. bob then takes the delegation back.
func TestPortal_Delegation(t *testing.T) {
	s := newStack(t)
	_, restart := s.catalog()
	id := int64(s.call(http.StatusCreated, "alice", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart), map[string]any{
		"justification": "stuck worker", "extra_vars": map[string]any{"service_name": "api"},
	})["id"].(float64))
	dave, err := s.store.GetUserByUsername(context.Background(), "dave")
	require.NoError(t, err)

	b := newBrowser(t, s.url)
	b.do("opening the portal", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`.dev-users`)))
	b.signIn("bob")
	b.route("#/delegations")
	form := `form[aria-label="New delegation"]`
	b.do("the delegations page", chromedp.WaitVisible(chromedp.CSS(form)))
	assert.Contains(t, b.text(`section[aria-label="My delegations"]`), "You have not delegated your decisions.")
	b.do("delegating without an end", chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(form+` [data-key="delegate"] ul.errors li`)))
	b.choose(form+` [data-key="delegate"] select`, strconv.FormatInt(dave.ID, 10))
	ends := time.Now().Add(72 * time.Hour).Format("2006-01-02T15:04")
	b.do("delegating to dave", chromedp.SetValue(chromedp.CSS(form+` [data-key="ends"] input`), ends),
		chromedp.SendKeys(chromedp.CSS(form+` [data-key="reason"] input`), "on leave"),
		chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-delegation]`)))
	row := b.text(`tr[data-delegation]`)
	assert.Contains(t, row, "dave")
	assert.Contains(t, row, "Active")
	b.screenshot("delegations")
	b.signOut()

	b.signIn("dave")
	b.route("#/approvals")
	card := fmt.Sprintf(`article[data-request="%d"]`, id)
	b.until(60*time.Second, "alice's request in dave's inbox", func() { b.do("refreshing", chromedp.Click(chromedp.CSS(`.page-head .actions button`))) },
		func() bool { return b.present(card) })
	b.do("approving for bob", chromedp.Click(chromedp.CSS(card+` button.btn-ok`)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` textarea`)),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(dialog)), chromedp.WaitNotPresent(chromedp.CSS(card)))
	b.route(fmt.Sprintf("#/requests/%d", id))
	b.until(60*time.Second, "the approval in the timeline", nil, func() bool {
		return b.present(`.timeline`) && strings.Contains(b.text(`.timeline`), "dave on behalf of bob approved Stage 1")
	})
	b.screenshot("approved-on-behalf")
	b.signOut()

	b.signIn("bob")
	b.route("#/delegations")
	b.do("taking the delegation back", chromedp.WaitVisible(chromedp.CSS(`tr[data-delegation] button.btn-danger`)),
		chromedp.Click(chromedp.CSS(`tr[data-delegation] button.btn-danger`)),
		chromedp.WaitVisible(chromedp.CSS(dialog)),
		chromedp.Click(chromedp.CSS(dialog+` button.btn-danger`)),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-delegation]`)))
	b.checkNoExceptions()
}
