package fasttest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/web"
)

// secret marks the text of every error a test injects: it may reach the
// logs, never an answer.
const secret = "s3cr3t-internal-detail"

// internals are texts of errors from below the API (the store's wrapping,
// gRPC, contexts, panics) that no answer may show.
var internals = []string{secret, "store:", "rpc error", "context deadline", "panic", "goroutine", "serviceerror", ".go:"}

// mappingCase is one call and the answer the error mapping must give it.
type mappingCase struct {
	name string
	// call sets up the fakes and makes the call.
	call   func(e *env) answer
	status int
	// body is the whole answer's JSON; check (when set) replaces the
	// comparison for answers with moving parts.
	body  map[string]any
	check func(t *testing.T, e *env, a answer)
	// logged: the error's text must be in the logs, for the people who
	// run the API.
	logged bool
}

const (
	notAuthenticated = "Authentication credentials were not provided or are not valid."
	forbidden        = "You do not have permission to perform this action."
	notFound         = "Not found."
	serverError      = "A server error occurred."
)

func detail(msg string) map[string]any { return map[string]any{"detail": msg} }

func coded(code approval.Code, msg string) map[string]any {
	return map[string]any{"detail": msg, "code": string(code)}
}

// runMapping runs each case on a server of its own.
func runMapping(t *testing.T, cases []mappingCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a := tc.call(e)
			require.Equal(t, tc.status, a.status, "answer: %s", a.raw)
			if tc.check != nil {
				tc.check(t, e, a)
			} else {
				assert.Equal(t, tc.body, a.json(t))
			}
			assert.Equal(t, "application/json; charset=utf-8", a.header.Get("Content-Type"))
			for _, s := range internals {
				assert.NotContains(t, string(a.raw), s, "the answer shows internal text")
			}
			if tc.logged {
				assert.Contains(t, e.logs.String(), secret, "the error is logged")
			}
		})
	}
}

func TestErrorMapping_Authentication(t *testing.T) {
	runMapping(t, []mappingCase{{
		name:   "no credentials",
		call:   func(e *env) answer { return e.call("", "GET", "/api/v2/me/", nil) },
		status: http.StatusUnauthorized, body: detail(notAuthenticated),
		check: func(t *testing.T, e *env, a answer) {
			assert.Equal(t, detail(notAuthenticated), a.json(t))
			assert.Equal(t, "Bearer realm=api", a.header.Get("WWW-Authenticate"))
		},
	}, {
		name:   "unknown token",
		call:   func(e *env) answer { return e.call("not-a-token", "GET", "/api/v2/service_requests/", nil) },
		status: http.StatusUnauthorized, body: detail(notAuthenticated),
	}, {
		name: "not a bearer token",
		call: func(e *env) answer {
			req := e.request("GET", "/api/v2/me/", nil)
			req.Header.Set("Authorization", "Basic "+e.tokens[requester])
			return e.send(req)
		},
		status: http.StatusUnauthorized, body: detail(notAuthenticated),
	}, {
		name: "token of a deactivated user",
		call: func(e *env) answer {
			inactive := false
			_, err := e.store.UpdateUser(context.Background(), e.users[requester].ID, store.UserUpdate{IsActive: &inactive})
			require.NoError(e.t, err)
			return e.call(requester, "GET", "/api/v2/me/", nil)
		},
		status: http.StatusUnauthorized, body: detail(notAuthenticated),
	}, {
		name: "database unavailable while authenticating",
		call: func(e *env) answer {
			e.store.Fail("AuthenticateToken", fmt.Errorf("%w: dial tcp 10.1.2.3:5432: %s", store.ErrUnavailable, secret))
			return e.call(requester, "GET", "/api/v2/me/", nil)
		},
		status: http.StatusServiceUnavailable, body: detail("The database is unavailable; try again shortly."), logged: true,
	}})
}

// session is a portal call: the session cookie instead of a bearer token,
// and the CSRF cookie with csrfHeader in the CSRF header ("" for none).
func (e *env) session(user, method, path string, body any, csrfHeader string) answer {
	req := e.request(method, path, body)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: e.sessions[user]})
	req.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: "csrf-value"})
	if csrfHeader != "" {
		req.Header.Set(web.CSRFHeader, csrfHeader)
	}
	return e.send(req)
}

func TestErrorMapping_Forbidden(t *testing.T) {
	const csrfFailed = "CSRF token missing or incorrect."
	runMapping(t, []mappingCase{{
		name:   "a session's read needs no CSRF token",
		call:   func(e *env) answer { return e.session(requester, "GET", "/api/v2/me/", nil, "") },
		status: http.StatusOK,
		check: func(t *testing.T, e *env, a answer) {
			assert.Equal(t, requester, a.json(t)["username"])
		},
	}, {
		name: "a session's write without the CSRF header",
		call: func(e *env) answer {
			r, _ := e.pendingRequest()
			return e.session(requester, "POST", requestPath(r.ID)+"comment/", map[string]any{"text": "hi"}, "")
		},
		status: http.StatusForbidden, body: detail(csrfFailed),
	}, {
		name: "a session's write with a CSRF header that does not match",
		call: func(e *env) answer {
			return e.session(superuser, "POST", "/api/v2/organizations/", map[string]any{"name": "globex"}, "other-value")
		},
		status: http.StatusForbidden, body: detail(csrfFailed),
	}, {
		name: "a requester creating an organization",
		call: func(e *env) answer {
			return e.call(requester, "POST", "/api/v2/organizations/", map[string]any{"name": "globex"})
		},
		status: http.StatusForbidden, body: detail(forbidden),
	}, {
		name: "an approver editing the catalog item they approve",
		call: func(e *env) answer {
			return e.call(approver, "PATCH", fmt.Sprintf("/api/v2/service_catalog_items/%d/", e.item.ID), map[string]any{"name": "Mine"})
		},
		status: http.StatusForbidden, body: detail(forbidden),
	}, {
		name: "forbidden before the body is read",
		call: func(e *env) answer {
			return e.call(requester, "POST", fmt.Sprintf("/api/v2/teams/?organization=%d", e.acme.ID), "{not json")
		},
		status: http.StatusForbidden, body: detail(forbidden),
	}})
}

func TestErrorMapping_NotFound(t *testing.T) {
	runMapping(t, []mappingCase{{
		name: "a request the caller may not see",
		call: func(e *env) answer {
			r, _ := e.pendingRequest()
			return e.call(outsider, "GET", requestPath(r.ID), nil)
		},
		status: http.StatusNotFound, body: detail(notFound),
	}, {
		name: "acting on a request the caller may not see asks no workflow",
		call: func(e *env) answer {
			r, _ := e.pendingRequest()
			return e.call(outsider, "POST", requestPath(r.ID)+"approve/", map[string]any{"comment": "sure"})
		},
		status: http.StatusNotFound, body: detail(notFound),
	}, {
		name: "another organization's team",
		call: func(e *env) answer {
			return e.call(outsider, "GET", fmt.Sprintf("/api/v2/teams/%d/", e.sre.ID), nil)
		},
		status: http.StatusNotFound, body: detail(notFound),
	}, {
		name:   "no such request",
		call:   func(e *env) answer { return e.call(superuser, "GET", requestPath(4242), nil) },
		status: http.StatusNotFound, body: detail(notFound),
	}, {
		name:   "unknown route",
		call:   func(e *env) answer { return e.call(requester, "GET", "/api/v2/service_orders/", nil) },
		status: http.StatusNotFound, body: detail(notFound),
	}, {
		name:   "unknown route without credentials",
		call:   func(e *env) answer { return e.call("", "GET", "/api/v3/", nil) },
		status: http.StatusNotFound, body: detail(notFound),
	}, {
		name:   "malformed id",
		call:   func(e *env) answer { return e.call(requester, "GET", "/api/v2/service_requests/abc/", nil) },
		status: http.StatusNotFound, body: detail(notFound),
	}, {
		name:   "id out of range",
		call:   func(e *env) answer { return e.call(requester, "GET", "/api/v2/teams/99999999999999999999/", nil) },
		status: http.StatusNotFound, body: detail(notFound),
	}, {
		name: "page past the end",
		call: func(e *env) answer {
			e.pendingRequest()
			return e.call(requester, "GET", "/api/v2/service_requests/?page=3", nil)
		},
		status: http.StatusNotFound, body: detail("Invalid page."),
	}})
}

func TestErrorMapping_BadInput(t *testing.T) {
	runMapping(t, []mappingCase{{
		name: "a field's value",
		call: func(e *env) answer {
			return e.call(superuser, "POST", "/api/v2/organizations/", map[string]any{"name": ""})
		},
		status: http.StatusBadRequest, body: map[string]any{"name": []any{"Give a name of 1 to 512 characters."}},
	}, {
		name: "a name taken",
		call: func(e *env) answer {
			return e.call(orgAdmin, "POST", "/api/v2/teams/", map[string]any{"name": "sre", "organization": e.acme.ID})
		},
		status: http.StatusBadRequest, body: map[string]any{"name": []any{"This organization already has a team with this name."}},
	}, {
		name: "a body that is not JSON",
		call: func(e *env) answer {
			return e.call(superuser, "POST", "/api/v2/organizations/", "{not json")
		},
		status: http.StatusBadRequest,
		body:   detail("JSON parse error - invalid character 'n' looking for beginning of object key string (at byte 2)"),
	}, {
		name: "a survey answer AWX would refuse",
		call: func(e *env) answer {
			return e.call(requester, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", e.item.ID),
				map[string]any{"justification": "stuck", "extra_vars": map[string]any{"service_name": "database"}})
		},
		status: http.StatusBadRequest,
		check: func(t *testing.T, e *env, a answer) {
			body := a.json(t)
			assert.Equal(t, map[string]any{"extra_vars.service_name": []any{
				"Value database for 'service_name' expected to be one of ['api', 'web', 'worker']."}}, body)
		},
	}, {
		name:   "a filter's value",
		call:   func(e *env) answer { return e.call(requester, "GET", "/api/v2/service_requests/?status=lost", nil) },
		status: http.StatusBadRequest,
		body:   detail(`Unknown status "lost"; statuses are pending_approval, approved, running, successful, failed, rejected, expired, canceled, changes_requested.`),
	}, {
		name: "an order the list does not offer",
		call: func(e *env) answer {
			return e.call(requester, "GET", "/api/v2/service_requests/?order_by=password", nil)
		},
		status: http.StatusBadRequest,
		body:   detail(`Cannot order by "password": choose from id, created, modified, status, finished.`),
	}, {
		name: "a decision's text in the wrong field",
		call: func(e *env) answer {
			e.workers(true)
			r, live := e.pendingRequest()
			e.answersState(live)
			return e.call(approver, "POST", requestPath(r.ID)+"approve/", map[string]any{"reason": "fine"})
		},
		status: http.StatusBadRequest, body: map[string]any{"reason": []any{`Unknown field; this action takes "comment".`}},
	}, {
		name: "the rules refusing a text",
		call: func(e *env) answer {
			e.workers(true)
			r, live := e.pendingRequest()
			e.answersState(live)
			e.updateAnswers(r.ID, approval.ActionReject, refusal(approval.CodeReasonRequired, "a rejection needs a reason"), nil)
			return e.call(approver, "POST", requestPath(r.ID)+"reject/", map[string]any{"reason": " "})
		},
		status: http.StatusBadRequest, body: coded(approval.CodeReasonRequired, "a rejection needs a reason"),
	}, {
		name: "who acts is refused before what the call holds",
		call: func(e *env) answer {
			e.workers(true)
			r, live := e.pendingRequest()
			e.answersState(live)
			return e.call(requester, "POST", requestPath(r.ID)+"approve/", "{not json")
		},
		status: http.StatusForbidden,
		check: func(t *testing.T, e *env, a answer) {
			assert.Equal(t, string(approval.CodeSelfDecision), a.json(t)["code"])
		},
	}, {
		name: "a body over the limit",
		call: func(e *env) answer {
			e.workers(true)
			r, live := e.pendingRequest()
			e.answersState(live)
			return e.call(requester, "POST", requestPath(r.ID)+"comment/", `{"text":"`+strings.Repeat("a", 2<<20)+`"}`)
		},
		status: http.StatusRequestEntityTooLarge, body: detail("The request body is larger than 1 MiB."),
	}, {
		name:   "a method the route does not take",
		call:   func(e *env) answer { return e.call(requester, "PUT", "/api/v2/service_requests/", nil) },
		status: http.StatusMethodNotAllowed, body: detail(`Method "PUT" not allowed.`),
	}})
}

func TestErrorMapping_Conflict(t *testing.T) {
	runMapping(t, []mappingCase{{
		name: "a team still in use",
		call: func(e *env) answer {
			return e.call(orgAdmin, "DELETE", fmt.Sprintf("/api/v2/teams/%d/", e.sre.ID), nil)
		},
		status: http.StatusConflict, body: detail(`Team "sre" still approves catalog items or policy stages; change those first.`),
	}, {
		name: "an organization still in use",
		call: func(e *env) answer {
			return e.call(superuser, "DELETE", fmt.Sprintf("/api/v2/organizations/%d/", e.acme.ID), nil)
		},
		status: http.StatusConflict, body: detail(`Organization "acme" still has catalog items, policies or requests.`),
	}, {
		name: "a name taken between the check and the write",
		call: func(e *env) answer {
			e.store.FailOnce("CreateDecisionKey", fmt.Errorf("%w: %s", store.ErrConflict, secret))
			return e.call(approver, "POST", "/api/v2/me/decision_keys/", map[string]any{"description": "laptop"})
		},
		status: http.StatusConflict, body: detail("It conflicts with an existing object."),
	}, {
		name: "a request that launched a job while it was deleted",
		call: func(e *env) answer {
			r, live := e.pendingRequest()
			e.act(live, approval.ActionReject, approver, "not now")
			e.store.FailOnce("DeleteRequest", fmt.Errorf("%w: %s", store.ErrConflict, secret))
			return e.call(requester, "DELETE", requestPath(r.ID), nil)
		},
		status: http.StatusConflict,
		body: coded(approval.CodeLaunched, "request 1 launched a job meanwhile; only requests that never launched a job can be deleted, "+
			"so the record of executed automation stays"),
	}, {
		name: "a request that launched",
		call: func(e *env) answer {
			r, live := e.pendingRequest()
			e.act(live, approval.ActionApprove, approver, "")
			return e.call(requester, "DELETE", requestPath(r.ID), nil)
		},
		status: http.StatusConflict,
		body: coded(approval.CodeLaunched, "request 1 is approved; only requests that never launched a job can be deleted, "+
			"so the record of executed automation stays"),
	}})
}
