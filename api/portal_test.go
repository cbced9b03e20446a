package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/web"
)

// portalSession is a browser's session with the portal: its cookies.
type portalSession struct {
	token, csrf string
}

// signIn posts the portal's sign-in form with token and returns the
// response (redirects are not followed).
func (e *env) signIn(token string, header map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+"/ui/session", strings.NewReader(url.Values{"token": {token}}.Encode()))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(e.t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func (e *env) session(user string) portalSession {
	e.t.Helper()
	resp := e.signIn(e.tokens[user], nil)
	require.Equal(e.t, http.StatusSeeOther, resp.StatusCode)
	var s portalSession
	for _, c := range resp.Cookies() {
		switch c.Name {
		case web.SessionCookie:
			s.token = c.Value
		case web.CSRFCookie:
			s.csrf = c.Value
		}
	}
	require.NotEmpty(e.t, s.token)
	require.NotEmpty(e.t, s.csrf)
	return s
}

// cookieCall calls the API as a browser would: with the session cookie,
// the CSRF cookie unless csrfCookie is false, and csrfHeader when given.
func (e *env) cookieCall(s portalSession, method, path string, body any, csrfHeader string, csrfCookie bool) (int, map[string]any) {
	e.t.Helper()
	req := e.request(method, path, body)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: s.token})
	if csrfCookie {
		req.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: s.csrf})
	}
	if csrfHeader != "" {
		req.Header.Set(web.CSRFHeader, csrfHeader)
	}
	status, raw := e.send(req)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(e.t, json.Unmarshal(raw, &out), "%s %s answered %d: %s", method, path, status, raw)
	}
	return status, out
}

func TestPortal_SessionCookie(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	alice := e.session(requester)
	submitPath := fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart)

	t.Run("the cookie authenticates reads", func(t *testing.T) {
		status, me := e.cookieCall(alice, "GET", "/api/v2/me/", nil, "", true)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, requester, me["username"])
	})

	t.Run("a bad session cookie is a 401", func(t *testing.T) {
		status, body := e.cookieCall(portalSession{token: "cs_not_a_token", csrf: "x"}, "GET", "/api/v2/me/", nil, "", true)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "Authentication credentials were not provided or are not valid.", body["detail"])
	})

	t.Run("changes without the right CSRF header are refused and change nothing", func(t *testing.T) {
		before := e.dbState()
		for name, c := range map[string]struct {
			header string
			cookie bool
		}{
			"no header":              {"", true},
			"wrong header":           {alice.csrf + "0", true},
			"header without cookie":  {alice.csrf, false},
			"another session's csrf": {strings.Repeat("a", 64), true},
		} {
			status, body := e.cookieCall(alice, "POST", submitPath, restartServiceAnswers(), c.header, c.cookie)
			assert.Equal(t, http.StatusForbidden, status, name)
			assert.Equal(t, map[string]any{"detail": "CSRF token missing or incorrect."}, body, name)
		}
		status, _ := e.cookieCall(alice, "DELETE", fmt.Sprintf("/api/v2/service_catalog_items/%d/", restart), nil, "", true)
		assert.Equal(t, http.StatusForbidden, status)
		assert.Equal(t, before, e.dbState(), "a refused call changed the database")
	})

	t.Run("changes with the CSRF header go through", func(t *testing.T) {
		status, req := e.cookieCall(alice, "POST", submitPath, restartServiceAnswers(), alice.csrf, true)
		require.Equal(t, http.StatusCreated, status, "%v", req)
		assert.Equal(t, requester, req["requester"])
		status, _ = e.cookieCall(alice, "POST", fmt.Sprintf("/api/v2/service_requests/%d/comment/", idOf(req)),
			map[string]any{"text": "from the portal"}, alice.csrf, true)
		assert.Equal(t, http.StatusOK, status)
	})

	t.Run("bearer calls need no CSRF header, even with a session cookie", func(t *testing.T) {
		e.must(http.StatusCreated, requester, "POST", submitPath, restartServiceAnswers())
		req, err := http.NewRequest("POST", e.url+submitPath, strings.NewReader(mustJSON(t, restartServiceAnswers())))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.tokens[requester])
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: e.session(approver).token})
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		resp.Body.Close()
		assert.Equal(t, http.StatusCreated, resp.StatusCode)
		assert.Equal(t, requester, out["requester"], "the Authorization header wins over the cookie")
	})
}

func TestPortal_SignInCookies(t *testing.T) {
	e := newEnv(t)

	resp := e.signIn(e.tokens[requester], nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/", resp.Header.Get("Location"))
	raw := map[string]string{}
	for _, line := range resp.Header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(line, "=")
		raw[name] = line
	}
	require.Contains(t, raw, web.SessionCookie)
	require.Contains(t, raw, web.CSRFCookie)
	// Lax: a link from another site (chat, email) opens the portal signed
	// in. Cross-site changes are still refused by the CSRF header check.
	for _, attr := range []string{"Path=/", "HttpOnly", "SameSite=Lax"} {
		assert.Contains(t, raw[web.SessionCookie], attr)
	}
	assert.NotContains(t, raw[web.SessionCookie], "Secure", "served over plain HTTP")
	assert.Contains(t, raw[web.CSRFCookie], "SameSite=Lax")
	assert.NotContains(t, raw[web.CSRFCookie], "HttpOnly", "the portal's scripts read it")

	secure := e.signIn(e.tokens[requester], map[string]string{"X-Forwarded-Proto": "https"})
	require.Equal(t, http.StatusSeeOther, secure.StatusCode)
	for _, c := range secure.Cookies() {
		assert.True(t, c.Secure, c.Name)
	}

	bad := e.signIn("cs_nonsense", nil)
	assert.Equal(t, http.StatusUnauthorized, bad.StatusCode)
	assert.Empty(t, bad.Cookies())
	dev := e.signIn("dev-alice", nil)
	assert.Equal(t, http.StatusUnauthorized, dev.StatusCode, "dev tokens only work in dev mode")

	// The shell, its files and the API's own 404 live side by side.
	for path, want := range map[string]int{"/static/css/portal.css": 200, "/static/js/app.js": 200, "/ui/signin": 200, "/api/v2/nothing/": 404} {
		resp, err := http.Get(e.url + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, path)
	}
	status, body := e.call(personaAnonymous, "GET", "/api/v2/nothing/", nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "Not found.", body["detail"])
}
