package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/internal/devidp"
	"github.com/countersign/countersign/sso"
	"github.com/countersign/countersign/web"
)

const oidcCallbackPath = "/oidc/callback"

// frank is at the provider, in sre and security, and unknown to
// Countersign until he first signs in.
var frank = devidp.User{Username: "frank", Password: devidp.DemoPassword("frank"), Email: "frank@acme.example",
	GivenName: "Frank", FamilyName: "New", Groups: []string{devidp.GroupSRE, devidp.GroupSecurity}}

// oidcStack is a stack whose portal signs in through a local OpenID
// provider and nothing else, as one configured with OIDC_ISSUER and
// PORTAL_TOKEN_SIGNIN=false: the provider has the demo users and frank,
// and the group map gives its groups sre and security the demo teams of
// those names.
type oidcStack struct {
	*stack
	idp *devidp.Server
	// idpAhead is how far the provider's clock runs ahead: moved forward,
	// the logins made at the provider grow old.
	idpAhead *atomic.Int64
}

// newOIDCStack starts the provider and a stack that signs in through it;
// options change the API's Deps.
func newOIDCStack(t *testing.T, options ...func(*api.Deps)) *oidcStack {
	t.Helper()
	ahead := &atomic.Int64{}
	idp, err := devidp.Listen("127.0.0.1:0", devidp.Config{Users: append(devidp.DemoUsers(), frank),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }})
	require.NoError(t, err)
	t.Cleanup(func() { _ = idp.Close() })
	s := startStack(t, func(st *stack, d *api.Deps) {
		redirect := st.url + oidcCallbackPath
		require.NoError(t, idp.AddClient(devidp.Client{ID: "countersign", Secret: "e2e-secret", RedirectURIs: []string{redirect}}))
		gm, err := sso.ParseGroupMap(strings.NewReader(fmt.Sprintf(`{"rules": [
			{"group": "sre", "organization": %q, "team": "sre"},
			{"group": "security", "organization": %q, "team": "security"}]}`, demo.OrgName, demo.OrgName)))
		require.NoError(t, err)
		d.OIDC, err = api.DiscoverOIDC(context.Background(), api.OIDCConfig{
			Issuer: idp.Issuer(), ClientID: "countersign", ClientSecret: "e2e-secret", RedirectURL: redirect,
			Scopes: []string{"openid", "profile", "email"}, UsernameClaim: "preferred_username", GroupsClaim: "groups", GroupMap: gm,
		}, st.store)
		require.NoError(t, err)
		d.NoTokenSignIn = true
		for _, option := range options {
			option(d)
		}
	})
	return &oidcStack{stack: s, idp: idp, idpAhead: ahead}
}

// teams are the names of user's teams in Countersign.
func (s *oidcStack) teams(user string) []string {
	s.t.Helper()
	ctx := context.Background()
	u, err := s.store.GetUserByUsername(ctx, user)
	require.NoError(s.t, err, user)
	roles, err := s.store.UserRoles(ctx, u.ID)
	require.NoError(s.t, err)
	names := []string{}
	for _, team := range roles.Teams {
		names = append(names, team.Name)
	}
	return names
}

// me is the status of GET /api/v2/me/ with sessionID as the session
// cookie, outside the browser.
func (s *oidcStack) me(sessionID string) int {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.url+"/api/v2/me/", nil)
	require.NoError(s.t, err)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: sessionID})
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// toProvider follows the sign-in page's link to the provider.
func (b *browser) toProvider() {
	b.t.Helper()
	b.waitFor(`#signin-oidc`, "the link to the provider")
	b.click("following the link to the provider", `#signin-oidc`)
}

// loginAtProvider fills in and submits the provider's login form, as
// user, with a screenshot of it filled in when shot is set.
func (b *browser) loginAtProvider(user, shot string) {
	b.t.Helper()
	b.waitFor(`#password`, "the provider's login form")
	b.do("filling in the provider's login form",
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), devidp.DemoPassword(user)))
	if shot != "" {
		b.screenshot(shot)
	}
	b.click("signing in at the provider", `button[type="submit"]`)
}

// sessionCookie is the portal's session cookie as the browser holds it
// ("" when there is none); HttpOnly, so it is read through DevTools.
func (b *browser) sessionCookie() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	require.NoError(b.t, err)
	for _, c := range res.Cookies {
		if c.Name == web.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// signOutToProviderLink signs out with the portal's button and waits for
// the sign-in page.
func (b *browser) signOutToProviderLink() {
	b.t.Helper()
	b.click("signing out", `form.signout button`)
	b.waitFor(`#signin-oidc`, "the sign-in page")
}

// TestPortal_OIDCSignIn signs in through the provider's own login page:
// frank's first sign-in creates him with the teams of his groups; signing
// out revokes the session; a group removed at the provider is a team gone
// at the next sign-in; the page a user was heading to opens once signed
// in; a deactivated user reads a refusal.
func TestPortal_OIDCSignIn(t *testing.T) {
	s := newOIDCStack(t)
	b := newBrowser(t, s.url)

	t.Run("first sign-in creates the user with the teams of their groups", func(t *testing.T) {
		_, err := s.store.GetUserByUsername(context.Background(), "frank")
		require.Error(t, err, "frank is new to Countersign")
		b.do("opening the portal", chromedp.Navigate(s.url+"/"))
		b.waitFor(`#signin-oidc`, "the sign-in page")
		assert.Equal(t, "Sign in with 127.0.0.1", b.text(`#signin-oidc`))
		assert.False(t, b.present(`form[action="/ui/session"]`), "no sign-in with a token")
		b.screenshot("oidc-signin")
		b.toProvider()
		b.loginAtProvider("frank", "oidc-provider-login")
		b.waitSignedIn("frank")
		b.waitFor(`main .page-head h1`, "the catalog")
		b.screenshot("oidc-signed-in")

		u, err := s.store.GetUserByUsername(context.Background(), "frank")
		require.NoError(t, err)
		assert.Equal(t, "Frank", u.FirstName)
		assert.Equal(t, "frank@acme.example", u.Email)
		assert.ElementsMatch(t, []string{"sre", "security"}, s.teams("frank"))
		b.checkNoExceptions()
	})

	t.Run("sign-out revokes the session", func(t *testing.T) {
		old := b.sessionCookie()
		require.NotEmpty(t, old)
		require.Equal(t, http.StatusOK, s.me(old))
		b.signOutToProviderLink()
		b.screenshot("oidc-signed-out")
		assert.Empty(t, b.sessionCookie(), "the cookie is cleared")
		assert.Equal(t, http.StatusUnauthorized, s.me(old), "a copy of the cookie is worth nothing")
	})

	t.Run("a group removed at the provider removes the team at the next sign-in", func(t *testing.T) {
		require.NoError(t, s.idp.SetGroups("frank", devidp.GroupSRE))
		b.toProvider() // the provider lets the browser through on its earlier login
		b.waitSignedIn("frank")
		assert.Equal(t, []string{"sre"}, s.teams("frank"))
		b.signOutToProviderLink()
	})

	t.Run("the page a user was heading to opens once signed in", func(t *testing.T) {
		_, restart := s.catalog()
		id := int64(s.call(http.StatusCreated, "alice", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
			map[string]any{"justification": "stuck workers", "extra_vars": map[string]any{"service_name": "worker"}})["id"].(float64))
		route := fmt.Sprintf("#/requests/%d", id)
		alice := newBrowser(t, s.url)
		alice.do("opening a link to alice's request", chromedp.Navigate(s.url+"/"+route))
		alice.waitFor(`#signin-oidc`, "the sign-in page")
		assert.Equal(t, "/ui/signin/oidc?next="+url.QueryEscape(route),
			eval[string](alice, `document.querySelector('#signin-oidc').getAttribute('href')`))
		alice.toProvider()
		alice.loginAtProvider("alice", "")
		alice.waitSignedIn("alice")
		alice.waitFor(`.detail .badge[data-status="pending_approval"]`, "alice's request")
		assert.Equal(t, route, eval[string](alice, `location.hash`))
		alice.screenshot("oidc-deep-link")
		alice.checkNoExceptions()
	})

	t.Run("a user deactivated in Countersign reads a refusal", func(t *testing.T) {
		u, err := s.store.GetUserByUsername(context.Background(), "bob")
		require.NoError(t, err)
		s.call(http.StatusOK, "admin", "PATCH", fmt.Sprintf("/api/v2/users/%d/", u.ID), map[string]any{"is_active": false})
		bob := newBrowser(t, s.url)
		bob.do("opening the portal", chromedp.Navigate(s.url+"/"))
		bob.toProvider()
		bob.loginAtProvider("bob", "")
		bob.waitFor(`#signin-error`, "the refusal")
		assert.Equal(t, "Your Countersign account is deactivated. Ask an administrator.", bob.text(`#signin-error`))
		assert.True(t, bob.present(`#signin-oidc`), "the sign-in page, with its link to the provider")
		assert.False(t, bob.present(`#whoami`))
		assert.Empty(t, bob.sessionCookie())
		bob.screenshot("oidc-deactivated")
		bob.checkNoExceptions()
	})

	t.Run("a user disabled at the provider reads the provider's refusal", func(t *testing.T) {
		require.NoError(t, s.idp.SetDisabled("carol", true))
		carol := newBrowser(t, s.url)
		carol.do("opening the portal", chromedp.Navigate(s.url+"/"))
		carol.toProvider()
		carol.loginAtProvider("carol", "")
		carol.waitFor(`.error[role="alert"]`, "the provider's refusal")
		assert.Equal(t, "This account is disabled.", carol.text(`.error[role="alert"]`))
		assert.Equal(t, s.idp.Issuer(), eval[string](carol, `location.origin`), "the provider sent nothing back to the portal")
		assert.Empty(t, carol.sessionCookie())
		carol.screenshot("oidc-disabled-at-provider")
	})
}

// TestPortal_OIDCSessionExpires: a session signed in through the provider
// and left unused for SESSION_IDLE_TIMEOUT sends the next navigation to
// the sign-in page; signing in again returns to where the user was.
func TestPortal_OIDCSessionExpires(t *testing.T) {
	var offset atomic.Int64
	s := newOIDCStack(t, func(d *api.Deps) {
		d.SessionIdleTimeout = time.Hour
		d.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	b := newBrowser(t, s.url)
	b.do("opening the portal", chromedp.Navigate(s.url+"/"))
	b.toProvider()
	b.loginAtProvider("dave", "")
	b.waitSignedIn("dave")
	b.route("#/requests")
	// Nothing still under way that the clock moved forward would answer
	// 401, with dave's page as the one to return to.
	b.waitFor(`main li.empty`, "dave's requests, none yet")
	b.waitFor(`#inbox-count[aria-label]`, "dave's inbox count")

	offset.Store(int64(61 * time.Minute))
	b.route("#/approvals")
	b.waitFor(`#signin-oidc`, "the sign-in page")
	assert.Equal(t, "Your session ended. Sign in again.", b.text(`.notice[role="status"]`))
	b.screenshot("oidc-session-ended")

	b.toProvider() // the provider lets the browser through on its own login
	b.waitSignedIn("dave")
	b.until(30*time.Second, "the page dave was heading to", nil, func() bool {
		return eval[string](b, `location.hash`) == "#/approvals"
	})
	b.checkNoExceptions()
}

// TestPortal_OIDCStepUp: a stage that requires a recent sign-in refuses
// bob's approval from a session signed in an hour ago; the portal sends
// him through the provider, which asks for his password since its own
// login is older than the stage allows (max_age), and back to the
// request, where the approval he started is offered again and goes
// through.
func TestPortal_OIDCStepUp(t *testing.T) {
	s := newOIDCStack(t)
	_, restart := s.catalog()
	s.call(http.StatusCreated, "admin", "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": s.org, "name": "restarts in production", "priority": 1,
		"stages": []map[string]any{{"name": "SRE", "approver_team": s.stack.teams["sre"], "require_recent_login": "15m"}},
	})
	id := int64(s.call(http.StatusCreated, "alice", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
		map[string]any{"justification": "stuck workers", "extra_vars": map[string]any{"service_name": "worker"}})["id"].(float64))
	route := fmt.Sprintf("#/requests/%d", id)
	approve := `.detail [data-action="approve"]`

	b := newBrowser(t, s.url)
	b.do("opening bob's link to the request", chromedp.Navigate(s.url+"/"+route))
	b.toProvider()
	b.loginAtProvider("bob", "")
	b.waitSignedIn("bob")
	b.waitFor(approve, "the request, with Approve")
	assert.Contains(t, b.text(`.detail .step-up`), "sign-in within the last 15m0s")

	// bob's sign-in, here and at the provider, is an hour old by now.
	u, err := s.store.GetUserByUsername(context.Background(), "bob")
	require.NoError(t, err)
	_, err = s.store.DB().ExecContext(context.Background(),
		`UPDATE sessions SET auth_time = auth_time - interval '1 hour' WHERE user_id = $1`, u.ID)
	require.NoError(t, err)
	s.idpAhead.Store(int64(time.Hour))

	b.do("approving", chromedp.Click(chromedp.CSS(approve)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` textarea`)),
		chromedp.SendKeys(chromedp.CSS(dialog+` textarea`), "checked the runbook"),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)))
	b.loginAtProvider("bob", "oidc-step-up-login") // asked for the password again
	b.waitSignedIn("bob")
	b.waitFor(dialog+` button[type="submit"]`, "the approval offered again")
	assert.Equal(t, route, eval[string](b, `location.hash`))
	assert.Equal(t, "checked the runbook", eval[string](b, `document.querySelector('dialog[open] textarea').value`), "with the comment bob wrote")
	b.screenshot("oidc-step-up-resumed")
	b.do("confirming the approval", chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	b.until(60*time.Second, "bob's approval on the timeline", nil, func() bool {
		return strings.Contains(b.text(`.timeline`), "bob approved")
	})
	r := s.call(http.StatusOK, "admin", "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
	resp := r["stages"].([]any)[0].(map[string]any)["responses"].([]any)[0].(map[string]any)
	assert.Equal(t, "portal", resp["channel"])
	assert.Equal(t, "checked the runbook", resp["comment"])
	require.NotNil(t, resp["signed_in_at"], "the approval keeps the sign-in it was judged by")
	signedIn, err := time.Parse(time.RFC3339Nano, resp["signed_in_at"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), signedIn, 10*time.Minute, "the new login, not the old one")
	b.checkNoExceptions()
}
