package fasttest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/store"
)

// The errors of the API's dependencies: the workflow's refusals, Temporal,
// its workers, AWX and the database not answering, and what nobody
// expected.

// The workflow's refusals arrive as the application error its update
// raises; the mapping turns each code into its status and keeps it.
func TestErrorMapping_WorkflowRefusals(t *testing.T) {
	decide := func(action approval.Action, user string, outcome error) func(e *env) answer {
		return func(e *env) answer {
			e.workers(true)
			r, live := e.pendingRequest()
			e.answersState(live)
			e.updateAnswers(r.ID, action, outcome, nil)
			body := map[approval.Action]map[string]any{
				approval.ActionApprove: {"comment": "fine"}, approval.ActionReject: {"reason": "no"},
				approval.ActionComment: {"text": "a remark"}, approval.ActionCancel: {"reason": "not needed"},
			}[action]
			return e.call(user, "POST", requestPath(r.ID)+string(action)+"/", body)
		}
	}
	runMapping(t, []mappingCase{{
		name:   "already decided",
		call:   decide(approval.ActionApprove, approver, refusal(approval.CodeAlreadyDecided, "bob already decided stage sre")),
		status: http.StatusConflict, body: coded(approval.CodeAlreadyDecided, "bob already decided stage sre"),
	}, {
		name:   "no longer pending",
		call:   decide(approval.ActionCancel, requester, refusal(approval.CodeNotPending, "request 1 is approved")),
		status: http.StatusConflict, body: coded(approval.CodeNotPending, "request 1 is approved"),
	}, {
		name:   "too many comments",
		call:   decide(approval.ActionComment, approver, refusal(approval.CodeTooManyComments, "request 1 has 50 comments")),
		status: http.StatusConflict, body: coded(approval.CodeTooManyComments, "request 1 has 50 comments"),
	}, {
		name:   "not eligible",
		call:   decide(approval.ActionApprove, approver, refusal(approval.CodeNotEligible, "bob may not decide stage sre")),
		status: http.StatusForbidden, body: coded(approval.CodeNotEligible, "bob may not decide stage sre"),
	}, {
		name:   "not allowed",
		call:   decide(approval.ActionCancel, approver, refusal(approval.CodeNotAllowed, "bob may not cancel request 1")),
		status: http.StatusForbidden, body: coded(approval.CodeNotAllowed, "bob may not cancel request 1"),
	}, {
		name:   "too long",
		call:   decide(approval.ActionComment, approver, refusal(approval.CodeTooLong, "a comment holds at most 2000 bytes")),
		status: http.StatusBadRequest, body: coded(approval.CodeTooLong, "a comment holds at most 2000 bytes"),
	}, {
		name:   "the workflow has finished",
		call:   decide(approval.ActionApprove, approver, serviceerror.NewNotFound("workflow execution already completed "+secret)),
		status: http.StatusConflict, body: coded(approval.CodeFinished, "request 1 has finished; it accepts no more actions"),
	}, {
		name: "a refusal without a code is a server error",
		call: decide(approval.ActionApprove, approver,
			refusalWithoutCode("update handler panicked "+secret)),
		status: http.StatusInternalServerError, body: detail(serverError), logged: true,
	}})
}

func TestErrorMapping_DecisionInFlight(t *testing.T) {
	inFlight := func(withdrawal bool) func(t *testing.T, e *env, a answer) {
		return func(t *testing.T, e *env, a answer) {
			body := a.json(t)
			assert.Equal(t, "decision_in_flight", body["code"])
			assert.Equal(t, "/api/v2/service_requests/1/", body["url"])
			assert.Equal(t, "/api/v2/service_requests/1/", a.header.Get("Location"))
			until, err := time.Parse(time.RFC3339, body["applies_until"].(string))
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now().Add(5*time.Minute), until, 5*time.Minute, "a proof's lifetime ahead")
			msg := body["detail"].(string)
			assert.Contains(t, msg, until.UTC().Format(time.RFC3339))
			if withdrawal {
				assert.Contains(t, msg, "the request was not deleted")
			} else {
				assert.Contains(t, msg, "Check the request before deciding again.")
			}
			assert.Len(t, body, 4)
		}
	}
	runMapping(t, []mappingCase{{
		name: "an approval not answered in time",
		call: func(e *env) answer {
			e.workers(true)
			r, live := e.pendingRequest()
			e.answersState(live)
			e.updateAnswers(r.ID, approval.ActionApprove, fmt.Errorf("%w: %s", context.DeadlineExceeded, secret), nil)
			return e.call(approver, "POST", requestPath(r.ID)+"approve/", map[string]any{"comment": "fine"})
		},
		status: http.StatusAccepted, check: inFlight(false), logged: true,
	}, {
		name: "a deletion whose withdrawal was not answered in time",
		call: func(e *env) answer {
			e.workers(true)
			r, _ := e.pendingRequest()
			e.updateAnswers(r.ID, approval.ActionCancel, serviceerror.NewDeadlineExceeded(secret), nil)
			return e.call(requester, "DELETE", requestPath(r.ID), nil)
		},
		status: http.StatusAccepted, check: inFlight(true), logged: true,
	}})
}

func TestErrorMapping_Unavailable(t *testing.T) {
	runMapping(t, []mappingCase{{
		name: "Temporal not answering before a decision",
		call: func(e *env) answer {
			e.temporal.On("DescribeTaskQueue", mock.Anything, taskQueue, mock.Anything).
				Return(nil, serviceerror.NewUnavailable("connection refused to temporal.internal:7233 "+secret))
			r, _ := e.pendingRequest()
			return e.call(approver, "POST", requestPath(r.ID)+"approve/", map[string]any{"comment": "fine"})
		},
		status: http.StatusServiceUnavailable, body: detail("Temporal is unavailable; the decision was not sent."), logged: true,
	}, {
		name: "no worker polling",
		call: func(e *env) answer {
			e.workers(false)
			r, _ := e.pendingRequest()
			return e.call(approver, "POST", requestPath(r.ID)+"approve/", map[string]any{"comment": "fine"})
		},
		status: http.StatusServiceUnavailable,
		body:   detail("No Countersign worker is running; the decision was not sent. Try again once workers are back."),
	}, {
		name: "Temporal not answering a submission",
		call: func(e *env) answer {
			down := serviceerror.NewUnavailable("temporal.internal:7233 " + secret)
			e.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, down).Once()
			e.temporal.On("DescribeWorkflowExecution", mock.Anything, "service-request-1", "").Return(nil, down).Once()
			return e.call(requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", e.item.ID),
				map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}})
		},
		status: http.StatusServiceUnavailable,
		check: func(t *testing.T, e *env, a answer) {
			assert.Equal(t, detail("Temporal is unavailable; the request was not submitted. Try again shortly."), a.json(t))
			_, err := e.store.GetRequest(context.Background(), 1)
			assert.ErrorIs(t, err, store.ErrNotFound, "the request is not left half-created")
		},
		logged: true,
	}, {
		name: "AWX not answering a submission",
		call: func(e *env) answer {
			e.awx.InjectFault(awxsim.Fault{Kind: awxsim.FaultStatus, Status: http.StatusServiceUnavailable})
			return e.call(requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", e.item.ID),
				map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "api"}})
		},
		status: http.StatusServiceUnavailable, body: detail("AWX is unavailable; try again shortly."),
	}, {
		name: "the database unavailable",
		call: func(e *env) answer {
			r, _ := e.pendingRequest()
			e.store.Fail("GetRequest", fmt.Errorf("%w: dial tcp 10.1.2.3:5432: %s", store.ErrUnavailable, secret))
			return e.call(requester, "GET", requestPath(r.ID), nil)
		},
		status: http.StatusServiceUnavailable, body: detail("The database is unavailable; try again shortly."), logged: true,
	}, {
		name: "the database unavailable for a list",
		call: func(e *env) answer {
			e.store.Fail("ListTeams", fmt.Errorf("%w: %s", store.ErrUnavailable, secret))
			return e.call(orgAdmin, "GET", "/api/v2/teams/", nil)
		},
		status: http.StatusServiceUnavailable, body: detail("The database is unavailable; try again shortly."), logged: true,
	}})
}

func TestErrorMapping_ServerError(t *testing.T) {
	runMapping(t, []mappingCase{{
		name: "an error nobody expected",
		call: func(e *env) answer {
			e.store.Fail("ListTeams", errors.New(`pq: relation "teams" does not exist `+secret))
			return e.call(orgAdmin, "GET", "/api/v2/teams/", nil)
		},
		status: http.StatusInternalServerError, body: detail(serverError), logged: true,
	}, {
		name: "an error nobody expected while authenticating",
		call: func(e *env) answer {
			e.store.Fail("UserRoles", errors.New("unexpected "+secret))
			return e.call(requester, "GET", "/api/v2/me/", nil)
		},
		status: http.StatusInternalServerError, body: detail(serverError), logged: true,
	}, {
		name: "a panic in a handler",
		call: func(e *env) answer {
			e.workers(true)
			r, _ := e.pendingRequest()
			e.temporal.On("QueryWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
				Run(func(mock.Arguments) { panic("nil map in the query path " + secret) })
			return e.call(requester, "GET", requestPath(r.ID), nil)
		},
		status: http.StatusInternalServerError, body: detail(serverError), logged: true,
	}})
}
