package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAPI_DeleteRightAfterApprovalLeavesTheRequestAlone: once the last
// approval is accepted the request is approved and launches; a DELETE that
// arrives before the projection has caught up must be refused (409, SPEC 5)
// and must not cancel the approved request's workflow.
func TestAPI_DeleteRightAfterApprovalLeavesTheRequestAlone(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog() // "Restart service": one approval by sre
	for i := range 3 {
		id := e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
		path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
		approved := e.must(http.StatusOK, approver, "POST", path+"approve/", nil)
		require.Equal(t, "approved", approved["status"])
		status, body := e.call(requester, "DELETE", path, nil)
		require.Equal(t, http.StatusConflict, status, "attempt %d: DELETE of an approved request: %v", i, body)
		e.eventually(30*time.Second, "the job to finish", func() bool {
			st := e.must(http.StatusOK, requester, "GET", path, nil)["status"]
			return st == "successful" || st == "canceled" || st == "failed"
		})
		final := e.must(http.StatusOK, requester, "GET", path, nil)
		require.Equal(t, "successful", final["status"], "attempt %d: a refused DELETE changed the request: %v", i, final["cancellation"])
	}
}
