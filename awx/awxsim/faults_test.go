package awxsim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

const launch9 = "/api/v2/job_templates/9/launch/"

// tryLaunch launches job template 9 and returns the transport error, if any.
func (e *env) tryLaunch() (int, error) {
	resp, err := e.client.Do(e.request("POST", launch9, map[string]any{}))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestFaults_Delay(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(awxsim.Fault{Method: "POST", Path: launch9, Kind: awxsim.FaultDelay, Delay: 300 * time.Millisecond})

	start := time.Now()
	assert.Equal(t, http.StatusOK, e.do("GET", launch9, nil).status)
	assert.Less(t, time.Since(start), 250*time.Millisecond, "only POST matches")

	start = time.Now()
	code, err := e.tryLaunch()
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, code)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	assert.Equal(t, 1, e.sim.LaunchCount(awxsim.KindJob, 9))
}

func TestFaults_DelayedRequestAbandoned(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(awxsim.Fault{Path: launch9, Kind: awxsim.FaultDelay, Delay: 400 * time.Millisecond})
	e.client.Timeout = 100 * time.Millisecond
	_, err := e.tryLaunch()
	require.Error(t, err)
	time.Sleep(600 * time.Millisecond)
	assert.Equal(t, 0, e.sim.LaunchCount(awxsim.KindJob, 9), "a request the client gave up on is not performed")
	assert.Equal(t, 1, e.sim.RequestCount("POST", launch9))
}

func TestFaults_Status(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(awxsim.Fault{Path: launch9, Kind: awxsim.FaultStatus, Times: 1})
	r := e.do("POST", launch9, map[string]any{})
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "text/html", r.header.Get("Content-Type"))
	assert.Contains(t, string(r.raw), "<h1>503 Service Temporarily Unavailable</h1>")
	assert.Equal(t, 0, e.sim.LaunchCount(awxsim.KindJob, 9), "the request was not performed")

	e.sim.InjectFault(awxsim.Fault{Path: launch9, Kind: awxsim.FaultStatus, Status: 500, Times: 1})
	r = e.do("POST", launch9, map[string]any{})
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Equal(t, detail("A server error has occurred."), r.json(t))

	e.sim.InjectFault(awxsim.Fault{Path: "/api/v2/jobs/", Kind: awxsim.FaultStatus, Status: 504, Times: 1})
	r = e.do("GET", "/api/v2/jobs/", nil)
	assert.Equal(t, http.StatusGatewayTimeout, r.status)
	assert.Contains(t, string(r.raw), "504 Gateway Time-out")

	assert.Equal(t, http.StatusCreated, e.do("POST", launch9, map[string]any{}).status, "every fault was used up")
	assert.Equal(t, 1, e.sim.LaunchCount(awxsim.KindJob, 9))
	assert.Equal(t, 3, e.sim.RequestCount("POST", launch9))
}

func TestFaults_Reset(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(awxsim.Fault{Method: "POST", Path: launch9, Kind: awxsim.FaultReset})
	for range 3 {
		_, err := e.tryLaunch()
		require.Error(t, err)
		assert.True(t, errors.Is(err, syscall.ECONNRESET), "want a connection reset, got %v", err)
	}
	assert.Equal(t, 0, e.sim.LaunchCount(awxsim.KindJob, 9), "a reset request is not performed")
	assert.Equal(t, 3, e.sim.RequestCount("POST", launch9), "faulted requests are counted")
	assert.Equal(t, 0, e.sim.RequestCount("GET", launch9))
}

func TestFaults_DropResponse(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(awxsim.Fault{Method: "POST", Path: launch9, Kind: awxsim.FaultDropResponse, Times: 1})
	_, err := e.tryLaunch()
	require.Error(t, err, "the client never sees the response")

	jobs := e.sim.Jobs()
	require.Len(t, jobs, 1, "but the job was created, exactly once")
	assert.Equal(t, int64(9), jobs[0].TemplateID)
	assert.Equal(t, 1, e.sim.LaunchCount(awxsim.KindJob, 9))

	// The job can be found again the way AWX allows.
	found := e.get("/api/v2/jobs/?job_template=9&created_by__username=countersign&order_by=-id")
	assert.Equal(t, []int64{jobs[0].ID}, ids(t, found))
}

func TestFaults_MatchingAndRemoval(t *testing.T) {
	e := newEnv(t)
	byPath := e.sim.InjectFault(awxsim.Fault{Path: "/api/v2/job_templates/7/", Kind: awxsim.FaultStatus, Status: 502})
	assert.Equal(t, http.StatusCreated, e.do("POST", launch9, map[string]any{}).status, "other paths are not hit")
	assert.Equal(t, http.StatusBadGateway, e.do("GET", "/api/v2/job_templates/7/", nil).status)
	assert.Equal(t, http.StatusBadGateway, e.do("GET", "/api/v2/job_templates/7/launch/", nil).status, "the path is a prefix")

	// The first matching fault wins.
	first := e.sim.InjectFault(awxsim.Fault{Kind: awxsim.FaultStatus, Status: 503})
	assert.Equal(t, http.StatusBadGateway, e.do("GET", "/api/v2/job_templates/7/", nil).status)
	assert.Equal(t, http.StatusServiceUnavailable, e.do("GET", "/api/v2/ping/", nil).status)

	e.sim.RemoveFault(byPath)
	assert.Equal(t, http.StatusServiceUnavailable, e.do("GET", "/api/v2/job_templates/7/", nil).status)
	e.sim.RemoveFault(first)
	assert.Equal(t, http.StatusOK, e.do("GET", "/api/v2/job_templates/7/", nil).status)

	e.sim.InjectFault(awxsim.Fault{Kind: awxsim.FaultStatus, Times: 2})
	e.sim.InjectFault(awxsim.Fault{Kind: awxsim.FaultReset})
	assert.Equal(t, http.StatusServiceUnavailable, e.do("GET", "/api/v2/me/", nil).status)
	assert.Equal(t, http.StatusServiceUnavailable, e.do("GET", "/api/v2/me/", nil).status)
	_, err := e.client.Do(e.request("GET", "/api/v2/me/", nil))
	assert.Error(t, err, "the next fault takes over once the first is used up")
	e.sim.ClearFaults()
	assert.Equal(t, http.StatusOK, e.do("GET", "/api/v2/me/", nil).status)

	assert.Panics(t, func() { e.sim.InjectFault(awxsim.Fault{Kind: "explode"}) })
	assert.Panics(t, func() { e.sim.InjectFault(awxsim.Fault{Kind: awxsim.FaultDelay, Times: -1}) })
}

func TestFaults_JSON(t *testing.T) {
	f := awxsim.Fault{Method: "POST", Path: launch9, Kind: awxsim.FaultDelay, Delay: 1500 * time.Millisecond, Times: 2}
	raw, err := json.Marshal(f)
	require.NoError(t, err)
	assert.JSONEq(t, `{"method": "POST", "path": "`+launch9+`", "kind": "delay", "delay": "1.5s", "times": 2}`, string(raw))
	var back awxsim.Fault
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, f, back)
	assert.Error(t, json.Unmarshal([]byte(`{"kind": "delay", "delay": "soon"}`), &back))
	assert.Error(t, json.Unmarshal([]byte(`{"kind": "meltdown"}`), &back))
}

func TestControlEndpoints(t *testing.T) {
	e := newEnv(t)

	r := e.do("POST", "/_sim/faults", `{"method": "POST", "path": "`+launch9+`", "kind": "drop_response", "times": 1}`)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	created := r.json(t)
	assert.Equal(t, "drop_response", created["kind"])
	assert.NotZero(t, created["id"])

	var faults []map[string]any
	require.NoError(t, json.Unmarshal(e.do("GET", "/_sim/faults", nil).raw, &faults))
	require.Len(t, faults, 1)
	assert.Equal(t, float64(1), faults[0]["remaining"])

	_, err := e.tryLaunch()
	require.Error(t, err)
	var jobs []map[string]any
	require.NoError(t, json.Unmarshal(e.do("GET", "/_sim/jobs", nil).raw, &jobs))
	require.Len(t, jobs, 1)
	assert.Equal(t, "job", jobs[0]["kind"])
	assert.Equal(t, float64(9), jobs[0]["template_id"])
	assert.Equal(t, "pending", jobs[0]["status"])
	assert.Equal(t, "countersign", jobs[0]["created_by"])

	r = e.do("POST", "/_sim/faults", `{"path": "`+launch9+`", "kind": "delay", "delay": "250ms"}`)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	start := time.Now()
	code, err := e.tryLaunch()
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, code)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)

	// Control requests are never faulted, so a test can always recover.
	require.Equal(t, http.StatusCreated, e.do("POST", "/_sim/faults", `{"kind": "status", "status": 503}`).status)
	assert.Equal(t, http.StatusServiceUnavailable, e.do("GET", "/api/v2/me/", nil).status)
	assert.Equal(t, http.StatusOK, e.do("GET", "/_sim/faults", nil).status)
	assert.Equal(t, http.StatusNoContent, e.do("DELETE", "/_sim/faults", nil).status)
	assert.Equal(t, "[]\n", string(e.do("GET", "/_sim/faults", nil).raw))
	assert.Equal(t, http.StatusOK, e.do("GET", "/api/v2/me/", nil).status)
	assert.Equal(t, 0, e.sim.RequestCount("", "/_sim/"))

	r = e.do("POST", "/_sim/faults", `{"kind": "reset"}`)
	faultID := r.json(t)["id"].(float64)
	assert.Equal(t, http.StatusNoContent, e.do("DELETE", "/_sim/faults/"+jsonNumber(faultID), nil).status)
	assert.Equal(t, http.StatusNotFound, e.do("DELETE", "/_sim/faults/"+jsonNumber(faultID), nil).status)
	assert.Equal(t, http.StatusOK, e.do("GET", "/api/v2/me/", nil).status)

	for _, bad := range []string{`{"kind": "meltdown"}`, `{"kind": "delay", "delay": "soon"}`, `{"kind": "delay", "delay_ms": 5}`,
		`{"kind": "status", "status": 42}`, `[]`} {
		r := e.do("POST", "/_sim/faults", bad)
		assert.Equal(t, http.StatusBadRequest, r.status, bad)
		assert.True(t, strings.HasPrefix(r.json(t)["detail"].(string), "invalid fault: "), bad)
	}

	jobID := jobNumber(jobs[0]["id"])
	assert.Equal(t, http.StatusNoContent, e.do("POST", "/_sim/jobs/"+jobID+"/status", `{"status": "error", "explanation": "disk full"}`).status)
	job := e.get("/api/v2/jobs/" + jobID + "/")
	assert.Equal(t, "error", job["status"])
	assert.Equal(t, "disk full", job["job_explanation"])
	assert.Equal(t, http.StatusBadRequest, e.do("POST", "/_sim/jobs/"+jobID+"/status", `{"status": "running"}`).status)
	assert.Equal(t, http.StatusNotFound, e.do("POST", "/_sim/jobs/99999/status", `{"status": "error"}`).status)
}

func jsonNumber(f float64) string {
	raw, _ := json.Marshal(f)
	return string(raw)
}

func jobNumber(v any) string { return jsonNumber(v.(float64)) }
