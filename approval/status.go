// Package approval holds Countersign's approval rules as pure, deterministic
// functions: resolving a request's approval plan from policies, and deciding
// whether an approve, reject, comment or cancel is allowed and what it
// changes. It performs no I/O and reads no clock (callers pass `now`), so the
// ServiceRequest workflow, its update validators and the REST API can all call
// it and always agree.
package approval

// Status is the lifecycle status of a service request (SPEC 3.4).
type Status string

// Request statuses. Terminal ones are rejected, changes_requested, expired,
// successful, failed and canceled. A request ends changes_requested when an
// approver asked its requester to change it: the requester may resubmit it
// once, as a new request.
const (
	StatusPendingApproval Status = "pending_approval"
	StatusApproved        Status = "approved"
	StatusRunning         Status = "running"
	StatusSuccessful      Status = "successful"
	StatusFailed          Status = "failed"
	StatusRejected        Status = "rejected"
	StatusExpired         Status = "expired"
	StatusCanceled        Status = "canceled"
	// StatusChangesRequested: an approver asked for changes; like
	// rejected, the request accepts no more actions.
	StatusChangesRequested Status = "changes_requested"
)

// Statuses lists every request status in lifecycle order.
var Statuses = []Status{
	StatusPendingApproval, StatusApproved, StatusRunning, StatusSuccessful,
	StatusFailed, StatusRejected, StatusExpired, StatusCanceled, StatusChangesRequested,
}

// Enum lists every status, so that documents of the API (its OpenAPI
// schema) list them too.
func (Status) Enum() []any {
	out := make([]any, len(Statuses))
	for i, s := range Statuses {
		out[i] = string(s)
	}
	return out
}

// Terminal reports whether a request in this status can never change again.
func (s Status) Terminal() bool {
	switch s {
	case StatusRejected, StatusChangesRequested, StatusExpired, StatusSuccessful, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	for _, known := range Statuses {
		if s == known {
			return true
		}
	}
	return false
}

// StageStatus is the status of one approval stage of a request.
type StageStatus string

// Stage statuses: a stage waits until the previous one is approved, is
// pending while it accepts decisions, and ends approved, rejected,
// changes_requested, expired or canceled. Stages after a rejected,
// changes_requested, expired or canceled one are skipped.
const (
	StageWaiting  StageStatus = "waiting"
	StagePending  StageStatus = "pending"
	StageApproved StageStatus = "approved"
	StageRejected StageStatus = "rejected"
	StageExpired  StageStatus = "expired"
	StageCanceled StageStatus = "canceled"
	StageSkipped  StageStatus = "skipped"
	// StageChangesRequested: an approver of the stage asked for changes.
	StageChangesRequested StageStatus = "changes_requested"
)

// Enum lists every stage status, for documents of the API.
func (StageStatus) Enum() []any {
	return []any{string(StageWaiting), string(StagePending), string(StageApproved), string(StageRejected),
		string(StageExpired), string(StageCanceled), string(StageSkipped), string(StageChangesRequested)}
}

// AWX job statuses that end a job (AWX_API §4).
const (
	awxSuccessful = "successful"
	awxFailed     = "failed"
	awxError      = "error"
	awxCanceled   = "canceled"
)

// JobOutcome maps an AWX job status to the request status it implies (SPEC 6):
// successful → successful, failed or error → failed, canceled → canceled.
// ok is false while the job is still active (new, pending, waiting, running)
// or the status is unknown, in which case the request stays running.
func JobOutcome(awxStatus string) (status Status, ok bool) {
	switch awxStatus {
	case awxSuccessful:
		return StatusSuccessful, true
	case awxFailed, awxError:
		return StatusFailed, true
	case awxCanceled:
		return StatusCanceled, true
	}
	return StatusRunning, false
}
