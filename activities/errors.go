package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/survey"
)

// Types of the application errors activities fail with. Those marked
// non-retryable fail the activity for good; the others are retried within
// the activity's retry policy, and name what was unavailable when the
// retries ran out.
const (
	// ErrTypeAWXRefused (non-retryable): AWX refused the call (400, 403,
	// 404); the message is AWX's.
	ErrTypeAWXRefused = "AWXRefused"
	// ErrTypeLaunchMisconfigured (non-retryable): AWX ignored variables it
	// was given; the launched job was canceled and is in the details.
	ErrTypeLaunchMisconfigured = "LaunchMisconfigured"
	// ErrTypeJobOwnership: the job belongs to another request. Retryable
	// when another request took the job a launch had just created (the
	// retry looks for the job that request launched); otherwise not.
	ErrTypeJobOwnership = "JobOwnership"
	// ErrTypeRequestGone (non-retryable): the request's row was deleted.
	ErrTypeRequestGone = "RequestGone"
	// ErrTypeRequestSettled (non-retryable): the request was settled
	// without its workflow (which was terminated or timed out), so nothing
	// is launched for it.
	ErrTypeRequestSettled = "RequestSettled"
	// ErrTypeAWXUnavailable: AWX did not answer, or answered 5xx, 408, 429.
	ErrTypeAWXUnavailable = "AWXUnavailable"
	// ErrTypeStoreUnavailable: PostgreSQL failed.
	ErrTypeStoreUnavailable = "StoreUnavailable"
	// ErrTypeWorkerStopped: the worker stopped while the activity ran; it
	// is retried at once, on the next worker that polls the task queue.
	ErrTypeWorkerStopped = "WorkerStopped"
)

// workerStopRetryDelay is how soon an activity handed over by a stopping
// worker is retried, whatever its retry policy's backoff has grown to: the
// stopping worker no longer takes tasks, so the retry goes to the next
// worker that polls, at once if one is running.
const workerStopRetryDelay = 200 * time.Millisecond

// WorkerStopped is the error of an activity that its worker's clean stop
// cut short while doing what doing says: retryable (ErrTypeWorkerStopped),
// retried after workerStopRetryDelay rather than the policy's backoff, and
// benign, so that the SDK logs it at debug level: a clean stop is no error.
// Returning it lets Temporal retry the activity at once on another worker,
// where a worker that vanished is only noticed at the activity's heartbeat
// or start-to-close timeout.
func WorkerStopped(doing string) error {
	return temporal.NewApplicationErrorWithOptions("the worker stopped while "+doing+"; the next worker carries on", ErrTypeWorkerStopped,
		temporal.ApplicationErrorOptions{NextRetryDelay: workerStopRetryDelay, Category: temporal.ApplicationErrorCategoryBenign})
}

// awxFailure classifies an AWX error for Temporal: transient ones are
// retried, the others fail for good with AWX's own message. Password answers
// are masked in the message (AWX quotes the values it refuses): it becomes
// the request's failure reason, reaches its notifications and stays in the
// workflow's history.
func awxFailure(doing string, err error, in LaunchInput) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	m := secretMasker(in)
	if awx.IsTransient(err) {
		return temporal.NewApplicationError(doing+": "+maskedText(err, m), ErrTypeAWXUnavailable)
	}
	var apiErr *awx.APIError
	if errors.As(err, &apiErr) {
		return temporal.NewNonRetryableApplicationError(apiErr.MaskedMessage(m), ErrTypeAWXRefused, nil)
	}
	return temporal.NewNonRetryableApplicationError(maskedText(err, m), ErrTypeAWXRefused, nil)
}

// postFailure classifies an error of the launch POST. Only a 4xx answer
// (other than 408 and 429) proves that AWX created no job; anything else may
// hide a created job, so it is retried and the retry looks for the job.
func postFailure(err error, in LaunchInput) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	m := secretMasker(in)
	var apiErr *awx.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 &&
		apiErr.StatusCode != http.StatusRequestTimeout && apiErr.StatusCode != http.StatusTooManyRequests {
		return temporal.NewNonRetryableApplicationError(apiErr.MaskedMessage(m), ErrTypeAWXRefused, nil)
	}
	return temporal.NewApplicationError("launching the template: "+maskedText(err, m), ErrTypeAWXUnavailable)
}

// retryable keeps an error retryable even if AWX refused: used where giving
// up could lead to a second launch.
func retryable(err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return temporal.NewApplicationError(app.Message(), ErrTypeAWXUnavailable)
	}
	return err
}

// storeFailure classifies a PostgreSQL error: a request that no longer
// exists fails for good, anything else is retried.
func storeFailure(doing string, requestID int64, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("request %d no longer exists", requestID), ErrTypeRequestGone, nil)
	}
	return temporal.NewApplicationError(fmt.Sprintf("PostgreSQL, %s: %v", doing, err), ErrTypeStoreUnavailable)
}

// secretMasker masks the request's password answers, wherever in the
// answers they are.
func secretMasker(in LaunchInput) *survey.Masker {
	var answers []any
	for _, name := range in.SecretVariables {
		if v, ok := in.ExtraVars[name]; ok {
			answers = append(answers, v)
		}
		for _, node := range in.NodeSurveyData {
			if v, ok := node[name]; ok {
				answers = append(answers, v)
			}
		}
	}
	return survey.NewMasker(answers...)
}

// maskedText is err's text with m's secrets masked; AWX's own message in it
// is masked before it is cut to length.
func maskedText(err error, m *survey.Masker) string {
	text := err.Error()
	var apiErr *awx.APIError
	if errors.As(err, &apiErr) {
		text = strings.Replace(text, apiErr.Error(), apiErr.MaskedError(m), 1)
	}
	return m.Mask(text, false)
}
