package api_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/internal/devidp"
	"github.com/countersign/countersign/mail"
	"github.com/countersign/countersign/store"
)

const testLinkKey = "mail-link-key-0123456789abcdef0123456789"

// newMailEnv is the OIDC environment with mails' decision links turned on.
func newMailEnv(t *testing.T) (*oidcEnv, *mail.LinkKey) {
	key, err := mail.NewLinkKey(testLinkKey)
	require.NoError(t, err)
	o := newOIDCEnv(t, func(d *api.Deps) { d.MailLinkKey, d.MailLinks = key, d.Store.(*store.Store) })
	return o, key
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// confirmPage opens a link's confirm page in b, without following
// redirects.
func (o *oidcEnv) confirmPage(b *browser, token string) (*http.Response, string) {
	u, err := url.Parse(o.api + "/ui/mail/decide?t=" + token)
	require.NoError(o.t, err)
	return b.visit(u)
}

// confirm posts the confirm page's form as b, with the CSRF value the page
// gave, and reason.
func (o *oidcEnv) confirm(b *browser, token, page, reason string) (*http.Response, string) {
	o.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	require.NotNil(o.t, m, "the page has the form: %s", page)
	stop := &http.Client{Jar: b.jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b.read(stop.PostForm(o.api+"/ui/mail/decide", url.Values{"t": {token}, "csrf": {m[1]}, "reason": {reason}}))
}

func (o *oidcEnv) status(id int64) string {
	o.t.Helper()
	return o.must(http.StatusOK, orgAdmin, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)["status"].(string)
}

func TestMailLinks(t *testing.T) {
	o, key := newMailEnv(t)
	_, restart := o.catalog()
	link := func(user string, id int64, action approval.Action) string {
		return key.Sign(mail.NewLink(user, id, 0, action, time.Now().Add(time.Hour)))
	}

	t.Run("the confirm page decides nothing; confirming decides on channel email", func(t *testing.T) {
		id := o.submitAndWait(requester, restart, restartServiceAnswers(), approver)
		token := link(approver, id, approval.ActionApprove)
		b := o.browser()
		resp, page := o.confirmPage(b, token)
		require.Equal(t, http.StatusOK, resp.StatusCode, page)
		assert.Contains(t, page, "Approve request")
		assert.Contains(t, page, "stuck workers")
		assert.Contains(t, page, "<li>service_name: worker</li>", "what is decided: the answers")
		assert.Equal(t, "pending_approval", o.status(id), "a GET never decides")

		resp, done := o.confirm(b, token, page, "fine by mail")
		require.Equal(t, http.StatusOK, resp.StatusCode, done)
		assert.Contains(t, done, fmt.Sprintf("You approved request %d", id))
		r := o.must(http.StatusOK, orgAdmin, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		resp0 := r["stages"].([]any)[0].(map[string]any)["responses"].([]any)[0].(map[string]any)
		assert.Equal(t, "email", resp0["channel"])
		assert.Equal(t, approver, resp0["user"])
		assert.Equal(t, "fine by mail", resp0["comment"])

		t.Run("a used link is refused", func(t *testing.T) {
			resp, again := o.confirmPage(o.browser(), token)
			assert.Equal(t, http.StatusConflict, resp.StatusCode)
			assert.Contains(t, again, "link_used")
		})
	})

	t.Run("refusals", func(t *testing.T) {
		id := o.submitAndWait(requester, restart, restartServiceAnswers(), approver)
		token := link(approver, id, approval.ActionApprove)
		enc, sig, _ := strings.Cut(token, ".")
		for name, tc := range map[string]struct {
			token  string
			status int
			code   string
		}{
			"tampered":        {enc[:len(enc)-2] + "AA." + sig, http.StatusForbidden, "link_invalid"},
			"another key's":   {mustKey(t, strings.Repeat("k", 32)).Sign(mail.NewLink(approver, id, 0, approval.ActionApprove, time.Now().Add(time.Hour))), http.StatusForbidden, "link_invalid"},
			"not a token":     {"<script>", http.StatusBadRequest, "link_invalid"},
			"expired":         {key.Sign(mail.NewLink(approver, id, 0, approval.ActionApprove, time.Now().Add(-time.Second))), http.StatusConflict, "link_expired"},
			"another stage":   {key.Sign(mail.NewLink(approver, id, 1, approval.ActionApprove, time.Now().Add(time.Hour))), http.StatusConflict, "stage_not_open"},
			"not an approver": {link(otherTeam, id, approval.ActionApprove), 0, ""},
		} {
			t.Run(name, func(t *testing.T) {
				resp, page := o.confirmPage(o.browser(), url.QueryEscape(tc.token))
				if tc.code == "" {
					// The page shows; the rules refuse at confirmation.
					require.Equal(t, http.StatusOK, resp.StatusCode, page)
					b := o.browser()
					_, page = o.confirmPage(b, tc.token)
					resp, page = o.confirm(b, tc.token, page, "")
					assert.Equal(t, http.StatusForbidden, resp.StatusCode, page)
					assert.Contains(t, page, "not_eligible")
					return
				}
				assert.Equal(t, tc.status, resp.StatusCode, page)
				assert.Contains(t, page, `data-code="`+tc.code+`"`)
				probe := tc.token[:min(16, len(tc.token))]
				assert.NotContains(t, page, probe, "nothing of the link is echoed")
				assert.NotContains(t, page, html.EscapeString(probe), "nothing of the link is echoed, escaped or not")
			})
		}

		t.Run("forwarded: signed in as someone else", func(t *testing.T) {
			b := o.browser()
			o.signIn(b, approver2)
			resp, page := o.confirmPage(b, token)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Contains(t, page, "link_forwarded")
			assert.Contains(t, page, "this link was sent to bob")
		})

		t.Run("a post without the CSRF value", func(t *testing.T) {
			b := o.browser()
			resp, body := b.read(b.http.PostForm(o.api+"/ui/mail/decide", url.Values{"t": {token}}))
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, body)
		})

		t.Run("a rejection needs a reason; the link still works after", func(t *testing.T) {
			reject := link(approver, id, approval.ActionReject)
			b := o.browser()
			_, page := o.confirmPage(b, reject)
			resp, again := o.confirm(b, reject, page, "")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, again)
			assert.Contains(t, again, "reason_required")
			resp, done := o.confirm(b, reject, again, "not during the freeze")
			require.Equal(t, http.StatusOK, resp.StatusCode, done)
			assert.Contains(t, done, "You rejected request")
			assert.Equal(t, "rejected", o.status(id))

			t.Run("the request's own rules refuse another link", func(t *testing.T) {
				resp, page := o.confirmPage(o.browser(), token)
				assert.Equal(t, http.StatusConflict, resp.StatusCode)
				assert.Contains(t, page, "request_finished")
			})
		})
	})

	t.Run("a stage requiring a recent sign-in sends the browser through the sign-in first", func(t *testing.T) {
		o.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
			"organization": o.orgID(), "name": "restarts need a fresh login", "priority": 1,
			"stages": []map[string]any{{"name": "SRE", "approver_team": o.teamID("sre"), "require_recent_login": "15m"}},
		})
		id := o.submitAndWait(requester, restart, restartServiceAnswers(), approver)
		token := link(approver, id, approval.ActionApprove)
		b := o.browser()
		resp, _ := o.confirmPage(b, token)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		next := "/ui/mail/decide?t=" + token
		assert.Equal(t, "/ui/signin/again?"+url.Values{"next": {next}, "within": {"15m0s"}}.Encode(), resp.Header.Get("Location"))

		// The provider asks for the login, then sends the browser back to
		// the confirm page.
		stop := &http.Client{Jar: b.jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, _ = b.read(stop.Get(o.api + resp.Header.Get("Location")))
		require.Equal(t, http.StatusFound, resp.StatusCode)
		resp, body := b.read(b.http.Get(resp.Header.Get("Location")))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		action, fields := loginForm(t, body)
		fields.Set("username", approver)
		fields.Set("password", devidp.DemoPassword(approver))
		resp, body = b.read(b.http.PostForm(resp.Request.URL.ResolveReference(action).String(), fields))
		require.Equal(t, http.StatusFound, resp.StatusCode, body)
		cb, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		resp, body = b.visit(cb)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		assert.Equal(t, next, resp.Header.Get("Location"), "back to the confirm page")

		resp, page := o.confirmPage(b, token)
		require.Equal(t, http.StatusOK, resp.StatusCode, page)
		resp, done := o.confirm(b, token, page, "")
		require.Equal(t, http.StatusOK, resp.StatusCode, done)
		r := o.must(http.StatusOK, orgAdmin, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		resp0 := r["stages"].([]any)[0].(map[string]any)["responses"].([]any)[0].(map[string]any)
		assert.Equal(t, "email", resp0["channel"])
		assert.NotNil(t, resp0["signed_in_at"])
	})
}

// The same decision through the REST API and through a mail's link ends in
// the same state, but for its channel.
func TestMailLinks_SameDecisionAsREST(t *testing.T) {
	o, key := newMailEnv(t)
	_, restart := o.catalog()
	byREST := o.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	byMail := o.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	byPortal := o.submitAndWait(requester, restart, restartServiceAnswers(), approver)

	o.must(http.StatusOK, approver, "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", byREST), map[string]any{"comment": "same"})
	token := key.Sign(mail.NewLink(approver, byMail, 0, approval.ActionApprove, time.Now().Add(time.Hour)))
	b := o.browser()
	_, page := o.confirmPage(b, token)
	resp, done := o.confirm(b, token, page, "same")
	require.Equal(t, http.StatusOK, resp.StatusCode, done)
	portal := o.browser()
	o.signIn(portal, approver)
	status, out := o.decideAsPortal(portal, byPortal, "approve", map[string]any{"comment": "same"})
	require.Equal(t, http.StatusOK, status, "%v", out)

	// The stage as each channel left it, without its times and its channel.
	stage := func(id int64, channel string) map[string]any {
		r := o.must(http.StatusOK, orgAdmin, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		st := r["stages"].([]any)[0].(map[string]any)
		for _, volatile := range []string{"opened_at", "decided_at", "deadline"} {
			delete(st, volatile)
		}
		responses := st["responses"].([]any)
		require.Len(t, responses, 1)
		resp := responses[0].(map[string]any)
		assert.Equal(t, channel, resp["channel"])
		// Only a portal session vouches for a sign-in time.
		assert.Equal(t, channel == "portal", resp["signed_in_at"] != nil, "signed_in_at of %s", channel)
		for _, volatile := range []string{"at", "channel", "signed_in_at"} {
			delete(resp, volatile)
		}
		return st
	}
	rest := stage(byREST, "api")
	assert.Equal(t, rest, stage(byMail, "email"), "an e-mail link decides as REST does")
	assert.Equal(t, rest, stage(byPortal, "portal"), "the portal decides as REST does")
	assert.Equal(t, "same", rest["responses"].([]any)[0].(map[string]any)["comment"], "what is compared is the decision itself")
}

func mustKey(t *testing.T, k string) *mail.LinkKey {
	key, err := mail.NewLinkKey(k)
	require.NoError(t, err)
	return key
}

// A mail's links expire at the deadline of the stage they were sent for;
// an extension of that stage extends them while it is open: a link
// mailed before the extension, opened after the deadline it was mailed
// with but before the extended one, still decides, and its use is kept
// until the extended deadline.
func TestMailLinks_ExtendedStageExtendsItsLinks(t *testing.T) {
	key, err := mail.NewLinkKey(testLinkKey)
	require.NoError(t, err)
	// The portal's clock, moved forward past the first deadline for the
	// confirm page; decisions are signed on it, so it is back for them.
	var ahead atomic.Int64
	o := newOIDCEnv(t, func(d *api.Deps) {
		d.MailLinkKey, d.MailLinks = key, d.Store.(*store.Store)
		d.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	id := o.extendableRestart()
	detail := o.must(http.StatusOK, approver, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	first, err := time.Parse(time.RFC3339Nano, stageOf(detail, 0)["deadline"].(string))
	require.NoError(t, err)
	token := key.Sign(mail.NewLink(approver, id, 0, approval.ActionApprove, first)) // as mailed

	ahead.Store(int64(25 * time.Hour))
	resp, page := o.confirmPage(o.browser(), token)
	require.Equal(t, http.StatusConflict, resp.StatusCode, "past its deadline: %s", page)
	assert.Contains(t, page, `data-code="link_expired"`)

	ahead.Store(0)
	o.must(http.StatusOK, orgAdmin, "POST", fmt.Sprintf("/api/v2/service_requests/%d/extend/", id), map[string]any{"by": "2h", "reason": "change window"})
	ahead.Store(int64(25 * time.Hour))
	resp, page = o.confirmPage(o.browser(), token)
	require.Equal(t, http.StatusOK, resp.StatusCode, "within the extended deadline: %s", page)

	ahead.Store(0)
	b := o.browser()
	_, page = o.confirmPage(b, token)
	resp, done := o.confirm(b, token, page, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, done)
	assert.NotEqual(t, "pending_approval", o.status(id), "approved, and on its way to launch")
	var expires time.Time
	require.NoError(t, o.stack.Store.DB().Get(&expires, `SELECT expires FROM mail_links_used WHERE request_id = $1`, id))
	assert.WithinDuration(t, first.Add(2*time.Hour), expires, time.Second, "the use is kept until the extended deadline")
}
