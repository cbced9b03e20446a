package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/slackapp"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/web"
)

// linkPage calls the Slack link page as a browser with session s ("" for
// none), answering the status and the page.
func (e *env) linkPage(s portalSession, method, path string, form url.Values, csrf string) (int, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.url+path, body)
	require.NoError(e.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if s.token != "" {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: s.token})
		req.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: csrf})
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, string(page)
}

func TestPortal_SlackLink(t *testing.T) {
	e := newEnv(t, func(d *api.Deps) { d.SlackLinks = d.Store.(api.SlackLinkStore) })
	ctx := context.Background()
	st := e.stack.Store
	newLink := func(slackID string, ttl time.Duration) string {
		tok := "tok-" + slackID + "-" + ttl.String()
		require.NoError(t, st.CreateSlackLinkToken(ctx, slackapp.HashLinkToken(tok), slackID, time.Now().Add(ttl)))
		return tok
	}
	bob := e.session(approver)
	tok := newLink("U0BOB", 10*time.Minute)

	status, page := e.linkPage(portalSession{}, "GET", "/ui/slack/link?t="+tok, nil, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, "Sign in to Countersign first")

	status, page = e.linkPage(bob, "GET", "/ui/slack/link?t="+tok, nil, bob.csrf)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, "<strong>bob</strong>")
	assert.Contains(t, page, `name="csrf" value="`+bob.csrf+`"`)
	_, err := st.SlackUser(ctx, "U0BOB")
	assert.ErrorIs(t, err, store.ErrNotFound, "a GET never links")

	form := url.Values{"t": {tok}, "csrf": {"wrong"}}
	status, _ = e.linkPage(bob, "POST", "/ui/slack/link", form, bob.csrf)
	assert.Equal(t, http.StatusForbidden, status, "without the CSRF value")

	form.Set("csrf", bob.csrf)
	status, page = e.linkPage(bob, "POST", "/ui/slack/link", form, bob.csrf)
	require.Equal(t, http.StatusOK, status, page)
	assert.Contains(t, page, "now linked")
	u, err := st.SlackUser(ctx, "U0BOB")
	require.NoError(t, err)
	assert.Equal(t, approver, u.Username)

	status, _ = e.linkPage(bob, "POST", "/ui/slack/link", form, bob.csrf)
	assert.Equal(t, http.StatusGone, status, "a link is used once")

	expired := newLink("U0LATE", -time.Minute)
	status, _ = e.linkPage(bob, "GET", "/ui/slack/link?t="+expired, nil, bob.csrf)
	assert.Equal(t, http.StatusGone, status)
	status, _ = e.linkPage(bob, "GET", "/ui/slack/link?t=made-up", nil, bob.csrf)
	assert.Equal(t, http.StatusGone, status)
}
