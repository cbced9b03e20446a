package awxsim_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

func TestServer_Auth(t *testing.T) {
	e := newEnv(t)
	notProvided := detail("Authentication credentials were not provided. To establish a login session, visit /api/login/.")

	t.Run("no credentials", func(t *testing.T) {
		req := e.request("GET", "/api/v2/me/", nil)
		req.Header.Del("Authorization")
		r := e.send(req)
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, notProvided, r.json(t))
		assert.Equal(t, "Bearer realm=api authorization_url=/api/o/authorize/", r.header.Get("WWW-Authenticate"))
	})
	t.Run("unknown token is anonymous", func(t *testing.T) {
		req := e.request("GET", "/api/v2/job_templates/7/", nil)
		req.Header.Set("Authorization", "Bearer wrong")
		r := e.send(req)
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, notProvided, r.json(t))
		assert.NotEmpty(t, r.header.Get("WWW-Authenticate"))
	})
	t.Run("basic credentials", func(t *testing.T) {
		req := e.request("GET", "/api/v2/me/", nil)
		req.SetBasicAuth("admin", "password")
		r := e.send(req)
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, detail("Invalid username/password. To establish a login session, visit /api/login/."), r.json(t))
	})
	t.Run("authentication comes before the method check", func(t *testing.T) {
		req := e.request("DELETE", "/api/v2/me/", nil)
		req.Header.Del("Authorization")
		assert.Equal(t, http.StatusUnauthorized, e.send(req).status)
	})
	t.Run("unknown paths are 404 without credentials", func(t *testing.T) {
		for _, path := range []string{"/api/v2/nothing/", "/api/v2/jobs/abc/"} {
			req := e.request("GET", path, nil)
			req.Header.Del("Authorization")
			r := e.send(req)
			assert.Equal(t, http.StatusNotFound, r.status, path)
			assert.Equal(t, detail("Not found."), r.json(t), path)
		}
	})
	t.Run("control endpoints need the token", func(t *testing.T) {
		req := e.request("GET", "/_sim/jobs", nil)
		req.Header.Del("Authorization")
		assert.Equal(t, http.StatusUnauthorized, e.send(req).status)
	})
	t.Run("accepted token", func(t *testing.T) {
		r := e.do("GET", "/api/v2/me/", nil)
		assert.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "AWX", r.header.Get("X-API-Product-Name"))
		assert.Equal(t, "24.6.1", r.header.Get("X-API-Product-Version"))
	})
	t.Run("without configured tokens any bearer token is accepted", func(t *testing.T) {
		open := newEnv(t, func(c *awxsim.Config) { c.Tokens = nil })
		req := open.request("GET", "/api/v2/me/", nil)
		req.Header.Set("Authorization", "Bearer anything")
		assert.Equal(t, http.StatusOK, open.send(req).status)
		req.Header.Set("Authorization", "Bearer ")
		assert.Equal(t, http.StatusUnauthorized, open.send(req).status)
	})
}

func TestServer_PingNeedsNoAuth(t *testing.T) {
	e := newEnv(t)
	for _, authz := range []string{"", "Bearer wrong"} {
		req := e.request("GET", "/api/v2/ping/", nil)
		req.Header.Set("Authorization", authz)
		r := e.send(req)
		require.Equal(t, http.StatusOK, r.status)
		body := r.json(t)
		assert.Equal(t, "24.6.1", body["version"])
		assert.Equal(t, false, body["ha"])
		assert.NotEmpty(t, body["instances"])
	}
}

func TestServer_Me(t *testing.T) {
	e := newEnv(t)
	page := e.get("/api/v2/me/")
	assert.Equal(t, float64(1), page["count"])
	assert.Nil(t, page["next"])
	assert.Nil(t, page["previous"])
	users := results(t, page)
	require.Len(t, users, 1)
	assert.Equal(t, "countersign", users[0]["username"])
	assert.Equal(t, "user", users[0]["type"])
	assert.Equal(t, "/api/v2/users/1/", users[0]["url"])
}

func TestServer_NotFoundAndMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{
		"/api/v2/job_templates/999/", "/api/v2/job_templates/abc/", "/api/v2/workflow_job_templates/7/",
		"/api/v2/job_templates/11/launch/", "/api/v2/jobs/12345/", "/api/v2/job_templates/7/nothing/",
		"/api/v1/ping/",
	} {
		r := e.do("GET", path, nil)
		assert.Equal(t, http.StatusNotFound, r.status, path)
		assert.Equal(t, detail("Not found."), r.json(t), path)
	}
	// Like Django's APPEND_SLASH, a missing trailing slash is redirected.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(e.request("GET", "/api/v2/job_templates/7", nil))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
	assert.Equal(t, "/api/v2/job_templates/7/", resp.Header.Get("Location"))
	resp, err = noRedirect.Do(e.request("POST", "/api/v2/job_templates/9/launch?x=1", map[string]any{}))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMovedPermanently, resp.StatusCode, "POST too, which a client must not follow blindly")
	assert.Equal(t, "/api/v2/job_templates/9/launch/?x=1", resp.Header.Get("Location"))
	assert.Empty(t, e.sim.Jobs())

	for _, c := range []struct{ method, path string }{
		{"DELETE", "/api/v2/job_templates/7/"},
		{"PUT", "/api/v2/jobs/"},
		{"POST", "/api/v2/job_templates/7/survey_spec/"},
		{"PATCH", "/api/v2/workflow_job_templates/11/launch/"},
	} {
		r := e.do(c.method, c.path, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, r.status, c.path)
		assert.Equal(t, detail(`Method "`+c.method+`" not allowed.`), r.json(t), c.path)
	}
}

func TestServer_ConcurrentLaunches(t *testing.T) {
	e := newEnv(t)
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.client.Do(e.request("POST", launchPath(awxsim.KindJob, awxsim.DemoHealthCheckID), map[string]any{}))
			if !assert.NoError(t, err) {
				return
			}
			defer resp.Body.Close()
			assert.Equal(t, http.StatusCreated, resp.StatusCode)
			_ = e.sim.Jobs() // reads race with launches
		}()
	}
	wg.Wait()
	assert.Equal(t, n, e.sim.LaunchCount(awxsim.KindJob, awxsim.DemoHealthCheckID))
	seen := map[int64]bool{}
	for _, j := range e.sim.Jobs() {
		assert.False(t, seen[j.ID], "duplicate job id %d", j.ID)
		seen[j.ID] = true
	}
	assert.Len(t, seen, n)
}
