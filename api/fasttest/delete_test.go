package fasttest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// A request decided a moment before its deletion still reads pending in
// the projection, while its workflow refuses the withdrawal as no longer
// pending: what the workflow says it became decides, not a guess.
func TestDelete_ADecisionJustBeforeTheDeletion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action approval.Action
		status int
		code   approval.Code
	}{
		{name: "rejected: deleted", action: approval.ActionReject, status: http.StatusNoContent},
		{name: "approved: refused, it will launch", action: approval.ActionApprove, status: http.StatusConflict, code: approval.CodeLaunched},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.workers(true)
			r, live := e.pendingRequest()
			decided := e.clone(live)
			_, err := decided.Apply(approval.Act{Action: tc.action, User: approver, Text: "now", Via: approval.Via{Channel: "api"}}, e.now)
			require.NoError(t, err)
			e.answersState(decided)
			e.updateAnswers(r.ID, approval.ActionCancel, refusal(approval.CodeNotPending, "request %d is %s", r.ID, decided.Status), nil)

			a := e.call(requester, "DELETE", requestPath(r.ID), nil)
			require.Equal(t, tc.status, a.status, "answer: %s", a.raw)
			_, err = e.store.GetRequest(context.Background(), r.ID)
			if tc.code == "" {
				assert.ErrorIs(t, err, store.ErrNotFound, "the rejected request is deleted")
				return
			}
			assert.Equal(t, string(tc.code), a.json(t)["code"])
			assert.NoError(t, err, "the approved request stays")
		})
	}
}
