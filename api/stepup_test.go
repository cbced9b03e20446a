package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/web"
)

// decideAsPortal sends a decision with the browser's portal session, as
// the portal's scripts do (cookie and CSRF header).
func (o *oidcEnv) decideAsPortal(b *browser, id int64, action string, body map[string]any) (int, map[string]any) {
	o.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(o.t, err)
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v2/service_requests/%d/%s/", o.api, id, action), strings.NewReader(string(raw)))
	require.NoError(o.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.CSRFHeader, b.cookie(o.api, web.CSRFCookie))
	resp, out := b.read(b.http.Do(req))
	return resp.StatusCode, decodeObject(o.t, []byte(out))
}

// A stage that requires a recent sign-in: an API token cannot decide it,
// a portal session signed in too long ago is refused and sent through the
// provider again (max_age), and then decides; the decision keeps the
// sign-in it was judged by.
func TestStepUp_StageRequiringARecentSignIn(t *testing.T) {
	o := newOIDCEnv(t)
	_, restart := o.catalog()
	o.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": o.orgID(), "name": "restarts in production", "priority": 1,
		"stages": []map[string]any{{"name": "SRE", "approver_team": o.teamID("sre"), "require_recent_login": "15m"}},
	})
	id := o.submitAndWait(requester, restart, restartServiceAnswers(), approver)
	path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
	assert.Equal(t, "15m0s", o.must(http.StatusOK, approver, "GET", path, nil)["stages"].([]any)[0].(map[string]any)["require_recent_login"])

	t.Run("an API token cannot decide it", func(t *testing.T) {
		out := o.must(http.StatusForbidden, approver, "POST", path+"approve/", map[string]any{})
		assert.Equal(t, "recent_login_required", out["code"])
		assert.Contains(t, out["detail"], "sign in again in the portal")
	})

	t.Run("who may not decide at all is told so, not asked to sign in", func(t *testing.T) {
		out := o.must(http.StatusForbidden, orgAdmin, "POST", path+"approve/", map[string]any{})
		assert.Equal(t, "not_eligible", out["code"])
	})

	b := o.browser()
	o.signIn(b, approver)
	_, err := o.stack.Store.DB().ExecContext(context.Background(),
		`UPDATE sessions SET auth_time = auth_time - interval '1 hour' WHERE user_id = $1 AND revoked_at IS NULL`, o.userID(approver))
	require.NoError(t, err)

	t.Run("a portal session signed in an hour ago is refused", func(t *testing.T) {
		status, out := o.decideAsPortal(b, id, "approve", map[string]any{"comment": "ok"})
		assert.Equal(t, http.StatusForbidden, status)
		assert.Equal(t, "recent_login_required", out["code"])
	})

	t.Run("signing in again asks the provider for a login within the stage's limit, then decides", func(t *testing.T) {
		next := fmt.Sprintf("#/requests/%d", id)
		stop := &http.Client{Jar: b.jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, _ := b.read(stop.Get(o.api + "/ui/signin/again?" + url.Values{"within": {"15m0s"}, "next": {next}}.Encode()))
		require.Equal(t, http.StatusFound, resp.StatusCode)
		authorize, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, "900", authorize.Query().Get("max_age"))

		// The provider's own login is a moment old: it lets the browser
		// through, and the new session dates from that login.
		resp, body := b.read(b.http.Get(authorize.String()))
		require.Equal(t, http.StatusFound, resp.StatusCode, body)
		cb, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		resp, body = b.visit(cb)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		assert.Equal(t, "/"+next, resp.Header.Get("Location"), "back to the request")

		status, out := o.decideAsPortal(b, id, "approve", map[string]any{"comment": "checked"})
		require.Equal(t, http.StatusOK, status, "%v", out)
		resp0 := out["stages"].([]any)[0].(map[string]any)["responses"].([]any)[0].(map[string]any)
		assert.Equal(t, "portal", resp0["channel"])
		assert.NotNil(t, resp0["signed_in_at"], "the approval keeps the sign-in it was judged by")
	})

	t.Run("a step-up without a readable limit asks for a new login", func(t *testing.T) {
		stop := &http.Client{Jar: b.jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, _ := b.read(stop.Get(o.api + "/ui/signin/again?within=soon&next=%23/requests"))
		require.Equal(t, http.StatusFound, resp.StatusCode)
		authorize, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, "0", authorize.Query().Get("max_age"))
		resp, body := b.read(b.http.Get(authorize.String()))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		loginForm(t, body) // the provider's form, though its own login is a moment old
	})
}
