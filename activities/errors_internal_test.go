package activities

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/awx/pyrepr"
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

func TestSecretMasker(t *testing.T) {
	in := LaunchInput{
		ExtraVars:       map[string]any{"env": "prod", "api_key": "k3y-value"},
		NodeSurveyData:  map[string]map[string]any{"db": {"db_password": "hunter22"}},
		SecretVariables: []string{"db_password", "api_key", "absent"},
	}
	got := secretMasker(in).Mask("'db_password' value hunter22 is too small; api_key k3y-value; env prod", false)
	assert.Equal(t, "'db_password' value $encrypted$ is too small; api_key $encrypted$; env prod", got)
	assert.Equal(t, "unchanged", secretMasker(LaunchInput{}).Mask("unchanged", false))
}

// TestMaskedFailures feeds AWX's refusals that quote a password answer to
// the launch's error classification: the message a request, its
// notifications and its workflow history show never holds the password, nor
// a part of it, and is not garbled by the masking.
func TestMaskedFailures(t *testing.T) {
	const secret = "Zq9!long-enough-secret-value"
	filler := strings.Repeat("'region' value missing; ", 10) // the password straddles the cut
	quoted := `it's a "secret"` + "\n\\"
	for _, tc := range []struct {
		name   string
		answer any
		err    *awx.APIError
		want   string // exact message, when the case has one
	}{
		{
			name: "a password cut by the length limit", answer: secret,
			err: surveyRefusal(filler + "'db_password' value " + secret + " is too small (length is 28 must be at least 40)."),
		},
		{
			name: "a mask that would straddle the cut", answer: secret,
			err: surveyRefusal(strings.Repeat("x", 241) + "; 'db_password' value " + secret + " is too small."),
		},
		{
			name: "repeated spaces", answer: "correct  horse   battery",
			err:  surveyRefusal("'db_password' value correct  horse   battery is too small (length is 24 must be at least 30)."),
			want: "variables_needed_to_start: 'db_password' value $encrypted$ is too small (length is 24 must be at least 30).",
		},
		{
			name: "only spaces", answer: "   ",
			err:  surveyRefusal("'db_password' value     is too small (length is 3 must be at least 8)."),
			want: "variables_needed_to_start: 'db_password' value $encrypted$ is too small (length is 3 must be at least 8).",
		},
		{
			name: "one character", answer: "1",
			err:  surveyRefusal("'db_password' value 1 is too small (length is 1 must be at least 8)."),
			want: "variables_needed_to_start: 'db_password' value $encrypted$ is too small (length is 1 must be at least 8).",
		},
		{
			name: "one letter, quoted", answer: "e",
			err:  surveyRefusal("Value 'e' for 'db_password' expected to be one of ['a', 'b']."),
			want: "variables_needed_to_start: Value '$encrypted$' for 'db_password' expected to be one of ['a', 'b'].",
		},
		{
			name: "Python's repr", answer: quoted,
			err:  surveyRefusal("Value [" + pyrepr.Quote(quoted) + "] for 'db_password' expected to be a string."),
			want: "variables_needed_to_start: Value ['$encrypted$'] for 'db_password' expected to be a string.",
		},
		{
			name: "JSON escapes in a proxy's echo", answer: `p\ä"<ss>` + "\tword",
			err: &awx.APIError{Method: "POST", Path: "/api/v2/job_templates/7/launch/", StatusCode: 400,
				Body: []byte(`bad request: {"extra_vars": {"db_password": "p\\\u00e4\"<ss>\tword"}} or {"db_password":"p\\ä\"\u003css\u003e\tword"}`)},
			want: `bad request: {"extra_vars": {"db_password": "$encrypted$"}} or {"db_password":"$encrypted$"}`,
		},
		{
			name: "a body AWX's proxy cut inside the password", answer: secret,
			err: &awx.APIError{Method: "POST", Path: "/api/v2/job_templates/7/launch/", StatusCode: 400, Truncated: true,
				Body: []byte("refused: 'db_password' value " + secret[:11])},
			want: "refused: 'db_password' value $encrypted$",
		},
		{
			name: "a message AWX cut inside the password", answer: secret,
			err:  surveyRefusal("'db_password' value " + secret[:9] + "..."),
			want: "variables_needed_to_start: 'db_password' value $encrypted$...",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := LaunchInput{
				ExtraVars:       map[string]any{"region": "eu"},
				NodeSurveyData:  map[string]map[string]any{"db": {"db_password": tc.answer}},
				SecretVariables: []string{"db_password"},
			}
			for what, err := range map[string]error{
				"launch refused": postFailure(tc.err, in),
				"read refused":   awxFailure("reading", tc.err, in),
			} {
				msg := appError(t, err).Message()
				assert.LessOrEqual(t, utf8.RuneCountInString(msg), 300, what)
				if tc.want != "" {
					assert.Equal(t, tc.want, msg, what)
				}
				if s, ok := tc.answer.(string); ok && len(strings.TrimSpace(s)) >= 4 {
					assert.NotContains(t, msg, s[:4], "%s: a part of the password shows", what)
				}
				assert.NotContains(t, msg, "$encrypted$$", what)
				assert.False(t, strings.HasSuffix(strings.TrimSuffix(msg, "…"), "$encr"), what)
			}
		})
	}
}

func TestMaskedFailures_Transient(t *testing.T) {
	in := LaunchInput{ExtraVars: map[string]any{"api_key": "k3y-value-0123"}, SecretVariables: []string{"api_key"}}
	apiErr := &awx.APIError{Method: "GET", Path: "/api/v2/jobs/", StatusCode: 502,
		Body: []byte("<html><body>upstream echoed api_key=k3y-value-0123 " + strings.Repeat("and more ", 40) + "</body></html>")}
	for what, err := range map[string]error{
		"the error":         apiErr,
		"the error wrapped": fmt.Errorf("listing jobs: %w", apiErr),
		"a network error":   fmt.Errorf("dial tcp: lookup k3y-value-0123: no such host"),
	} {
		app := appError(t, awxFailure("looking for an earlier launch", err, in))
		assert.Equal(t, what == "a network error", app.NonRetryable(), "%s: only AWX's 502 is transient", what)
		assert.NotContains(t, app.Message(), "k3y-", what)
		assert.Contains(t, app.Message(), "$encrypted$", what)
		app = appError(t, postFailure(err, in))
		assert.NotContains(t, app.Message(), "k3y-", what)
	}
}

func surveyRefusal(msg string) *awx.APIError {
	return &awx.APIError{Method: "POST", Path: "/api/v2/job_templates/7/launch/", StatusCode: 400,
		Fields: map[string][]string{"variables_needed_to_start": {msg}}}
}
