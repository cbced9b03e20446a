package activities

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/store"
)

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		t.Fatalf("want an application error, got %T %v", err, err)
	}
	return app
}

func TestPostFailure_OnlyARefusalProvesNoJob(t *testing.T) {
	for _, tc := range []struct {
		err   error
		final bool
	}{
		{&awx.APIError{StatusCode: 400, Fields: map[string][]string{"variables_needed_to_start": {"'x' value missing"}}}, true},
		{&awx.APIError{StatusCode: 403, Detail: "You do not have permission to perform this action."}, true},
		{&awx.APIError{StatusCode: 404, Detail: "Not found."}, true},
		{&awx.APIError{StatusCode: 408}, false},
		{&awx.APIError{StatusCode: 429}, false},
		{&awx.APIError{StatusCode: 500}, false},
		{&awx.APIError{StatusCode: 502}, false},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, false},
		{fmt.Errorf("decode launch answer: unexpected EOF"), false},
	} {
		app := appError(t, postFailure(tc.err, LaunchInput{}))
		assert.Equal(t, tc.final, app.NonRetryable(), "%v", tc.err)
	}
	assert.ErrorIs(t, postFailure(context.Canceled, LaunchInput{}), context.Canceled)
}

func TestStoreFailure(t *testing.T) {
	gone := appError(t, storeFailure("reading", 7, fmt.Errorf("get: %w", store.ErrNotFound)))
	assert.True(t, gone.NonRetryable())
	assert.Equal(t, ErrTypeRequestGone, gone.Type())
	down := appError(t, storeFailure("reading", 7, errors.New("dial tcp: connection refused")))
	assert.False(t, down.NonRetryable())
	assert.Equal(t, ErrTypeStoreUnavailable, down.Type())
}

func TestRetryable(t *testing.T) {
	app := appError(t, retryable(temporal.NewNonRetryableApplicationError("refused", ErrTypeAWXRefused, nil)))
	assert.False(t, app.NonRetryable())
	plain := errors.New("x")
	assert.Equal(t, plain, retryable(plain))
}

func TestRedact(t *testing.T) {
	in := LaunchInput{
		ExtraVars:       map[string]any{"env": "prod", "api_key": "k3y-value"},
		NodeSurveyData:  map[string]map[string]any{"db": {"db_password": "hunter22"}},
		SecretVariables: []string{"db_password", "api_key", "absent"},
	}
	got := redact("'db_password' value hunter22 is too small; api_key k3y-value; env prod", in)
	assert.Equal(t, "'db_password' value $encrypted$ is too small; api_key $encrypted$; env prod", got)
	assert.Equal(t, "unchanged", redact("unchanged", LaunchInput{}))
}
