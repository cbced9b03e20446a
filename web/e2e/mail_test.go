package e2e_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/mail"
	"github.com/countersign/countersign/mail/catcher"
	"github.com/countersign/countersign/notify"
)

const e2eLinkKey = "e2e-mail-link-key-0123456789abcdef0123"

var approveLink = regexp.MustCompile(`Approve: (\S+)`)

// An approver reads the pending mail (sent over SMTP with STARTTLS and
// AUTH), follows its Approve link from the mail page, and confirms in the
// portal without signing in: the request is approved on channel email.
func TestMail_ApproveFromALink(t *testing.T) {
	srvTLS, cliTLS, err := catcher.SelfSigned()
	require.NoError(t, err)
	box, err := catcher.Listen("127.0.0.1:0", catcher.Options{TLS: srvTLS, Users: map[string]string{"countersign": "smtp-password"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	page := httptest.NewServer(box)
	t.Cleanup(page.Close)
	key, err := mail.NewLinkKey(e2eLinkKey)
	require.NoError(t, err)

	var portalURL atomic.Pointer[string]
	s := startStackWith(t, func(ts *testkit.Stack) {
		sender, err := mail.New("smtp://countersign:smtp-password@"+box.Addr(), "Countersign <countersign@acme.example>")
		require.NoError(t, err)
		sender.TLS = cliTLS
		// The portal's address is known once its listener is open; links
		// are made when mails go out, after that.
		sender.Links = func(n notify.Notification, to notify.Recipient) (*mail.Links, error) {
			return key.Links(*portalURL.Load())(n, to)
		}
		ts.Activities.Channels = []notify.Channel{{Name: notify.ChannelWebhook, Notifier: ts.Notifier}, {Name: "mail", Notifier: sender}}
	}, func(st *stack, d *api.Deps) {
		d.DevTokens = true
		portalURL.Store(&st.url)
		d.MailLinkKey, d.MailLinks = key, st.store
	})
	_, restart := s.catalog()
	created := s.call(http.StatusCreated, "alice", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "stuck workers", "extra_vars": map[string]any{"service_name": "worker"}})
	id := int64(created["id"].(float64))

	var toBob *catcher.Message
	testkit.Eventually(t, 60*time.Second, "the pending mail to bob", func() bool {
		for _, m := range box.Messages() {
			if len(m.To) == 1 && m.To[0] == "bob@acme.example" {
				toBob = &m
				return true
			}
		}
		return false
	})
	assert.True(t, toBob.TLS)
	assert.Equal(t, fmt.Sprintf("Request %d (Restart service) needs your approval", id), toBob.Subject)
	assert.Contains(t, toBob.HTML, ">Approve</a>")
	link := approveLink.FindStringSubmatch(toBob.Text)
	require.NotNil(t, link, toBob.Text)

	b := newBrowser(t, s.url)
	b.do("opening the caught mails", chromedp.Navigate(page.URL))
	b.waitFor(`article.mail a[href^="`+s.url+`/ui/mail/decide"]`, "the mail page with the links")
	b.screenshot("mail-page")
	b.do("following bob's Approve link", chromedp.Navigate(link[1]))
	b.waitFor("#mail-confirm", "the confirm page")
	assert.Equal(t, "bob", b.text("#mail-user"))
	assert.Equal(t, "stuck workers", b.text("#mail-justification"))
	b.screenshot("mail-confirm")
	assert.Equal(t, "pending_approval", s.call(http.StatusOK, "erin", "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)["status"],
		"opening the link decided nothing")

	b.do("writing a comment", chromedp.SendKeys("#reason", "approved from my mail"))
	b.click("confirming", "#mail-confirm")
	b.waitFor("#mail-done", "the decision taken")
	assert.Contains(t, b.text("#mail-done"), fmt.Sprintf("You approved request %d (Restart service)", id))
	b.screenshot("mail-done")

	r := s.call(http.StatusOK, "erin", "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	resp0 := r["stages"].([]any)[0].(map[string]any)["responses"].([]any)[0].(map[string]any)
	assert.Equal(t, "email", resp0["channel"])
	assert.Equal(t, "bob", resp0["user"])
	assert.Equal(t, "approved from my mail", resp0["comment"])

	b.do("following the link again", chromedp.Navigate(link[1]))
	b.waitFor("#mail-refusal", "the refusal")
	assert.Contains(t, b.text("#mail-refusal-code"), "link_used")

	// The request's timeline says how the decision came.
	b.signIn("erin")
	b.route(fmt.Sprintf("#/requests/%d", id))
	b.waitFor(`.timeline .via[data-channel="email"]`, "the decision's channel in the timeline")
	assert.Equal(t, "from an e-mail link", b.text(`.timeline .via[data-channel="email"]`))
	b.screenshot("mail-timeline")
	b.checkNoExceptions()
}
