package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/web"
)

// testClock is the API's clock, moved on by the test.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// signOut posts the portal's sign-out form with s's cookies and CSRF value.
func (e *env) signOut(s portalSession) int {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+"/ui/signout", strings.NewReader(url.Values{"csrf": {s.csrf}}.Encode()))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: s.token})
	req.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: s.csrf})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(e.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// me is who a portal session's cookie authenticates as: the status of
// GET /api/v2/me/.
func (e *env) me(s portalSession) int {
	e.t.Helper()
	status, _ := e.cookieCall(s, "GET", "/api/v2/me/", nil, "", true)
	return status
}

func TestSessions_CookieIsNotTheToken(t *testing.T) {
	e := newEnv(t)
	alice := e.session(requester)

	assert.NotEqual(t, e.tokens[requester], alice.token)
	assert.NotContains(t, alice.token, e.tokens[requester])
	assert.Equal(t, http.StatusOK, e.me(alice))

	asCookie := portalSession{token: e.tokens[requester], csrf: alice.csrf}
	assert.Equal(t, http.StatusUnauthorized, e.me(asCookie), "a token is not accepted as a cookie")
	status, _ := e.call(alice.token, "GET", "/api/v2/me/", nil)
	assert.Equal(t, http.StatusUnauthorized, status, "a session id is not accepted as a bearer token")

	t.Run("sign-out revokes the session server-side", func(t *testing.T) {
		other := e.session(requester)
		assert.Equal(t, http.StatusSeeOther, e.signOut(alice))
		assert.Equal(t, http.StatusUnauthorized, e.me(alice), "the old cookie is worth nothing")
		assert.Equal(t, http.StatusOK, e.me(other), "the user's other sessions stay")
		e.must(http.StatusOK, requester, "GET", "/api/v2/me/", nil) // the token stays valid for the API

		req, err := http.NewRequest("GET", e.url+"/", nil)
		require.NoError(t, err)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: alice.token})
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		assert.Equal(t, "/ui/signin?expired=1", resp.Header.Get("Location"))
	})
}

func TestSessions_Lifetimes(t *testing.T) {
	clock := &testClock{}
	e := newEnv(t, func(d *api.Deps) {
		d.Now, d.SessionIdleTimeout, d.SessionMaxLifetime = clock.now, time.Hour, 3*time.Hour
	})

	t.Run("idle timeout", func(t *testing.T) {
		s := e.session(requester)
		clock.advance(59 * time.Minute)
		require.Equal(t, http.StatusOK, e.me(s))
		clock.advance(59 * time.Minute)
		require.Equal(t, http.StatusOK, e.me(s), "used within the idle timeout of its last use")
		clock.advance(61 * time.Minute)
		assert.Equal(t, http.StatusUnauthorized, e.me(s))
		clock.advance(-61 * time.Minute)
		assert.Equal(t, http.StatusOK, e.me(s), "the limits are judged at each call, not by a sweep")
	})

	t.Run("absolute lifetime", func(t *testing.T) {
		s := e.session(requester)
		for range 3 {
			clock.advance(55 * time.Minute)
			require.Equal(t, http.StatusOK, e.me(s))
		}
		clock.advance(15 * time.Minute) // 3h10m after signing in, used 15 minutes ago
		assert.Equal(t, http.StatusUnauthorized, e.me(s), "ended however used")
	})
}

func TestSessions_DeactivationAndDeletionRevoke(t *testing.T) {
	e := newEnv(t)
	alice := e.session(requester)
	aliceID := idOf(e.must(http.StatusOK, requester, "GET", "/api/v2/me/", nil))
	path := fmt.Sprintf("/api/v2/users/%d/", aliceID)

	e.must(http.StatusOK, superuser, "PATCH", path, map[string]any{"is_active": false})
	assert.Equal(t, http.StatusUnauthorized, e.me(alice))
	e.must(http.StatusOK, superuser, "PATCH", path, map[string]any{"is_active": true})
	assert.Equal(t, http.StatusUnauthorized, e.me(alice), "revoked, not only refused while inactive")
	assert.Equal(t, http.StatusOK, e.me(e.session(requester)), "signing in again works")

	zed := e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "zed"})
	token := e.must(http.StatusCreated, superuser, "POST", fmt.Sprintf("/api/v2/users/%d/tokens/", idOf(zed)), map[string]any{})
	e.tokens["zed"] = token["token"].(string)
	s := e.session("zed")
	require.Equal(t, http.StatusOK, e.me(s))
	e.must(http.StatusNoContent, superuser, "DELETE", fmt.Sprintf("/api/v2/users/%d/", idOf(zed)), nil)
	assert.Equal(t, http.StatusUnauthorized, e.me(s))
}

func TestSessions_ListAndRevoke(t *testing.T) {
	e := newEnv(t)
	a1, a2 := e.session(requester), e.session(requester)
	e.session(approver)
	aliceID := idOf(e.must(http.StatusOK, requester, "GET", "/api/v2/me/", nil))
	usersPath := fmt.Sprintf("/api/v2/users/%d/sessions/", aliceID)

	status, list := e.cookieCall(a1, "GET", "/api/v2/me/sessions/", nil, "", true)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 2, list["count"])
	var current, a2ID float64
	for _, r := range list["results"].([]any) {
		x := r.(map[string]any)
		assert.Equal(t, "session", x["type"])
		assert.EqualValues(t, aliceID, x["user"])
		for _, field := range []string{"created", "last_seen", "expires", "auth_time", "user_agent"} {
			assert.Contains(t, x, field)
		}
		assert.Equal(t, map[string]any{"delete": true}, x["summary_fields"].(map[string]any)["user_capabilities"])
		if x["current"] == true {
			current = x["id"].(float64)
		} else {
			a2ID = x["id"].(float64)
		}
	}
	require.NotZero(t, current, "the caller's own session is marked")
	require.NotZero(t, a2ID)
	bodies := e.bodies.String()
	for _, secret := range []string{a1.token, a2.token} {
		assert.NotContains(t, bodies, secret, "no answer shows a session id")
	}

	t.Run("who may list", func(t *testing.T) {
		for user, want := range map[string]int{requester: 200, superuser: 200, orgAdmin: 403, approver: 404, otherAdmin: 404} {
			status, body := e.call(user, "GET", usersPath, nil)
			assert.Equal(t, want, status, user)
			if want == 200 {
				assert.EqualValues(t, 2, body["count"], user)
				for _, r := range body["results"].([]any) {
					assert.Equal(t, false, r.(map[string]any)["current"], "a bearer call has no session")
				}
			}
		}
		body := e.must(http.StatusOK, approver, "GET", "/api/v2/me/sessions/", nil)
		assert.EqualValues(t, 1, body["count"])
		e.must(http.StatusNotFound, superuser, "GET", "/api/v2/users/99999/sessions/", nil)
	})

	t.Run("who may revoke", func(t *testing.T) {
		path := fmt.Sprintf("/api/v2/sessions/%d/", int64(a2ID))
		for _, user := range []string{approver, orgAdmin, otherAdmin} {
			e.must(http.StatusNotFound, user, "DELETE", path, nil)
		}
		status, _ := e.cookieCall(a1, "DELETE", path, nil, "", true)
		assert.Equal(t, http.StatusForbidden, status, "CSRF protection stays")
		assert.Equal(t, http.StatusOK, e.me(a2))

		status, _ = e.cookieCall(a1, "DELETE", path, nil, a1.csrf, true)
		assert.Equal(t, http.StatusNoContent, status)
		assert.Equal(t, http.StatusUnauthorized, e.me(a2))
		assert.Equal(t, http.StatusOK, e.me(a1))
		body := e.must(http.StatusOK, requester, "GET", "/api/v2/me/sessions/", nil)
		assert.EqualValues(t, 1, body["count"], "revoked sessions are not listed")

		e.must(http.StatusNoContent, superuser, "DELETE", fmt.Sprintf("/api/v2/sessions/%d/", int64(current)), nil)
		assert.Equal(t, http.StatusUnauthorized, e.me(a1))
		e.must(http.StatusNotFound, superuser, "DELETE", "/api/v2/sessions/99999/", nil)
	})
}
