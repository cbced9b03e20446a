package awxsim_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// AWX's UI links to a job as <AWX_URL>/#/jobs/playbook/<id> or
// /#/jobs/workflow/<id>: the fragment never reaches the server, so the
// simulator serves / with a page that reads it and shows the job from the
// API, read-only, with nothing from elsewhere.
func TestServer_JobPage(t *testing.T) {
	e := newEnv(t)
	req := e.request("GET", "/", nil)
	req.Header.Del("Authorization")
	r := e.send(req)
	require.Equal(t, http.StatusOK, r.status, "the page itself needs no token: %s", r.raw)
	assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	page := string(r.raw)

	// It reads the job from the API, for either kind of job in the fragment.
	for _, s := range []string{"/api/v2/jobs/", "/api/v2/workflow_jobs/", "jobs/playbook", "jobs/workflow", "Authorization"} {
		assert.Contains(t, page, s)
	}
	// Nothing from elsewhere, and the browser holds it to that.
	assert.NotRegexp(t, `(?i)https?:|<link|<img|<iframe|<object|\ssrc\s*=|\shref\s*=|@import|url\(`, page)
	csp := r.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"} {
		assert.Contains(t, csp, d)
	}
	assert.NotContains(t, csp, "unsafe")
	// Its inline script and style are allowed by hash: the page works
	// under its own policy.
	for tag, directive := range map[string]string{"script": "script-src", "style": "style-src"} {
		m := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(page, -1)
		require.Len(t, m, 1, "one inline %s", tag)
		sum := sha256.Sum256([]byte(m[0][1]))
		assert.Contains(t, csp, directive+" 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	assert.NotContains(t, page, token, "the page holds no credential")

	t.Run("only at the root", func(t *testing.T) {
		r := e.do("POST", "/", nil)
		assert.Equal(t, http.StatusMethodNotAllowed, r.status)
		r = e.do("GET", "/jobs/playbook/1", nil)
		assert.Equal(t, http.StatusNotFound, r.status)
		assert.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "application/json"))
	})
}
