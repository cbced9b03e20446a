package devidp_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/countersign/countersign/internal/devidp"
	"github.com/countersign/countersign/internal/devidp/devidptest"
)

// The relying party of these tests: its redirect URI never answers, the
// browser stops at the redirect to it, as a real one would hand over to
// the application.
const (
	clientID     = "countersign"
	clientSecret = "test-secret"
	redirectURL  = "http://127.0.0.1:9/oidc/callback"
)

// relyingParty is a client built the way the portal's sign-in will be:
// go-oidc for discovery and ID token verification, oauth2 for the code
// exchange, a browser with a cookie jar in front of the provider.
type relyingParty struct {
	t        *testing.T
	idp      *devidp.Server
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
	browser  *http.Client
}

// idTokenClaims are the claims the portal reads.
type idTokenClaims struct {
	Subject           string   `json:"sub"`
	PreferredUsername string   `json:"preferred_username"`
	Email             string   `json:"email"`
	GivenName         string   `json:"given_name"`
	FamilyName        string   `json:"family_name"`
	Groups            []string `json:"groups"`
	Nonce             string   `json:"nonce"`
	AuthTime          int64    `json:"auth_time"`
}

// startProvider starts a provider with the demo users on a free port of
// 127.0.0.1, and a relying party that discovered it.
func startProvider(t *testing.T, mutate ...func(*devidp.Config)) *relyingParty {
	t.Helper()
	cfg := devidp.Config{
		Users:   devidp.DemoUsers(),
		Clients: []devidp.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	idp, err := devidp.Listen("127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		// The browser and the code exchanges share the default transport,
		// which may hold a connection it dialled for a request that then
		// went over another one: the server would wait five seconds for
		// that connection's first request before shutting down.
		http.DefaultClient.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, idp.Shutdown(ctx))
		assert.NoError(t, <-idp.Done())
	})
	provider, err := oidc.NewProvider(context.Background(), idp.Issuer())
	require.NoError(t, err, "discovery")
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &relyingParty{
		t: t, idp: idp, provider: provider,
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}},
		browser: &http.Client{Jar: jar, Timeout: 10 * time.Second,
			CheckRedirect: func(req *http.Request, _ []*http.Request) error {
				if strings.HasPrefix(req.URL.String(), redirectURL) {
					return http.ErrUseLastResponse
				}
				return nil
			}},
	}
}

// signIn is one sign-in: the authorization request, the state and nonce
// and PKCE verifier that go with it.
type signIn struct {
	rp                     *relyingParty
	state, nonce, verifier string
	// page is where the browser stands: the login page, or the redirect
	// to the client.
	page *http.Response
	body string
}

// authorize sends the browser to the authorization endpoint.
func (rp *relyingParty) authorize(opts ...oauth2.AuthCodeOption) *signIn {
	rp.t.Helper()
	s := &signIn{rp: rp, state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{oidc.Nonce(s.nonce), oauth2.S256ChallengeOption(s.verifier)}, opts...)
	s.visit(rp.browser.Get(rp.oauth.AuthCodeURL(s.state, opts...)))
	return s
}

func (s *signIn) visit(resp *http.Response, err error) {
	s.rp.t.Helper()
	require.NoError(s.rp.t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.rp.t, err)
	require.NoError(s.rp.t, resp.Body.Close())
	s.page, s.body = resp, string(b)
}

// onLoginPage says whether the provider asks for a password.
func (s *signIn) onLoginPage() bool {
	return s.page.StatusCode != http.StatusFound && strings.Contains(s.body, `name="password"`)
}

// login fills in the login form and submits it like a browser: the
// form's own fields (hidden ones included) and its action.
func (s *signIn) login(username, password string) {
	s.rp.t.Helper()
	require.True(s.rp.t, s.onLoginPage(), "expected the login page, got %d: %s", s.page.StatusCode, s.body)
	action, fields := parseForm(s.rp.t, s.body)
	fields.Set("username", username)
	fields.Set("password", password)
	target := s.page.Request.URL.ResolveReference(action)
	s.visit(s.rp.browser.PostForm(target.String(), fields))
}

// callback is what the client receives: its redirect's parameters.
func (s *signIn) callback() url.Values {
	s.rp.t.Helper()
	require.Equal(s.rp.t, http.StatusFound, s.page.StatusCode, "expected the redirect to the client: %s", s.body)
	loc, err := url.Parse(s.page.Header.Get("Location"))
	require.NoError(s.rp.t, err)
	require.True(s.rp.t, strings.HasPrefix(loc.String(), redirectURL), loc.String())
	return loc.Query()
}

// code is the authorization code of a successful sign-in, its state
// checked.
func (s *signIn) code() string {
	s.rp.t.Helper()
	q := s.callback()
	require.Empty(s.rp.t, q.Get("error"), q.Get("error_description"))
	require.Equal(s.rp.t, s.state, q.Get("state"))
	require.NotEmpty(s.rp.t, q.Get("code"))
	return q.Get("code")
}

// exchange trades a code for tokens with a PKCE verifier.
func (s *signIn) exchange(code, verifier string) (*oauth2.Token, error) {
	return s.rp.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
}

// idToken finishes the sign-in as the portal will: exchange, verify the
// ID token (signature, issuer, audience, expiry), check the nonce.
func (s *signIn) idToken() (*oidc.IDToken, idTokenClaims) {
	s.rp.t.Helper()
	tok, err := s.exchange(s.code(), s.verifier)
	require.NoError(s.rp.t, err)
	raw, ok := tok.Extra("id_token").(string)
	require.True(s.rp.t, ok, "no id_token in the token response")
	idt, err := s.rp.verifier.Verify(context.Background(), raw)
	require.NoError(s.rp.t, err)
	require.Equal(s.rp.t, s.nonce, idt.Nonce)
	var c idTokenClaims
	require.NoError(s.rp.t, idt.Claims(&c))
	return idt, c
}

// signInAs is a whole first sign-in through the form.
func (rp *relyingParty) signInAs(username string, opts ...oauth2.AuthCodeOption) idTokenClaims {
	rp.t.Helper()
	s := rp.authorize(opts...)
	s.login(username, devidp.DemoPassword(username))
	_, c := s.idToken()
	return c
}

// parseForm reads the first form of a page: its action and its inputs'
// names and values.
func parseForm(t *testing.T, page string) (*url.URL, url.Values) {
	t.Helper()
	action, fields, err := devidptest.LoginForm(page)
	require.NoError(t, err)
	return action, fields
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newJar(t *testing.T) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return jar
}
