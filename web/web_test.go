package web_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/web"
)

const (
	goodToken = "cs_good"
	// goodSession is the session id signing in with goodToken starts; the
	// cookie holds it, never the token.
	goodSession = "s_good"
)

// sessions stands in for the server-side sessions the API keeps.
type sessions struct {
	mu      sync.Mutex
	revoked []string
}

func (s *sessions) signIn(_ context.Context, token, _ string) (string, error) {
	switch token {
	case goodToken, "dev-alice":
		return goodSession, nil
	case "cs_db_down":
		return "", errors.New("database unavailable")
	}
	return "", web.ErrBadToken
}

func (s *sessions) session(_ context.Context, id string) (web.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == goodSession && !slices.Contains(s.revoked, id) {
		return web.User{Username: "alice", Name: "Alice Requester"}, nil
	}
	return web.User{}, web.ErrNoSession
}

func (s *sessions) signOut(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = append(s.revoked, id)
	return nil
}

func newPortal(dev bool) *web.Portal {
	p, _ := newPortalWithSessions(dev)
	return p
}

func newPortalWithSessions(dev bool) (*web.Portal, *sessions) {
	s := &sessions{}
	cfg := web.Config{SignIn: s.signIn, Session: s.session, SignOut: s.signOut}
	if dev {
		cfg.DevUsers = func(context.Context) ([]web.User, error) {
			return []web.User{{Username: "alice", Name: "Alice Requester"}, {Username: "bob"}}, nil
		}
	}
	return web.New(cfg), s
}

func do(t *testing.T, h http.Handler, r *http.Request) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	resp := w.Result()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func signInRequest(token string) *http.Request {
	r := httptest.NewRequest("POST", "/ui/session", strings.NewReader(url.Values{"token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return r
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestPortal_SignIn(t *testing.T) {
	p := newPortal(false)

	t.Run("the shell sends strangers to the sign-in page", func(t *testing.T) {
		resp, _ := do(t, p, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		assert.Equal(t, "/ui/signin", resp.Header.Get("Location"))
	})

	t.Run("the sign-in page has a labelled token field and no picker", func(t *testing.T) {
		resp, body := do(t, p, httptest.NewRequest("GET", "/ui/signin", nil))
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `<label for="token">API token</label>`)
		assert.NotContains(t, body, "Demo users")
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
	})

	t.Run("signing in again for a decision, with tokens: the sign-in page says why and keeps the route", func(t *testing.T) {
		resp, body := do(t, p, httptest.NewRequest("GET", "/ui/signin/again?within=15m&next=%23/requests/7", nil))
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, "This decision needs a recent sign-in")
		assert.Contains(t, body, `name="next" value="#/requests/7"`)
	})

	t.Run("a bad token is refused with a message and no cookie", func(t *testing.T) {
		resp, body := do(t, p, signInRequest("cs_wrong"))
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Contains(t, body, "This token is not valid")
		assert.Empty(t, resp.Cookies())
	})

	t.Run("a token that cannot be checked is a 503", func(t *testing.T) {
		resp, body := do(t, p, signInRequest("cs_db_down"))
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.Contains(t, body, "cannot check tokens")
		assert.NotContains(t, body, "database unavailable")
	})

	t.Run("a good token starts a session", func(t *testing.T) {
		resp, _ := do(t, p, signInRequest(goodToken))
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		assert.Equal(t, "/", resp.Header.Get("Location"))
		session := cookieNamed(resp, web.SessionCookie)
		require.NotNil(t, session)
		assert.Equal(t, goodSession, session.Value, "the session id, never the token")
		assert.True(t, session.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, session.SameSite, "links from other sites arrive signed in")
		assert.Equal(t, "/", session.Path)
		assert.False(t, session.Secure, "plain HTTP")
		csrf := cookieNamed(resp, web.CSRFCookie)
		require.NotNil(t, csrf)
		assert.Len(t, csrf.Value, 64)
		assert.False(t, csrf.HttpOnly, "the scripts read it")
		assert.Equal(t, http.SameSiteLaxMode, csrf.SameSite)
	})

	t.Run("sign-in returns to the route the user was heading to", func(t *testing.T) {
		for next, want := range map[string]string{
			"#/requests/12":                 "/#/requests/12",
			"#/admin/policies":              "/#/admin/policies",
			"":                              "/",
			"#requests":                     "/",
			"/#/requests/1":                 "/",
			"//elsewhere.example/":          "/",
			"https://elsewhere.example":     "/",
			"#/a b":                         "/",
			"#/a\r\nSet-Cookie: x=1":        "/",
			"#/" + strings.Repeat("x", 300): "/",
		} {
			r := httptest.NewRequest("POST", "/ui/session", strings.NewReader(url.Values{"token": {goodToken}, "next": {next}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, _ := do(t, p, r)
			assert.Equal(t, http.StatusSeeOther, resp.StatusCode, next)
			assert.Equal(t, want, resp.Header.Get("Location"), "next %q", next)
			assert.Len(t, resp.Cookies(), 2, next)
		}
	})

	t.Run("a failed sign-in keeps the route for the next try", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/ui/session", strings.NewReader(url.Values{"token": {"cs_wrong"}, "next": {"#/requests/12"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, body := do(t, p, r)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Contains(t, body, `name="next" value="#/requests/12"`)
	})

	t.Run("signing in again revokes the session it replaces", func(t *testing.T) {
		p, sessions := newPortalWithSessions(false)
		r := signInRequest(goodToken)
		r.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: "s_before"})
		resp, _ := do(t, p, r)
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		assert.Equal(t, []string{"s_before"}, sessions.revoked)
	})

	t.Run("cookies are Secure behind a TLS proxy", func(t *testing.T) {
		r := signInRequest(goodToken)
		r.Header.Set("X-Forwarded-Proto", "https")
		resp, _ := do(t, p, r)
		require.Len(t, resp.Cookies(), 2)
		for _, c := range resp.Cookies() {
			assert.True(t, c.Secure, c.Name)
		}
	})

	t.Run("cross-site sign-in is refused", func(t *testing.T) {
		r := signInRequest(goodToken)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, _ := do(t, p, r)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Empty(t, resp.Cookies())

		r = signInRequest(goodToken)
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set("Origin", "https://elsewhere.example")
		resp, _ = do(t, p, r)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})

	t.Run("the shell greets a signed-in user", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: goodSession})
		r.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: "abc"})
		resp, body := do(t, p, r)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `id="whoami">alice<`)
		assert.Contains(t, body, `<meta name="csrf-token" content="abc">`)
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	})

	t.Run("a stale session is cleared", func(t *testing.T) {
		for _, stale := range []string{"s_revoked", goodToken} {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: stale})
			resp, _ := do(t, p, r)
			assert.Equal(t, http.StatusSeeOther, resp.StatusCode, stale)
			assert.Equal(t, "/ui/signin?expired=1", resp.Header.Get("Location"))
			c := cookieNamed(resp, web.SessionCookie)
			require.NotNil(t, c)
			assert.Negative(t, c.MaxAge)
		}
	})

	t.Run("sign-out needs the CSRF value and revokes the session", func(t *testing.T) {
		p, sessions := newPortalWithSessions(false)
		signOut := func(csrf string) *http.Response {
			r := httptest.NewRequest("POST", "/ui/signout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: goodSession})
			r.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: "abc"})
			resp, _ := do(t, p, r)
			return resp
		}
		resp := signOut("wrong")
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Empty(t, resp.Cookies())
		assert.Empty(t, sessions.revoked)
		resp = signOut("abc")
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		for _, name := range []string{web.SessionCookie, web.CSRFCookie} {
			c := cookieNamed(resp, name)
			require.NotNil(t, c, name)
			assert.Negative(t, c.MaxAge, name)
		}
		assert.Equal(t, []string{goodSession}, sessions.revoked)
	})
}

func TestPortal_DevPicker(t *testing.T) {
	resp, body := do(t, newPortal(true), httptest.NewRequest("GET", "/ui/signin", nil))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Demo users")
	assert.Contains(t, body, `value="dev-alice"`)
	assert.Contains(t, body, `value="dev-bob"`)
	assert.Contains(t, body, "Alice Requester")
}

func TestPortal_Static(t *testing.T) {
	p := newPortal(false)

	resp, body := do(t, p, httptest.NewRequest("GET", "/static/js/app.js", nil))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "javascript")
	assert.Contains(t, body, "hashchange")
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)
	r := httptest.NewRequest("GET", "/static/js/app.js", nil)
	r.Header.Set("If-None-Match", etag)
	resp, _ = do(t, p, r)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)

	resp, body = do(t, p, httptest.NewRequest("GET", "/static/icons/no-such-icon-anywhere.svg", nil))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a missing icon degrades to the placeholder")
	assert.Equal(t, "1", resp.Header.Get("X-Icon-Missing"))
	assert.Contains(t, body, "<svg")

	resp, body = do(t, p, httptest.NewRequest("GET", "/static/../web.go", nil))
	assert.NotEqual(t, http.StatusOK, resp.StatusCode)
	assert.NotContains(t, body, "package web")
	for _, path := range []string{"/static/js/", "/static/nothing.css", "/ui/nowhere"} {
		resp, _ = do(t, p, httptest.NewRequest("GET", path, nil))
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}
}

// TestPortal_IconsInstalled fails when the build did not copy lucide's
// icons into static/icons (the portal would show placeholders only).
func TestPortal_IconsInstalled(t *testing.T) {
	require.True(t, web.IconsInstalled(),
		"lucide's icons are not in web/static/icons: run `npm ci --prefix web` and copy web/node_modules/lucide-static/icons/*.svg there (the Makefile's web target does both)")
	resp, body := do(t, newPortal(false), httptest.NewRequest("GET", "/static/icons/server.svg", nil))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("X-Icon-Missing"))
	assert.Contains(t, body, "lucide")
}

// TestPortal_ScriptsImportWhatExists catches a module that imports a file
// or a name another module does not have.
func TestPortal_ScriptsImportWhatExists(t *testing.T) {
	dir := filepath.Join("static", "js")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	importRe := regexp.MustCompile(`(?s)import\s*\{([^}]*)\}\s*from\s*'\./([a-z-]+\.js)'`)
	exportRe := regexp.MustCompile(`export\s+(?:async\s+)?(?:function|const|class|let)\s+([A-Za-z_$][\w$]*)`)
	exports := map[string]map[string]bool{}
	sources := map[string]string{}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		sources[e.Name()] = string(raw)
		exports[e.Name()] = map[string]bool{}
		for _, m := range exportRe.FindAllStringSubmatch(string(raw), -1) {
			exports[e.Name()][m[1]] = true
		}
	}
	for name, src := range sources {
		for _, m := range importRe.FindAllStringSubmatch(src, -1) {
			target, ok := exports[m[2]]
			if !assert.True(t, ok, "%s imports missing %s", name, m[2]) {
				continue
			}
			for _, id := range strings.Split(m[1], ",") {
				if id = strings.TrimSpace(id); id != "" {
					assert.True(t, target[id], "%s imports %s, which %s does not export", name, id, m[2])
				}
			}
		}
	}
	_, err = fs.Stat(os.DirFS("static"), "img/icon-placeholder.svg")
	require.NoError(t, err)
}

// A sign-in returns to a hash route of the portal or to the confirm page of
// a mail's decision link, and nowhere else.
func TestNextRoute(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"#/requests/7", "#/requests/7"},
		{"/ui/mail/decide?t=eyJpZCI6ImEifQ.c2ln-_", "/ui/mail/decide?t=eyJpZCI6ImEifQ.c2ln-_"},
		{"/ui/mail/decide?t=", ""},
		{"/ui/mail/decide?t=a b", ""},
		{"/ui/mail/decide?t=a&next=//evil.example", ""},
		{"/ui/mail/decide?t=" + strings.Repeat("a", 1025), ""},
		{"//evil.example/ui/mail/decide?t=a", ""},
		{"https://evil.example/", ""},
		{"/ui/admin", ""},
		{"#/a b", ""},
	} {
		assert.Equal(t, tc.want, web.NextRoute(tc.in), tc.in)
	}
}

// The address mails and Slack messages give for a request is one the
// portal serves (the request itself is a route of the page's fragment).
func TestPortal_ServesTheRequestPageNotificationsLinkTo(t *testing.T) {
	p := newPortal(false)
	u, err := url.Parse(notify.RequestPage("https://cs.example/", 7))
	require.NoError(t, err)
	assert.Equal(t, "/requests/7", u.Fragment)
	resp, _ := do(t, p, httptest.NewRequest("GET", u.Path, nil))
	assert.Less(t, resp.StatusCode, 400, "GET %s", u.Path)
	resp, _ = do(t, p, httptest.NewRequest("GET", "/ui/requests/7", nil))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a request is no path of its own")
}
