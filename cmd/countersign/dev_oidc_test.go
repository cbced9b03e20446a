package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/devidp"
	"github.com/countersign/countersign/internal/devidp/devidptest"
)

// checkProviderDiscovery checks that the dev stack's OpenID provider
// serves discovery for the issuer the API was given, and that the
// portal's sign-in page offers it next to the dev tokens.
func checkProviderDiscovery(t *testing.T, api, issuer string) {
	t.Helper()
	var discovery struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
	}
	resp, body := read(t, http.DefaultClient, http.MethodGet, issuer+"/.well-known/openid-configuration")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.NoError(t, json.Unmarshal([]byte(body), &discovery))
	assert.Equal(t, issuer, discovery.Issuer)
	assert.Equal(t, issuer+"/authorize", discovery.AuthorizationEndpoint)

	resp, body = read(t, http.DefaultClient, http.MethodGet, api+"/ui/signin")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `href="/ui/signin/oidc`, "the provider is offered")
	assert.Contains(t, body, "Sign in with the local OpenID provider")
	assert.Contains(t, body, `name="token"`, "token sign-in stays in dev mode")
	assert.Contains(t, body, `data-user="bob"`, "so do the demo users' buttons")
}

// signInThroughProvider signs username in to the portal at api as a
// browser does: the portal's link to the provider (at start, the address
// the browser uses for api), the provider's login form with the demo
// password, the provider's redirect to the portal's callback, the portal.
// It returns the browser, signed in.
func signInThroughProvider(t *testing.T, start, api, issuer, username string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	var visited []string
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			visited = append(visited, req.URL.Scheme+"://"+req.URL.Host+req.URL.Path)
			if len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		}}

	resp, body := read(t, browser, http.MethodGet, start+"/ui/signin/oidc?next=%23/requests")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, issuer+"/login", resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+resp.Request.URL.Path,
		"the portal sends the browser to the provider's login page")
	action, fields, err := devidptest.LoginForm(body)
	require.NoError(t, err)
	fields.Set("username", username)
	fields.Set("password", devidp.DemoPassword(username))
	visited = nil
	resp, err = browser.PostForm(resp.Request.URL.ResolveReference(action).String(), fields)
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", page)
	assert.Contains(t, visited, api+"/oidc/callback", "the provider sends the browser back to the portal's callback")
	assert.Equal(t, api+"/#/requests", resp.Request.URL.String(), "the callback opens the portal at the page asked for")
	assert.NotContains(t, string(page), `id="signin-oidc"`, "the portal, not its sign-in page")
	return browser
}

// me is the user a browser's portal session authenticates as, from
// /api/v2/me/.
type me struct {
	Username      string `json:"username"`
	Organizations []struct {
		Name, Role string
	} `json:"organizations"`
	Teams []struct {
		Name string `json:"name"`
	} `json:"teams"`
}

func whoAmI(t *testing.T, browser *http.Client, api string) me {
	t.Helper()
	resp, body := read(t, browser, http.MethodGet, api+"/api/v2/me/")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var m me
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	return m
}

func (m me) teams() []string {
	var names []string
	for _, team := range m.Teams {
		names = append(names, team.Name)
	}
	return names
}

// read sends a request without a body and returns the response with its
// body read.
func read(t *testing.T, c *http.Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp, b.String()
}
