package requests

import (
	"fmt"
	"time"
)

// Unavailable is a dependency (Temporal, its workers, AWX) that cannot
// serve the operation now; Message says so to people, Cause is for logs.
type Unavailable struct {
	Message string
	Cause   error
}

func (e *Unavailable) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Unavailable) Unwrap() error { return e.Cause }

func unavailable(msg string, cause error) error { return &Unavailable{Message: msg, Cause: cause} }

// InFlight is a decision sent whose outcome is not known yet: it is
// applied when a worker takes it before Until, and never after.
type InFlight struct {
	RequestID int64
	Until     time.Time
	Cause     error
	// Withdrawal: the decision was a delete's cancel (pending only), so
	// the request was not deleted.
	Withdrawal bool
}

func (e *InFlight) Error() string {
	return fmt.Sprintf("decision on request %d in flight until %s: %v", e.RequestID, e.Until.Format(time.RFC3339), e.Cause)
}

func (e *InFlight) Unwrap() error { return e.Cause }

// TemplateRefused is AWX refusing to describe a template (gone, or not one
// Countersign's AWX user may see): the catalog item no longer matches AWX.
type TemplateRefused struct {
	Message string
	Cause   error
}

func (e *TemplateRefused) Error() string { return e.Message }

func (e *TemplateRefused) Unwrap() error { return e.Cause }

// Invalid holds what is wrong with the input, by field, with AWX's
// {"field": ["message"]} shape.
type Invalid map[string][]string

func (f Invalid) Error() string { return fmt.Sprintf("invalid input: %v", map[string][]string(f)) }

// Add records msg against field.
func (f Invalid) Add(field, msg string) { f[field] = append(f[field], msg) }

// Err is nil when no field has an error, else f.
func (f Invalid) Err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}
