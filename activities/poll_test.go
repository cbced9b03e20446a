package activities_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
)

// launched launches r and returns its job.
func launched(t *testing.T, s *testkit.Stack, r testkit.Request) approval.Job {
	t.Helper()
	in := s.Create(t, r)
	res, err := launch(t, s, launchInput(in))
	require.NoError(t, err)
	return res.Job
}

func poll(t *testing.T, s *testkit.Stack, in activities.PollInput) (activities.PollResult, []string, error) {
	t.Helper()
	env := activityEnv(s.Activities)
	var beats []string
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var status string
		require.NoError(t, d.Get(&status))
		beats = append(beats, status)
	})
	v, err := env.ExecuteActivity(s.Activities.Poll, in)
	var res activities.PollResult
	if err == nil {
		require.NoError(t, v.Get(&res))
	}
	return res, beats, err
}

func TestActivities_Poll(t *testing.T) {
	t.Run("until running, then until the end", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{JobDuration: 600 * time.Millisecond, PendingFor: 200 * time.Millisecond})
		job := launched(t, s, testkit.RestartService())

		res, _, err := poll(t, s, activities.PollInput{Job: job, UntilRunning: true})
		require.NoError(t, err)
		assert.Equal(t, activities.PollResult{Status: "running"}, res)

		job.Status = res.Status
		res, beats, err := poll(t, s, activities.PollInput{Job: job})
		require.NoError(t, err)
		assert.Equal(t, activities.PollResult{Status: "successful"}, res)
		assert.Contains(t, beats, "running", "progress is heartbeated")
	})

	t.Run("a failing template reports AWX's explanation", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{JobDuration: 200 * time.Millisecond})
		r := testkit.RestartService()
		r.Template.ID, r.ExtraVars = awxsim.DemoRotateCredentialsID, map[string]any{}
		job := launched(t, s, r)
		res, _, err := poll(t, s, activities.PollInput{Job: job})
		require.NoError(t, err)
		assert.Equal(t, "failed", res.Status)
		assert.NotEmpty(t, res.Explanation)
	})

	t.Run("error and canceled are terminal", func(t *testing.T) {
		for _, status := range []string{awxsim.StatusError, awxsim.StatusCanceled} {
			s := testkit.NewStack(t, awxsim.Config{JobDuration: time.Hour})
			job := launched(t, s, testkit.RestartService())
			require.NoError(t, s.Sim.SetJobStatus(awxsim.KindJob, job.ID, status, "forced "+status))
			res, _, err := poll(t, s, activities.PollInput{Job: job})
			require.NoError(t, err)
			assert.Equal(t, activities.PollResult{Status: status, Explanation: "forced " + status}, res)
		}
	})

	t.Run("a job AWX no longer knows fails for good", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		_, _, err := poll(t, s, activities.PollInput{Job: approval.Job{Type: "job", ID: 99999}})
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		assert.True(t, app.NonRetryable())
		assert.Contains(t, app.Message(), "Not found")
	})

	t.Run("a short outage is ridden out", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
		job := launched(t, s, testkit.RestartService())
		s.Sim.InjectFault(awxsim.Fault{Method: "GET", Path: "/api/v2/jobs/", Kind: awxsim.FaultStatus, Status: 502, Times: 3})
		res, beats, err := poll(t, s, activities.PollInput{Job: job})
		require.NoError(t, err)
		assert.Equal(t, "successful", res.Status)
		assert.Contains(t, beats, "awx unreachable", "the attempt stays alive while AWX is down")
	})

	t.Run("a stopping worker hands the job over at once", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{JobDuration: 2 * time.Second})
		job := launched(t, s, testkit.RestartService())
		job.Status = "running"
		env := activityEnv(s.Activities)
		stop := make(chan struct{})
		close(stop) // the worker is stopping while the job runs
		env.SetWorkerStopChannel(stop)
		_, err := env.ExecuteActivity(s.Activities.Poll, activities.PollInput{Job: job})
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app, "the attempt ends instead of following the job to its end")
		assert.Equal(t, activities.ErrTypeWorkerStopped, app.Type())
		assert.False(t, app.NonRetryable(), "the next worker polls the same job")
		assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category(), "a clean stop is no error worth logging")
		assert.Positive(t, app.NextRetryDelay(), "retried without the policy's backoff")
		assert.LessOrEqual(t, app.NextRetryDelay(), time.Second)
		assert.Equal(t, 1, s.Sim.RequestCount("GET", fmt.Sprintf("/api/v2/jobs/%d/", job.ID)), "one look at the job, then the hand-over")
	})

	t.Run("an outage longer than the budget fails for good", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{JobDuration: time.Hour})
		s.Activities.PollOutageBudget = 200 * time.Millisecond
		job := launched(t, s, testkit.RestartService())
		s.Sim.InjectFault(awxsim.Fault{Method: "GET", Path: "/api/v2/jobs/", Kind: awxsim.FaultStatus, Status: 503})
		_, _, err := poll(t, s, activities.PollInput{Job: job})
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		assert.True(t, app.NonRetryable())
		assert.Contains(t, app.Message(), "AWX unreachable for")
	})
}

func TestActivities_CancelJob(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{JobDuration: time.Hour, CancelDelay: 50 * time.Millisecond})
	job := launched(t, s, testkit.RestartService())
	env := activityEnv(s.Activities)

	_, err := env.ExecuteActivity(s.Activities.CancelJob, activities.CancelJobInput{Job: job})
	require.NoError(t, err)
	res, _, err := poll(t, s, activities.PollInput{Job: job})
	require.NoError(t, err)
	assert.Equal(t, "canceled", res.Status, "AWX cancels asynchronously; polling sees the end")

	_, err = env.ExecuteActivity(s.Activities.CancelJob, activities.CancelJobInput{Job: job})
	assert.NoError(t, err, "canceling a finished job is not an error")

	_, err = env.ExecuteActivity(s.Activities.CancelJob, activities.CancelJobInput{Job: approval.Job{Type: "job", ID: 4242}})
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.True(t, app.NonRetryable())
	assert.Equal(t, 1, s.Sim.RequestCount("POST", "/api/v2/jobs/4242/cancel/"))
}
