package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// httpError is an error with the exact answer to give.
type httpError struct {
	status int
	body   any
	// cause is logged, never shown.
	cause error
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.cause.Error()
	}
	return http.StatusText(e.status)
}

func (e *httpError) Unwrap() error { return e.cause }

// detail is AWX's body for errors that are not about a field.
func detail(msg string) gin.H { return gin.H{"detail": msg} }

var errNotFound = &httpError{status: http.StatusNotFound, body: detail("Not found.")}

func badRequest(msg string) error {
	return &httpError{status: http.StatusBadRequest, body: detail(msg)}
}

func conflict(msg string) error { return &httpError{status: http.StatusConflict, body: detail(msg)} }

func unavailable(msg string, cause error) error {
	return &httpError{status: http.StatusServiceUnavailable, body: detail(msg), cause: cause}
}

// fieldErrors answers 400 with AWX's {"field": ["message"]} body.
type fieldErrors map[string][]string

func (f fieldErrors) add(field, msg string) { f[field] = append(f[field], msg) }

// err is nil when no field has an error.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &httpError{status: http.StatusBadRequest, body: map[string][]string(f)}
}

// renderErrors is the one place errors become HTTP answers (SPEC 5):
// handlers call c.Error(err) and return. Unexpected errors are logged with
// the request id and answered with a generic message: no internals leak.
func (s *Server) renderErrors(c *gin.Context) {
	c.Next()
	if len(c.Errors) == 0 || c.Writer.Written() {
		return
	}
	err := c.Errors.Last().Err
	status, body := s.errorResponse(c, err)
	c.JSON(status, body)
}

func (s *Server) errorResponse(c *gin.Context, err error) (int, any) {
	var he *httpError
	var notFound *serviceerror.NotFound
	var listErr *store.ListError
	var inFlight *decisionInFlight
	ref := refusalOf(err)
	switch {
	case errors.As(err, &inFlight):
		s.logFor(c).Warn("decision in flight", "request_id", inFlight.requestID, "until", inFlight.until, "error", inFlight.cause)
		url := fmt.Sprintf("/api/v2/service_requests/%d/", inFlight.requestID)
		c.Header("Location", url)
		until := inFlight.until.UTC().Format(time.RFC3339)
		msg := fmt.Sprintf("The decision was sent, but the request's workflow did not answer in time (its workers are busy or were just stopped). "+
			"It may still be applied, until %s and never after. Check the request before deciding again.", until)
		if inFlight.withdrawal {
			msg = fmt.Sprintf("The request's workflow did not answer in time, so the request was not deleted. Its withdrawal was sent: "+
				"it may still be canceled, until %s and never after. Check the request, then delete it again.", until)
		}
		return http.StatusAccepted, gin.H{"detail": msg, "code": "decision_in_flight", "url": url, "applies_until": inFlight.until.UTC()}
	case errors.As(err, &he):
		if he.status >= 500 {
			s.logFor(c).Error("request failed", "status", he.status, "error", err)
		}
		return he.status, he.body
	case errors.Is(err, access.ErrHidden), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, detail("Not found.")
	case errors.Is(err, access.ErrForbidden):
		return http.StatusForbidden, detail("You do not have permission to perform this action.")
	case ref != nil:
		return refusalStatus(ref), gin.H{"detail": ref.Message, "code": ref.Code}
	case errors.Is(err, store.ErrUnavailable):
		s.logFor(c).Warn("database unavailable", "error", err)
		return http.StatusServiceUnavailable, detail("The database is unavailable; try again shortly.")
	case errors.Is(err, context.Canceled):
		// The caller went away; nobody reads this answer.
		return http.StatusServiceUnavailable, detail("The request was canceled.")
	case errors.Is(err, store.ErrReferenced):
		return http.StatusConflict, detail("It is still in use by other objects.")
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, detail("It conflicts with an existing object.")
	case errors.Is(err, store.ErrLimit):
		return http.StatusConflict, detail("A limit on how many such objects there may be was reached.")
	case errors.Is(err, store.ErrInvalidReference):
		return http.StatusBadRequest, detail("It refers to an object that does not exist.")
	case errors.As(err, &listErr) && listErr.Message != "":
		return http.StatusBadRequest, detail(strings.ToUpper(listErr.Message[:1]) + listErr.Message[1:] + ".")
	case errors.Is(err, store.ErrInvalid):
		return http.StatusBadRequest, detail("Invalid input.")
	case temporalUnavailable(err):
		s.logFor(c).Warn("temporal unavailable", "error", err)
		return http.StatusServiceUnavailable, detail("Temporal is unavailable; try again shortly.")
	case errors.As(err, &notFound):
		return http.StatusNotFound, detail("Not found.")
	}
	s.logFor(c).Error("request failed", "error", err)
	return http.StatusInternalServerError, detail("A server error occurred.")
}

// refusalOf is the refusal err carries, or nil: an *approval.Refusal (the
// API's own, or a closed workflow's, see act), or the application error a
// workflow update was rejected with, whose details hold the refusal. Every
// refusal reaches the client through it, code and all.
func refusalOf(err error) *approval.Refusal {
	var ref *approval.Refusal
	if errors.As(err, &ref) {
		return ref
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.HasDetails() {
		return nil
	}
	var detail approval.Refusal
	if app.Details(&detail) != nil || detail.Code == "" {
		return nil
	}
	return &approval.Refusal{Code: detail.Code, Message: app.Message()}
}

// inputError reports whether err is about what a call holds (400, or 413
// for a body over the limit) rather than about who sends it or the state
// of what it acts on.
func inputError(err error) bool {
	var he *httpError
	if errors.As(err, &he) {
		return he.status == http.StatusBadRequest || he.status == http.StatusRequestEntityTooLarge
	}
	ref := refusalOf(err)
	return ref != nil && refusalStatus(ref) == http.StatusBadRequest
}

// refusalStatus: who acts is a 403, the request's state a 409.
func refusalStatus(ref *approval.Refusal) int {
	switch {
	case ref.Forbidden():
		return http.StatusForbidden
	case ref.Code == approval.CodeUserRequired || ref.Code == approval.CodeUnknownAction || ref.Code == approval.CodeTooLong ||
		ref.Code == approval.CodeReasonRequired || ref.Code == approval.CodeTextRequired || ref.Code == approval.CodeMalformed:
		return http.StatusBadRequest
	}
	return http.StatusConflict
}

func temporalUnavailable(err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var canceled *serviceerror.Canceled
	return errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &canceled) ||
		errors.Is(err, context.DeadlineExceeded)
}

// handle adapts an endpoint that returns its error to gin: the error goes
// to renderErrors, the one place where errors become answers, so no
// endpoint picks a status for a failure itself.
func handle(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			_ = c.Error(err)
		}
	}
}
