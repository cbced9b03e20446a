package devidp_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/countersign/countersign/internal/devidp"
)

func TestProvider_CodeFlowWithPKCE(t *testing.T) {
	rp := startProvider(t)

	var discovery struct {
		Methods []string `json:"code_challenge_methods_supported"`
		JWKS    string   `json:"jwks_uri"`
	}
	require.NoError(t, rp.provider.Claims(&discovery))
	assert.Contains(t, discovery.Methods, "S256")
	assert.True(t, strings.HasPrefix(discovery.JWKS, rp.idp.Issuer()), discovery.JWKS)

	before := time.Now().Truncate(time.Second)
	s := rp.authorize()
	assert.True(t, s.onLoginPage(), "a new browser signs in with the form")
	assert.Equal(t, "DENY", s.page.Header.Get("X-Frame-Options"))
	s.login("bob", devidp.DemoPassword("bob"))
	idt, c := s.idToken()

	assert.Equal(t, rp.idp.Issuer(), idt.Issuer)
	assert.Equal(t, []string{clientID}, idt.Audience)
	assert.NotEqual(t, "bob", c.Subject, "sub is opaque: clients must map the username claim")
	assert.Equal(t, "bob", c.PreferredUsername)
	assert.Equal(t, "bob@acme.example", c.Email)
	assert.Equal(t, "Bob", c.GivenName)
	assert.Equal(t, "SRE", c.FamilyName)
	assert.Equal(t, []string{"sre"}, c.Groups)
	authTime := time.Unix(c.AuthTime, 0)
	assert.False(t, authTime.Before(before), "auth_time %v is the sign-in's", authTime)
	assert.WithinDuration(t, time.Now(), authTime, 10*time.Second)

	t.Run("userinfo answers for the access token", func(t *testing.T) {
		s := rp.authorize()
		tok, err := s.exchange(s.code(), s.verifier)
		require.NoError(t, err)
		info, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
		require.NoError(t, err)
		var claims idTokenClaims
		require.NoError(t, info.Claims(&claims))
		assert.Equal(t, c.Subject, info.Subject)
		assert.Equal(t, "bob@acme.example", info.Email)
		assert.Equal(t, []string{"sre"}, claims.Groups)
	})
}

func TestProvider_DemoUsersAndGroups(t *testing.T) {
	rp := startProvider(t)
	for user, groups := range map[string][]string{
		"admin": {}, "erin": {"acme-admins"}, "alice": {}, "bob": {"sre"}, "carol": {"sre"}, "dave": {"security"},
	} {
		rp.browser.Jar = newJar(t) // a browser each
		assert.Equal(t, groups, rp.signInAs(user).Groups, user)
	}
}

func TestProvider_WrongPasswordIsRefused(t *testing.T) {
	rp := startProvider(t)
	s := rp.authorize()
	s.login("alice", "not-her-password")
	assert.Equal(t, http.StatusUnauthorized, s.page.StatusCode)
	assert.Contains(t, s.body, "Wrong username or password.")
	assert.NotContains(t, s.body, "not-her-password")

	s.login("nobody", "whatever")
	assert.Contains(t, s.body, "Wrong username or password.", "an unknown user reads the same")

	s.login("alice", devidp.DemoPassword("alice"))
	_, c := s.idToken()
	assert.Equal(t, "alice", c.PreferredUsername, "the same sign-in goes on with the right password")
}

func TestProvider_LoginFormNeedsItsCSRFCookie(t *testing.T) {
	rp := startProvider(t)
	s := rp.authorize()
	action, fields := parseForm(t, s.body)
	fields.Set("username", "alice")
	fields.Set("password", devidp.DemoPassword("alice"))
	// Another site's page posting the form: the browser's SameSite=Strict
	// cookie does not go along.
	forged := &http.Client{CheckRedirect: rp.browser.CheckRedirect}
	resp, err := forged.PostForm(s.page.Request.URL.ResolveReference(action).String(), fields)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	s.login("alice", devidp.DemoPassword("alice"))
	s.code()
}

func TestProvider_PKCEIsRequired(t *testing.T) {
	rp := startProvider(t)

	t.Run("a wrong verifier is refused", func(t *testing.T) {
		s := rp.authorize()
		s.login("bob", devidp.DemoPassword("bob"))
		code := s.code()
		_, err := s.exchange(code, oauth2.GenerateVerifier())
		requireOAuthError(t, err, "invalid_grant")
		_, err = s.exchange(code, s.verifier)
		assert.NoError(t, err, "a refused exchange does not burn the code for the client")
	})
	t.Run("no verifier is refused", func(t *testing.T) {
		s := rp.authorize()
		_, err := rp.oauth.Exchange(context.Background(), s.code())
		requireOAuthError(t, err, "invalid_request")
	})
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"no challenge": nil,
		"plain":        {oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
	} {
		t.Run("an authorization request with "+name+" is refused", func(t *testing.T) {
			state := randomString()
			resp, err := rp.browser.Get(rp.oauth.AuthCodeURL(state, opts...))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			assert.Equal(t, "invalid_request", loc.Query().Get("error"))
			assert.Equal(t, state, loc.Query().Get("state"))
			assert.Empty(t, loc.Query().Get("code"))
		})
	}
}

func TestProvider_CodeWorksOnce(t *testing.T) {
	rp := startProvider(t)
	s := rp.authorize()
	s.login("carol", devidp.DemoPassword("carol"))
	code := s.code()
	_, err := s.exchange(code, s.verifier)
	require.NoError(t, err)
	_, err = s.exchange(code, s.verifier)
	requireOAuthError(t, err, "invalid_grant")

	t.Run("by two exchanges at once", func(t *testing.T) {
		s := rp.authorize()
		code := s.code()
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := s.exchange(code, s.verifier)
				errs <- err
			}()
		}
		e1, e2 := <-errs, <-errs
		assert.True(t, (e1 == nil) != (e2 == nil), "exactly one gets tokens: %v, %v", e1, e2)
	})
}

func TestProvider_WrongClientSecretIsRefused(t *testing.T) {
	rp := startProvider(t)
	s := rp.authorize()
	s.login("carol", devidp.DemoPassword("carol"))
	rp.oauth.ClientSecret = "guess"
	_, err := s.exchange(s.code(), s.verifier)
	requireOAuthError(t, err, "invalid_client")
}

// Step-up: a session at the provider lets the next sign-in through, unless
// the client asks for a recent login; then the form comes back and
// auth_time moves.
func TestProvider_MaxAgeAndPromptLoginForceALogin(t *testing.T) {
	rp := startProvider(t)
	first := rp.signInAs("dave")

	s := rp.authorize(oauth2.SetAuthURLParam("max_age", "3600"))
	assert.False(t, s.onLoginPage(), "a session younger than max_age needs no form")
	_, c := s.idToken()
	assert.Equal(t, first.AuthTime, c.AuthTime, "auth_time is the session's")

	s = rp.authorize()
	_, c = s.idToken()
	assert.Equal(t, first.AuthTime, c.AuthTime)

	time.Sleep(1100 * time.Millisecond) // auth_time counts seconds
	previous := first.AuthTime
	for name, opt := range map[string]oauth2.AuthCodeOption{
		"max_age=0":    oauth2.SetAuthURLParam("max_age", "0"),
		"prompt=login": oauth2.SetAuthURLParam("prompt", "login"),
	} {
		t.Run(name, func(t *testing.T) {
			s := rp.authorize(opt)
			require.True(t, s.onLoginPage(), "%s asks for the password again", name)
			s.login("dave", devidp.DemoPassword("dave"))
			_, c := s.idToken()
			assert.Equal(t, "dave", c.PreferredUsername)
			assert.GreaterOrEqual(t, c.AuthTime, previous)
			assert.Greater(t, c.AuthTime, first.AuthTime, "auth_time moves")
			previous = c.AuthTime
		})
	}
}

func TestProvider_PromptNoneWithoutSessionIsLoginRequired(t *testing.T) {
	rp := startProvider(t)
	s := rp.authorize(oauth2.SetAuthURLParam("prompt", "none"))
	q := s.callback()
	assert.Equal(t, "login_required", q.Get("error"))
	assert.Equal(t, s.state, q.Get("state"))

	rp.signInAs("alice")
	s = rp.authorize(oauth2.SetAuthURLParam("prompt", "none"))
	_, c := s.idToken()
	assert.Equal(t, "alice", c.PreferredUsername)
}

func TestProvider_DisabledUserCannotSignIn(t *testing.T) {
	rp := startProvider(t)

	t.Run("at the form", func(t *testing.T) {
		require.NoError(t, rp.idp.SetDisabled("alice", true))
		s := rp.authorize()
		s.login("alice", devidp.DemoPassword("alice"))
		assert.Equal(t, http.StatusUnauthorized, s.page.StatusCode)
		assert.Contains(t, s.body, "This account is disabled.")
		s.login("alice", "wrong")
		assert.Contains(t, s.body, "Wrong username or password.", "the password is checked first")

		require.NoError(t, rp.idp.SetDisabled("alice", false))
		s.login("alice", devidp.DemoPassword("alice"))
		s.code()
	})
	t.Run("with a session at the provider", func(t *testing.T) {
		rp.browser.Jar = newJar(t)
		rp.signInAs("bob")
		require.NoError(t, rp.idp.SetDisabled("bob", true))
		s := rp.authorize()
		assert.True(t, s.onLoginPage(), "disabling signs the user out of the provider")
	})
	t.Run("with a code issued before", func(t *testing.T) {
		rp.browser.Jar = newJar(t)
		s := rp.authorize()
		s.login("carol", devidp.DemoPassword("carol"))
		code := s.code()
		require.NoError(t, rp.idp.SetDisabled("carol", true))
		_, err := s.exchange(code, s.verifier)
		require.Error(t, err)
	})
	t.Run("with an access token issued before", func(t *testing.T) {
		rp.browser.Jar = newJar(t)
		s := rp.authorize()
		s.login("dave", devidp.DemoPassword("dave"))
		tok, err := s.exchange(s.code(), s.verifier)
		require.NoError(t, err)
		require.NoError(t, rp.idp.SetDisabled("dave", true))
		_, err = rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
		require.Error(t, err)
		u, err := rp.idp.User("dave")
		require.NoError(t, err)
		assert.True(t, u.Disabled)
	})
}

func TestProvider_GroupChangeShowsInTheNextIDToken(t *testing.T) {
	rp := startProvider(t)
	assert.Equal(t, []string{"sre"}, rp.signInAs("carol").Groups)

	require.NoError(t, rp.idp.SetGroups("carol", "security", "acme-admins"))
	_, c := rp.authorize().idToken()
	assert.Equal(t, []string{"security", "acme-admins"}, c.Groups)

	require.NoError(t, rp.idp.SetGroups("carol"))
	_, c = rp.authorize().idToken()
	assert.Equal(t, []string{}, c.Groups, "no groups is an empty claim, not a missing one")

	assert.ErrorIs(t, rp.idp.SetGroups("nobody", "sre"), devidp.ErrUnknownUser)
}

func TestProvider_IDTokenLifetime(t *testing.T) {
	rp := startProvider(t)
	s := rp.authorize()
	s.login("bob", devidp.DemoPassword("bob"))
	idt, _ := s.idToken()
	assert.Equal(t, devidp.DefaultIDTokenLifetime, idt.Expiry.Sub(idt.IssuedAt))

	rp.idp.SetIDTokenLifetime(-time.Minute)
	s = rp.authorize() // the browser's session at the provider lets it through
	tok, err := s.exchange(s.code(), s.verifier)
	require.NoError(t, err)
	raw, ok := tok.Extra("id_token").(string)
	require.True(t, ok, "no id_token in the token response")
	_, err = rp.verifier.Verify(context.Background(), raw)
	var expired *oidc.TokenExpiredError
	require.ErrorAs(t, err, &expired, "the token has expired when issued")

	lenient := rp.provider.Verifier(&oidc.Config{ClientID: clientID, SkipExpiryCheck: true})
	idt, err = lenient.Verify(context.Background(), raw)
	require.NoError(t, err, "expiry is the token's only fault")
	assert.Equal(t, s.nonce, idt.Nonce)
}

func TestProvider_GroupsClaimIsConfigurable(t *testing.T) {
	rp := startProvider(t, func(c *devidp.Config) { c.GroupsClaim = "roles" })
	s := rp.authorize()
	s.login("dave", devidp.DemoPassword("dave"))
	idt, _ := s.idToken()
	var claims map[string]any
	require.NoError(t, idt.Claims(&claims))
	assert.Equal(t, []any{"security"}, claims["roles"])
	assert.NotContains(t, claims, "groups")
}

func TestProvider_ClientAddedLater(t *testing.T) {
	rp := startProvider(t, func(c *devidp.Config) { c.Clients = nil })
	state := randomString()
	resp, err := rp.browser.Get(rp.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "an unknown client is not redirected to")

	require.NoError(t, rp.idp.AddClient(devidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}))
	assert.Equal(t, "erin", rp.signInAs("erin").PreferredUsername)
	assert.Error(t, rp.idp.AddClient(devidp.Client{ID: clientID, Secret: "x", RedirectURIs: []string{redirectURL}}), "ids are unique")
}

func TestProvider_EndSessionSignsTheBrowserOut(t *testing.T) {
	rp := startProvider(t)
	rp.signInAs("erin")
	var discovery struct {
		EndSession string `json:"end_session_endpoint"`
	}
	require.NoError(t, rp.provider.Claims(&discovery))
	resp, err := rp.browser.Get(discovery.EndSession)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, rp.authorize().onLoginPage())
}

func TestLoadUsers(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "users.json")
	require.NoError(t, os.WriteFile(good, []byte(`{"users":[
		{"username":"zoe","password":"pw","email":"zoe@example.com","given_name":"Zoe","family_name":"Z","groups":["ops"]}]}`), 0o600))
	users, err := devidp.LoadUsers(good)
	require.NoError(t, err)
	assert.Equal(t, []devidp.User{{Username: "zoe", Password: "pw", Email: "zoe@example.com", GivenName: "Zoe", FamilyName: "Z", Groups: []string{"ops"}}}, users)

	typo := filepath.Join(dir, "typo.json")
	require.NoError(t, os.WriteFile(typo, []byte(`{"users":[{"username":"zoe","password":"pw","group":["ops"]}]}`), 0o600))
	_, err = devidp.LoadUsers(typo)
	assert.ErrorContains(t, err, `unknown field "group"`)

	_, err = devidp.New(devidp.Config{Issuer: "http://127.0.0.1:5556", Users: []devidp.User{{Username: "x"}}})
	assert.ErrorContains(t, err, "needs a username and a password")
	_, err = devidp.New(devidp.Config{Issuer: "http://127.0.0.1:5556/path", Users: users})
	assert.ErrorContains(t, err, "without a path")
}

func requireOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, code, re.ErrorCode, string(re.Body))
}
