package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/devidp"
	"github.com/countersign/countersign/internal/devidp/devidptest"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/sso"
	"github.com/countersign/countersign/web"
)

// oidcEnv is env with a portal that signs in through a real OpenID
// provider (devidp) and not with tokens. A second provider with the same
// issuer but another signing key (forger) answers every call but the
// JWKS one while forging is set: its ID tokens are right in every way
// but their signature.
type oidcEnv struct {
	*env
	api     string
	idp     *devidp.Provider
	forging atomic.Bool
}

const oidcCallbackPath = "/oidc/callback"

// newOIDCEnv starts the provider and an API that signs in through it;
// options change the API's Deps.
func newOIDCEnv(t *testing.T, options ...func(*api.Deps)) *oidcEnv {
	t.Helper()
	o := &oidcEnv{env: newEnv(t)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	o.api = "http://" + apiLn.Addr().String()

	cfg := devidp.Config{
		Issuer: "http://" + idpLn.Addr().String(),
		Users: append(devidp.DemoUsers(), devidp.User{Username: "frank", Password: devidp.DemoPassword("frank"),
			Email: "frank@acme.example", GivenName: "Frank", FamilyName: "New", Groups: []string{"sre", "security"}}),
		Clients: []devidp.Client{{ID: "countersign", Secret: "client-secret", RedirectURIs: []string{o.api + oidcCallbackPath}}},
		Logger:  quiet,
	}
	o.idp, err = devidp.New(cfg)
	require.NoError(t, err)
	cfg.Key, err = devidp.GenerateKey()
	require.NoError(t, err)
	forger, err := devidp.New(cfg)
	require.NoError(t, err)
	idpSrv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.forging.Load() && r.URL.Path != "/keys" {
			forger.ServeHTTP(w, r)
			return
		}
		o.idp.ServeHTTP(w, r)
	})}
	go func() { _ = idpSrv.Serve(idpLn) }()
	t.Cleanup(func() { _ = idpSrv.Close() })

	org := o.stack.Identity.Org.Name
	gm, err := sso.ParseGroupMap(strings.NewReader(fmt.Sprintf(`{"rules": [
		{"group": "sre", "organization": %q, "team": "sre"},
		{"group": "security", "organization": %q, "team": "security"}]}`, org, org)))
	require.NoError(t, err)
	provider, err := api.DiscoverOIDC(context.Background(), api.OIDCConfig{
		Issuer: cfg.Issuer, ClientID: "countersign", ClientSecret: "client-secret", RedirectURL: o.api + oidcCallbackPath,
		Scopes: []string{"openid", "profile", "email"}, UsernameClaim: "preferred_username", GroupsClaim: "groups", GroupMap: gm,
	}, o.stack.Store)
	require.NoError(t, err)
	deps := api.Deps{PayloadKeys: testkit.PayloadRing(), Store: o.stack.Store, Temporal: o.client, AWX: o.stack.AWX,
		TaskQueue: o.queue, Logger: quiet, OIDC: provider, NoTokenSignIn: true}
	for _, option := range options {
		option(&deps)
	}
	srv := api.New(deps)
	apiSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = apiSrv.Serve(apiLn) }()
	t.Cleanup(func() { _ = apiSrv.Close() })
	return o
}

// browser is a browser with its cookies; it stops before the portal's
// callback, so that a test can look at it, change it or replay it.
type browser struct {
	t    *testing.T
	jar  http.CookieJar
	http *http.Client
}

func (o *oidcEnv) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(o.t, err)
	return &browser{t: o.t, jar: jar, http: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == oidcCallbackPath {
				return http.ErrUseLastResponse
			}
			return nil
		}}}
}

func (b *browser) read(resp *http.Response, err error) (*http.Response, string) {
	b.t.Helper()
	require.NoError(b.t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	require.NoError(b.t, resp.Body.Close())
	return resp, string(body)
}

// toCallback starts a sign-in at the portal, signs in as username at the
// provider's login form, and returns the callback URL the provider sends
// the browser to.
func (o *oidcEnv) toCallback(b *browser, username string) *url.URL {
	o.t.Helper()
	return o.toCallbackAltered(b, username, nil)
}

// toCallbackAltered is toCallback with the parameters of the portal's
// authorization request changed by alter on their way to the provider,
// as by someone between the browser and the provider.
func (o *oidcEnv) toCallbackAltered(b *browser, username string, alter func(url.Values)) *url.URL {
	o.t.Helper()
	start, err := url.Parse(o.api + "/ui/signin/oidc?next=%23/requests")
	require.NoError(o.t, err)
	resp, body := b.visit(start)
	require.Equal(o.t, http.StatusFound, resp.StatusCode, body)
	authorize, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(o.t, err)
	if alter != nil {
		q := authorize.Query()
		alter(q)
		authorize.RawQuery = q.Encode()
	}
	resp, body = b.read(b.http.Get(authorize.String()))
	if resp.StatusCode == http.StatusOK {
		action, fields := loginForm(o.t, body)
		fields.Set("username", username)
		fields.Set("password", devidp.DemoPassword(username))
		resp, body = b.read(b.http.PostForm(resp.Request.URL.ResolveReference(action).String(), fields))
	}
	require.Equal(o.t, http.StatusFound, resp.StatusCode, body)
	cb, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(o.t, err)
	require.Equal(o.t, o.api+oidcCallbackPath, cb.Scheme+"://"+cb.Host+cb.Path)
	return cb
}

// visit opens u without following redirects.
func (b *browser) visit(u *url.URL) (*http.Response, string) {
	b.t.Helper()
	c := &http.Client{Jar: b.jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b.read(c.Get(u.String()))
}

func (o *oidcEnv) signIn(b *browser, username string) {
	o.t.Helper()
	resp, body := b.visit(o.toCallback(b, username))
	require.Equal(o.t, http.StatusSeeOther, resp.StatusCode, body)
	require.Equal(o.t, "/#/requests", resp.Header.Get("Location"))
}

// me is the user the browser's session authenticates as ("" for none).
func (o *oidcEnv) me(b *browser) string {
	o.t.Helper()
	resp, body := b.read(b.http.Get(o.api + "/api/v2/me/"))
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return decodeObject(o.t, []byte(body))["username"].(string)
}

func (o *oidcEnv) teams(username string) []string {
	o.t.Helper()
	ctx := context.Background()
	u, err := o.stack.Store.GetUserByUsername(ctx, username)
	require.NoError(o.t, err)
	roles, err := o.stack.Store.UserRoles(ctx, u.ID)
	require.NoError(o.t, err)
	names := []string{}
	for _, t := range roles.Teams {
		names = append(names, t.Name)
	}
	return names
}

func (b *browser) cookie(u, name string) string {
	b.t.Helper()
	pu, err := url.Parse(u)
	require.NoError(b.t, err)
	for _, c := range b.jar.Cookies(pu) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func TestOIDC_SignIn(t *testing.T) {
	clock := &testClock{}
	o := newOIDCEnv(t, func(d *api.Deps) { d.Now, d.SessionIdleTimeout = clock.now, time.Hour })

	t.Run("the sign-in page offers the provider, not tokens", func(t *testing.T) {
		resp, body := o.browser().read(http.Get(o.api + "/ui/signin"))
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, "Sign in with 127.0.0.1")
		assert.NotContains(t, body, `name="token"`)
		resp, _ = o.browser().read(http.PostForm(o.api+"/ui/session", url.Values{"token": {o.tokens[requester]}}))
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})

	t.Run("first sign-in creates the user with the mapped teams; a group removed at the provider goes at the next", func(t *testing.T) {
		_, err := o.stack.Store.GetUserByUsername(context.Background(), "frank")
		require.Error(t, err, "frank is new")
		b := o.browser()
		o.signIn(b, "frank")
		assert.Equal(t, "frank", o.me(b))
		assert.ElementsMatch(t, []string{"sre", "security"}, o.teams("frank"))

		require.NoError(t, o.idp.SetGroups("frank", "sre"))
		o.signIn(o.browser(), "frank")
		assert.Equal(t, []string{"sre"}, o.teams("frank"))
	})

	t.Run("a session's sign-in time is the provider's login, not the callback's", func(t *testing.T) {
		b := o.browser()
		o.signIn(b, "dave")
		time.Sleep(1100 * time.Millisecond) // auth_time has whole seconds
		o.signIn(b, "dave")                 // the provider lets the browser through on its earlier login
		resp, body := b.read(b.http.Get(o.api + "/api/v2/me/sessions/"))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		for _, r := range decodeObject(t, []byte(body))["results"].([]any) {
			s := r.(map[string]any)
			if s["current"] != true {
				continue
			}
			created, err := time.Parse(time.RFC3339Nano, s["created"].(string))
			require.NoError(t, err)
			authTime, err := time.Parse(time.RFC3339Nano, s["auth_time"].(string))
			require.NoError(t, err)
			assert.Less(t, authTime, created.Add(-time.Second+time.Millisecond))
			return
		}
		t.Fatal("no current session listed")
	})

	t.Run("sign-out revokes the session", func(t *testing.T) {
		b := o.browser()
		o.signIn(b, "bob")
		require.Equal(t, "bob", o.me(b))
		resp, body := b.read(b.http.PostForm(o.api+"/ui/signout", url.Values{"csrf": {b.cookie(o.api, web.CSRFCookie)}}))
		require.Equal(t, http.StatusOK, resp.StatusCode, body) // followed to the sign-in page
		assert.Equal(t, "", o.me(b))
	})

	t.Run("a wrong state is refused", func(t *testing.T) {
		b := o.browser()
		cb := o.toCallback(b, "carol")
		q := cb.Query()
		q.Set("state", "not-the-state")
		cb.RawQuery = q.Encode()
		resp, body := b.visit(cb)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, body, "not started from this browser")
		assert.NotContains(t, body, q.Get("code"))
		assert.Equal(t, "", o.me(b))
	})

	t.Run("a replayed code is refused", func(t *testing.T) {
		b := o.browser()
		cb := o.toCallback(b, "carol")
		flow := b.cookie(o.api+oidcCallbackPath, "countersign_oidc")
		require.NotEmpty(t, flow)
		resp, _ := b.visit(cb)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)

		resp, _ = b.visit(cb)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "the flow cookie is used once")

		b.jar.SetCookies(cb, []*http.Cookie{{Name: "countersign_oidc", Value: flow, Path: oidcCallbackPath}})
		resp, body := b.visit(cb)
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "the provider refuses the code again")
		assert.Contains(t, body, "did not complete the sign-in")
	})

	t.Run("an ID token signed by another key is refused", func(t *testing.T) {
		o.forging.Store(true)
		defer o.forging.Store(false)
		b := o.browser()
		resp, body := b.visit(o.toCallback(b, "carol"))
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Contains(t, body, "could not be verified")
		assert.Equal(t, "", o.me(b))
	})

	t.Run("an expired ID token is refused", func(t *testing.T) {
		o.idp.SetIDTokenLifetime(-time.Minute)
		defer o.idp.SetIDTokenLifetime(devidp.DefaultIDTokenLifetime)
		b := o.browser()
		resp, body := b.visit(o.toCallback(b, "alice"))
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Contains(t, body, "could not be verified")
		assert.Equal(t, "", o.me(b))

		o.idp.SetIDTokenLifetime(devidp.DefaultIDTokenLifetime)
		o.signIn(b, "alice")
		assert.Equal(t, "alice", o.me(b), "the token's expiry was all that was wrong")
	})

	t.Run("a wrong nonce is refused though the state is right", func(t *testing.T) {
		b := o.browser()
		cb := o.toCallbackAltered(b, "alice", func(q url.Values) {
			require.NotEmpty(t, q.Get("nonce"))
			q.Set("nonce", "not-the-nonce")
		})
		resp, body := b.visit(cb)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "past the state check (400) and the exchange (502)")
		assert.Contains(t, body, "could not be verified")
		assert.Equal(t, "", o.me(b))
	})

	t.Run("a username linked to another identity is refused", func(t *testing.T) {
		erin := o.userID(orgAdmin)
		require.NoError(t, o.stack.Store.LinkUserSubject(context.Background(), erin, "https://login.other.example", "someone-else"))
		b := o.browser()
		resp, body := b.visit(o.toCallback(b, orgAdmin))
		assert.Equal(t, http.StatusConflict, resp.StatusCode)
		assert.Contains(t, body, "Your username belongs to another Countersign account")
		assert.Equal(t, "", o.me(b))
		u, err := o.stack.Store.GetUserByUsername(context.Background(), orgAdmin)
		require.NoError(t, err)
		assert.Equal(t, erin, u.ID, "the user is not taken over")
	})

	t.Run("a session unused for the idle timeout ends; signing in again starts another", func(t *testing.T) {
		defer func(before int64) { clock.offset.Store(before) }(clock.offset.Load())
		b := o.browser()
		o.signIn(b, "dave")
		clock.advance(59 * time.Minute)
		require.Equal(t, "dave", o.me(b))
		clock.advance(61 * time.Minute)
		assert.Equal(t, "", o.me(b))
		home, err := url.Parse(o.api + "/")
		require.NoError(t, err)
		resp, _ := b.visit(home)
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		assert.Equal(t, "/ui/signin?expired=1", resp.Header.Get("Location"))

		o.signIn(b, "dave") // the provider lets the browser through on its own login
		assert.Equal(t, "dave", o.me(b))
	})

	t.Run("a deactivated user is refused", func(t *testing.T) {
		o.must(http.StatusOK, superuser, "PATCH", fmt.Sprintf("/api/v2/users/%d/", o.userID(approver2)), map[string]any{"is_active": false})
		b := o.browser()
		resp, body := b.visit(o.toCallback(b, "carol"))
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Contains(t, body, "deactivated")
		assert.Equal(t, "", o.me(b))
	})
}

// loginForm reads the provider's login form: its action and its inputs.
func loginForm(t *testing.T, page string) (*url.URL, url.Values) {
	t.Helper()
	action, fields, err := devidptest.LoginForm(page)
	require.NoError(t, err)
	return action, fields
}

func TestDiscoverOIDC_FailsAtStart(t *testing.T) {
	cfg := api.OIDCConfig{Issuer: "http://" + closedAddr(t), ClientID: "countersign", ClientSecret: "s",
		RedirectURL: "http://127.0.0.1:8080/oidc/callback", Scopes: []string{"openid"}}
	_, err := api.DiscoverOIDC(context.Background(), cfg, nil)
	require.ErrorContains(t, err, "OIDC_ISSUER "+cfg.Issuer+": discovery failed")

	cfg.RedirectURL = "http://127.0.0.1:8080/api/v2/callback"
	_, err = api.DiscoverOIDC(context.Background(), cfg, nil)
	require.ErrorContains(t, err, "is taken by Countersign")
}

// OIDC_PROVIDER_NAME names the provider on the portal's sign-in button,
// escaped like any text of the page; without it the button names the
// issuer's host.
func TestOIDC_ProviderName(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	issuer := "http://" + ln.Addr().String()
	idp, err := devidp.New(devidp.Config{Issuer: issuer, Logger: quiet,
		Clients: []devidp.Client{{ID: "countersign", Secret: "client-secret", RedirectURIs: []string{"http://127.0.0.1:8080" + oidcCallbackPath}}}})
	require.NoError(t, err)
	idpSrv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: idp}
	go func() { _ = idpSrv.Serve(ln) }()
	t.Cleanup(func() { _ = idpSrv.Close() })

	signInPage := func(name string) string {
		provider, err := api.DiscoverOIDC(context.Background(), api.OIDCConfig{
			Issuer: issuer, ClientID: "countersign", ClientSecret: "client-secret", RedirectURL: "http://127.0.0.1:8080" + oidcCallbackPath,
			Scopes: []string{"openid"}, UsernameClaim: "preferred_username", GroupsClaim: "groups", ProviderName: name,
		}, nil)
		require.NoError(t, err)
		srv := api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Logger: quiet, OIDC: provider, NoTokenSignIn: true})
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/ui/signin", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		return rec.Body.String()
	}

	body := signInPage(`Acme <SSO> & "Co"`)
	assert.Contains(t, body, `>Sign in with Acme &lt;SSO&gt; &amp; &#34;Co&#34;</a>`)
	assert.NotContains(t, body, "<SSO>")
	assert.NotContains(t, body, "Sign in with 127.0.0.1")

	assert.Contains(t, signInPage(""), ">Sign in with 127.0.0.1</a>", "the issuer's host by default")
}
