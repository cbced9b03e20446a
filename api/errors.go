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

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/sso"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/web"
)

// refusalKind is why the API itself refuses a call, before or beside any
// rule of the domain; errorResponse gives each its status.
type refusalKind int

const (
	// invalid: what the call holds is wrong (400).
	invalid refusalKind = iota
	// unreadable: the body could not be read (400).
	unreadable
	// bodyTooLarge: the body is over the route's limit (413).
	bodyTooLarge
	// notAuthenticated: no credentials, or ones that are not valid (401).
	notAuthenticated
	// csrfFailed: a portal call that changes something lacks its CSRF
	// token (403).
	csrfFailed
	// originRefused: a browser origin that may not call the route (403).
	originRefused
	// wrongHost: a dev-mode call addressed to a name other than loopback's
	// (403).
	wrongHost
	// missing: there is no such object, page or route (404).
	missing
	// methodNotAllowed: the route does not take the method (405).
	methodNotAllowed
	// conflicting: the object's state refuses the call (409).
	conflicting
)

// refused is the API refusing a call for a reason of its own kind; msg is
// shown to the caller.
type refused struct {
	kind refusalKind
	msg  string
}

func (e *refused) Error() string { return e.msg }

func refuse(kind refusalKind, msg string) error { return &refused{kind: kind, msg: msg} }

// Problem is AWX's body for errors that are not about a field; Code names
// the rule that refused a decision, for clients to branch on.
type Problem struct {
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail"`
}

// FieldErrors is AWX's body for errors about fields: each field's
// messages.
type FieldErrors map[string][]string

// InFlight is the 202 answered when a decision was sent but its workflow
// did not answer in time: it may still apply, at URL, until AppliesUntil.
type InFlight struct {
	AppliesUntil time.Time `json:"applies_until"`
	Code         string    `json:"code"`
	Detail       string    `json:"detail"`
	URL          string    `json:"url"`
}

func detail(msg string) Problem { return Problem{Detail: msg} }

var errNotFound = refuse(missing, "Not found.")

func badRequest(msg string) error { return refuse(invalid, msg) }

func conflict(msg string) error { return refuse(conflicting, msg) }

// fieldErrors answers 400 with AWX's {"field": ["message"]} body.
type fieldErrors map[string][]string

func (f fieldErrors) Error() string { return fmt.Sprintf("invalid input: %v", map[string][]string(f)) }

func (f fieldErrors) add(field, msg string) { f[field] = append(f[field], msg) }

// err is nil when no field has an error.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

// nameTaken explains the store's refusal of a name another object of the
// kind already has (store.ErrConflict) as msg about the name field; other
// errors pass unchanged.
func nameTaken(err error, msg string) error {
	if errors.Is(err, store.ErrConflict) {
		return fieldErrors{"name": {msg}}.err()
	}
	return err
}

// staysIn adds msg about the organization field when a body names
// another organization than org, the one the object is in: objects do
// not move between organizations.
func (f fieldErrors) staysIn(given *int64, org int64, msg string) {
	if given != nil && *given != org {
		f.add("organization", msg)
	}
}

// refusalOf is the refusal err carries, or nil (see requests.RefusalOf).
var refusalOf = requests.RefusalOf

// renderErrors is the one place errors become HTTP answers (SPEC 5):
// handlers return their error (see handle) or call c.Error(err) and
// return. Unexpected errors are logged with the request id and answered
// with a generic message: no internals leak.
func (s *Server) renderErrors(c *gin.Context) {
	c.Next()
	if len(c.Errors) == 0 || c.Writer.Written() {
		return
	}
	s.fail(c, c.Errors.Last().Err)
}

// fail answers err at once and stops the call, for middleware that must
// answer before (or without) the handlers.
func (s *Server) fail(c *gin.Context, err error) {
	status, body := s.errorResponse(c, err)
	c.AbortWithStatusJSON(status, body)
}

// abort stops the call with err, which renderErrors answers.
func abort(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

func (s *Server) errorResponse(c *gin.Context, err error) (int, any) {
	var ref *refused
	var fields fieldErrors
	var invalidInput requests.Invalid
	var down *requests.Unavailable
	var tmpl *requests.TemplateRefused
	var notFound *serviceerror.NotFound
	var listErr *store.ListError
	var inFlight *requests.InFlight
	refusal := refusalOf(err)
	switch {
	case errors.As(err, &inFlight):
		return s.inFlightResponse(c, inFlight)
	case errors.As(err, &ref):
		if ref.kind == notAuthenticated {
			c.Header("WWW-Authenticate", "Bearer realm=api")
		}
		return refusedStatus[ref.kind], detail(ref.msg)
	case errors.As(err, &fields):
		return http.StatusBadRequest, FieldErrors(fields)
	case errors.As(err, &invalidInput):
		return http.StatusBadRequest, FieldErrors(invalidInput)
	case errors.As(err, &down):
		s.logFor(c).Error("request failed", "status", http.StatusServiceUnavailable, "error", err)
		return http.StatusServiceUnavailable, detail(down.Message)
	case errors.As(err, &tmpl):
		return http.StatusConflict, detail(tmpl.Message)
	case errors.Is(err, access.ErrHidden), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, detail("Not found.")
	case errors.Is(err, access.ErrSelf):
		// Deleting oneself: updateUser answers self-demotion as a field error.
		return http.StatusConflict, detail("You cannot delete yourself.")
	case errors.Is(err, access.ErrForbidden):
		return http.StatusForbidden, detail("You do not have permission to perform this action.")
	case errors.Is(err, sso.ErrDeactivated):
		return http.StatusForbidden, detail("The user is deactivated.")
	case errors.Is(err, sso.ErrIdentityTaken):
		return http.StatusConflict, detail("The username belongs to a user linked to another identity.")
	case errors.Is(err, sso.ErrInvalidClaims):
		return http.StatusBadRequest, detail("The identity provider's claims are unusable.")
	case refusal != nil:
		return refusalStatus(refusal), Problem{Detail: refusal.Message, Code: string(refusal.Code)}
	case errors.Is(err, store.ErrUnavailable):
		s.logFor(c).Warn("database unavailable", "error", err)
		return http.StatusServiceUnavailable, detail(databaseUnavailable)
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
		return http.StatusServiceUnavailable, detail(temporalUnavailableMessage)
	case errors.As(err, &notFound):
		return http.StatusNotFound, detail("Not found.")
	}
	s.logFor(c).Error("request failed", "error", err)
	return http.StatusInternalServerError, detail("A server error occurred.")
}

var refusedStatus = map[refusalKind]int{
	invalid:          http.StatusBadRequest,
	unreadable:       http.StatusBadRequest,
	bodyTooLarge:     http.StatusRequestEntityTooLarge,
	notAuthenticated: http.StatusUnauthorized,
	csrfFailed:       http.StatusForbidden,
	originRefused:    http.StatusForbidden,
	wrongHost:        http.StatusForbidden,
	missing:          http.StatusNotFound,
	methodNotAllowed: http.StatusMethodNotAllowed,
	conflicting:      http.StatusConflict,
}

// inFlightResponse is 202: the decision was sent and may still apply.
func (s *Server) inFlightResponse(c *gin.Context, e *requests.InFlight) (int, any) {
	s.logFor(c).Warn("decision in flight", "request_id", e.RequestID, "until", e.Until, "error", e.Cause)
	url := fmt.Sprintf("/api/v2/service_requests/%d/", e.RequestID)
	c.Header("Location", url)
	until := e.Until.UTC().Format(time.RFC3339)
	msg := fmt.Sprintf("The decision was sent, but the request's workflow did not answer in time (its workers are busy or were just stopped). "+
		"It may still be applied, until %s and never after. Check the request before deciding again.", until)
	if e.Withdrawal {
		msg = fmt.Sprintf("The request's workflow did not answer in time, so the request was not deleted. Its withdrawal was sent: "+
			"it may still be canceled, until %s and never after. Check the request, then delete it again.", until)
	}
	return http.StatusAccepted, InFlight{Detail: msg, Code: "decision_in_flight", URL: url, AppliesUntil: e.Until.UTC()}
}

// inputError reports whether err is about what a call holds (400, or 413
// for a body over the limit) rather than about who sends it or the state
// of what it acts on.
func inputError(err error) bool {
	var ref *refused
	if errors.As(err, &ref) {
		return ref.kind == invalid || ref.kind == unreadable || ref.kind == bodyTooLarge
	}
	var fields fieldErrors
	var invalidInput requests.Invalid
	if errors.As(err, &fields) || errors.As(err, &invalidInput) {
		return true
	}
	refusal := refusalOf(err)
	return refusal != nil && !refusal.Forbidden() && requests.InputRefusal(refusal)
}

// refusalStatus: who acts is a 403, what the call holds a 400, the
// request's state a 409.
func refusalStatus(ref *approval.Refusal) int {
	switch {
	case ref.Forbidden():
		return http.StatusForbidden
	case requests.InputRefusal(ref):
		return http.StatusBadRequest
	}
	return http.StatusConflict
}

// mailRefusal is err as the confirm page of a mail's decision link shows
// it: the rules' refusals with their code and the status the API would
// answer; a request that is gone, Temporal or the database unavailable,
// and a decision in flight, in words. Anything else is nil (logged, a
// generic page).
func mailRefusal(err error) *web.MailRefusal {
	var down *requests.Unavailable
	var inFlight *requests.InFlight
	if ref := refusalOf(err); ref != nil {
		return &web.MailRefusal{Status: refusalStatus(ref), Code: string(ref.Code), Message: ref.Message}
	}
	switch {
	case errors.As(err, &inFlight):
		return &web.MailRefusal{Status: http.StatusAccepted, Code: "in_flight",
			Message: fmt.Sprintf("Your decision was sent but request %d has not answered yet; open it in the portal to see whether it was taken.", inFlight.RequestID)}
	case errors.As(err, &down):
		return &web.MailRefusal{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: down.Message}
	case errors.Is(err, store.ErrNotFound):
		return &web.MailRefusal{Status: http.StatusNotFound, Code: "not_found", Message: "The request this link was sent for no longer exists."}
	case errors.Is(err, store.ErrUnavailable):
		return &web.MailRefusal{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: databaseUnavailable}
	case temporalUnavailable(err):
		return &web.MailRefusal{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: temporalUnavailableMessage}
	}
	return nil
}

// What the API and the portal say when a dependency does not answer.
const (
	databaseUnavailable        = "The database is unavailable; try again shortly."
	temporalUnavailableMessage = "Temporal is unavailable; try again shortly."
)

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
