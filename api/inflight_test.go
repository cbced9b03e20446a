package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/proof"
)

// A decision never gets a 503 that is applied later. Sent to a worker that
// was killed a moment ago (it still counts as alive), it is a 202: applied
// if a worker takes it before the time the answer names, and never after.
func TestAPI_DecisionsWhileTheWorkerIsKilled(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	queue := testkit.TaskQueue(t)
	workerEnv := map[string]string{
		"DATABASE_URL": e.stack.DatabaseURL, "TEMPORAL_ADDRESS": temporalAddr, "TASK_QUEUE": queue,
		"AWX_URL": e.stack.SimURL, "AWX_TOKEN": testkit.AWXToken, "PAYLOAD_KEYS": testkit.PayloadKeys(),
	}
	startWorker := func() func() {
		w := testkit.WorkerProcess(workerEnv)
		require.NoError(t, w.Start())
		kill := func() { _ = w.Process.Kill(); _ = w.Wait() }
		t.Cleanup(kill)
		return kill
	}
	var clock time.Duration // how far the API's clock is ahead of the others
	apiAt := func() string {
		return e.serveAPI(api.Deps{Temporal: testkit.Dial(t, temporalAddr), TaskQueue: queue, TemporalTimeout: 2 * time.Second,
			Now: func() time.Time { return time.Now().Add(clock) }})
	}
	e.url = apiAt()
	submit := func() int64 {
		return idOf(e.must(http.StatusCreated, requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
			map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}}))
	}
	status := func(id int64) (string, int) {
		r := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
		return r["status"].(string), len(r["stages"].([]any)[0].(map[string]any)["responses"].([]any))
	}

	kill := startWorker()
	first, second := submit(), submit()
	e.eventually(30*time.Second, "both requests in bob's inbox", func() bool {
		inbox := e.inbox(approver)
		return containsID64(inbox, first) && containsID64(inbox, second)
	})
	kill()

	// The worker is gone but polled a moment ago: the decision is sent,
	// nobody answers, and the answer says it may still be applied.
	sent := time.Now()
	out := e.must(http.StatusAccepted, approver, "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", first), nil)
	assert.Equal(t, "decision_in_flight", out["code"])
	assert.Equal(t, fmt.Sprintf("/api/v2/service_requests/%d/", first), out["url"])
	assert.Contains(t, out["detail"], "may still be applied")
	until, err := time.Parse(time.RFC3339, out["applies_until"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, sent.Add(proof.ServiceMaxAge), until, 5*time.Second)

	// The same for a decision whose window the API's clock puts almost
	// behind it: by the time a worker is back, it has passed.
	clock = -proof.ServiceMaxAge + 3*time.Second
	e.url = apiAt()
	late := e.must(http.StatusAccepted, approver, "POST", fmt.Sprintf("/api/v2/service_requests/%d/approve/", second), nil)
	assert.Equal(t, "decision_in_flight", late["code"])
	time.Sleep(4 * time.Second)

	startWorker()
	e.eventually(60*time.Second, "the first decision applied by the next worker", func() bool {
		st, responses := status(first)
		return st != "pending_approval" && responses == 1
	})
	// The second's window closed before any worker took it: refused, for
	// good, without a trace; carol can still decide.
	e.must(http.StatusOK, approver2, "POST", fmt.Sprintf("/api/v2/service_requests/%d/comment/", second), map[string]any{"text": "checking"})
	st, responses := status(second)
	assert.Equal(t, "pending_approval", st)
	assert.Zero(t, responses, "a decision answered 202 is never applied after the time the answer named")
}
