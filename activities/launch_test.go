package activities_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

func launchInput(in workflows.Input) activities.LaunchInput {
	return activities.LaunchInput{
		RequestID:      in.RequestID,
		TemplateKind:   in.Template.Kind,
		TemplateID:     in.Template.ID,
		ExtraVars:      in.ExtraVars,
		NodeSurveyData: in.NodeSurveyData,
	}
}

func launch(t *testing.T, s *testkit.Stack, in activities.LaunchInput) (activities.LaunchResult, error) {
	t.Helper()
	v, err := activityEnv(s.Activities).ExecuteActivity(s.Activities.Launch, in)
	var res activities.LaunchResult
	if err == nil {
		require.NoError(t, v.Get(&res))
	}
	return res, err
}

func TestActivities_Launch(t *testing.T) {
	ctx := context.Background()

	t.Run("workflow template: node answers merged, request marker added, job claimed", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		in := s.Create(t, testkit.ProvisionEnvironment())
		res, err := launch(t, s, launchInput(in))
		require.NoError(t, err)
		assert.False(t, res.Recovered)
		assert.Equal(t, "workflow_job", res.Job.Type)
		assert.Equal(t, "pending", res.Job.Status)
		assert.Equal(t, fmt.Sprintf("%s/#/jobs/workflow/%d", s.SimURL, res.Job.ID), res.Job.URL)

		jobs := s.Sim.Jobs()
		require.Len(t, jobs, 1)
		vars := jobs[0].ExtraVars
		assert.Equal(t, "demo-env", vars["env_name"])
		assert.Equal(t, "small", vars["db_size"], "node answers reach the workflow's extra_vars")
		assert.Equal(t, float64(in.RequestID), vars[activities.RequestMarker])
		assert.Equal(t, testkit.AWXUser, jobs[0].CreatedBy)

		ref, err := s.Store.RequestJob(ctx, in.RequestID)
		require.NoError(t, err)
		require.NotNil(t, ref)
		assert.Equal(t, res.Job.ID, ref.ID)
	})

	t.Run("job template without prompted variables gets no marker", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		in := s.Create(t, testkit.RestartService())
		res, err := launch(t, s, launchInput(in))
		require.NoError(t, err)
		assert.Equal(t, "job", res.Job.Type)
		jobs := s.Sim.Jobs()
		require.Len(t, jobs, 1)
		assert.NotContains(t, jobs[0].ExtraVars, activities.RequestMarker)
		assert.Empty(t, jobs[0].IgnoredFields)
	})

	t.Run("a job already recorded for the request is returned, AWX untouched", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		in := s.Create(t, testkit.RestartService())
		first, err := launch(t, s, launchInput(in))
		require.NoError(t, err)
		again, err := launch(t, s, launchInput(in))
		require.NoError(t, err)
		assert.True(t, again.Recovered)
		assert.Equal(t, first.Job.ID, again.Job.ID)
		assert.Equal(t, 1, s.Sim.LaunchCount(awxsim.KindJob, awxsim.DemoRestartServiceID))
	})

	t.Run("survey violation is refused for good with AWX's message", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		r := testkit.RestartService()
		r.ExtraVars = map[string]any{"service_name": "database"}
		in := s.Create(t, r)
		_, err := launch(t, s, launchInput(in))
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		assert.True(t, app.NonRetryable())
		assert.Equal(t, activities.ErrTypeAWXRefused, app.Type())
		assert.Equal(t, "variables_needed_to_start: Value database for 'service_name' expected to be one of ['api', 'web', 'worker'].", app.Message())
		assert.Empty(t, s.Sim.Jobs())
	})

	t.Run("an unknown template is refused for good", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		r := testkit.RestartService()
		r.Template.ID = 4040
		in := s.Create(t, r)
		_, err := launch(t, s, launchInput(in))
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		assert.True(t, app.NonRetryable())
		assert.Contains(t, app.Message(), "Not found")
	})

	t.Run("server errors are retryable", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		s.Sim.InjectFault(awxsim.Fault{Method: "POST", Path: "/api/v2/job_templates/", Kind: awxsim.FaultStatus, Status: 503})
		in := s.Create(t, testkit.RestartService())
		_, err := launch(t, s, launchInput(in))
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		assert.False(t, app.NonRetryable())
		assert.Contains(t, err.Error(), "503")
		assert.Empty(t, s.Sim.Jobs())
	})

	t.Run("variables AWX ignored: the job is canceled and the launch fails", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{JobDuration: time.Minute})
		r := testkit.RestartService()
		r.ExtraVars["not_in_survey"] = "x"
		in := s.Create(t, r)
		_, err := launch(t, s, launchInput(in))
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		assert.True(t, app.NonRetryable())
		assert.Equal(t, activities.ErrTypeLaunchMisconfigured, app.Type())
		assert.Contains(t, app.Message(), "AWX ignored extra_vars.not_in_survey")
		var res activities.LaunchResult
		require.NoError(t, app.Details(&res))
		assert.Equal(t, "canceled", res.Job.Status)
		assert.Eventually(t, func() bool {
			return s.Sim.Jobs()[0].Status == awxsim.StatusCanceled
		}, 5*time.Second, 50*time.Millisecond, "the misconfigured job is canceled in AWX")
	})
}

// launchWithRetries runs Launch as a workflow would, so a failed attempt is
// retried with its attempt number.
func launchWithRetries(ctx workflow.Context, in activities.LaunchInput) (activities.LaunchResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
	})
	var res activities.LaunchResult
	err := workflow.ExecuteActivity(ctx, "Launch", in).Get(ctx, &res)
	return res, err
}

func launchRetried(t *testing.T, s *testkit.Stack, in activities.LaunchInput) activities.LaunchResult {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(s.Activities)
	env.RegisterWorkflow(launchWithRetries)
	env.ExecuteWorkflow(launchWithRetries, in)
	require.NoError(t, env.GetWorkflowError())
	var res activities.LaunchResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func TestActivities_Launch_LostResponseNeverLaunchesTwice(t *testing.T) {
	for _, tc := range []struct {
		name    string
		request testkit.Request
		kind    awxsim.Kind
		path    string
	}{
		{"recognised by the request marker", testkit.ProvisionEnvironment(), awxsim.KindWorkflowJob,
			fmt.Sprintf("/api/v2/workflow_job_templates/%d/launch/", awxsim.DemoProvisionEnvironmentID)},
		{"recognised by the answers", testkit.RestartService(), awxsim.KindJob,
			fmt.Sprintf("/api/v2/job_templates/%d/launch/", awxsim.DemoRestartServiceID)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testkit.NewStack(t, awxsim.Config{})
			in := s.Create(t, tc.request)
			s.Sim.InjectFault(awxsim.Fault{Method: "POST", Path: tc.path, Kind: awxsim.FaultDropResponse, Times: 1})

			res := launchRetried(t, s, launchInput(in))

			assert.True(t, res.Recovered)
			assert.Equal(t, 1, s.Sim.LaunchCount(tc.kind, tc.request.Template.ID), "exactly one AWX job")
			assert.Equal(t, 1, s.Sim.RequestCount("POST", tc.path), "one POST reached AWX, its answer was lost, and it was not repeated")
			ref, err := s.Store.RequestJob(context.Background(), in.RequestID)
			require.NoError(t, err)
			assert.Equal(t, res.Job.ID, ref.ID)
		})
	}

	t.Run("a twin request's job is never adopted", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		twin := s.Create(t, testkit.RestartService())
		_, err := launch(t, s, launchInput(twin))
		require.NoError(t, err)

		in := s.Create(t, testkit.RestartService())
		path := fmt.Sprintf("/api/v2/job_templates/%d/launch/", awxsim.DemoRestartServiceID)
		s.Sim.InjectFault(awxsim.Fault{Method: "POST", Path: path, Kind: awxsim.FaultDropResponse, Times: 1})
		res := launchRetried(t, s, launchInput(in))

		twinJob, err := s.Store.RequestJob(context.Background(), twin.RequestID)
		require.NoError(t, err)
		assert.NotEqual(t, twinJob.ID, res.Job.ID, "same answers, yet each request keeps its own job")
		assert.Equal(t, 2, s.Sim.LaunchCount(awxsim.KindJob, awxsim.DemoRestartServiceID))
	})
}

// Without the request marker, another request with the same answers may
// recover the job a launch has just created as its own lost launch, before
// the launch records it. The launch then takes the job that request left
// behind instead of failing.
func TestActivities_Launch_JobTakenByATwinRequest(t *testing.T) {
	ctx := context.Background()
	s := testkit.NewStack(t, awxsim.Config{})
	path := fmt.Sprintf("/api/v2/job_templates/%d/launch/", awxsim.DemoRestartServiceID)
	twin := s.Create(t, testkit.RestartService())
	s.Sim.InjectFault(awxsim.Fault{Method: "POST", Path: path, Kind: awxsim.FaultDropResponse, Times: 1})
	_, err := launch(t, s, launchInput(twin))
	require.Error(t, err, "the twin's launch answer was lost")
	jobs := s.Sim.Jobs()
	require.Len(t, jobs, 1)
	lost := jobs[0].ID
	// The twin's recovery takes the job the next launch creates.
	require.NoError(t, s.Store.ClaimJob(ctx, twin.RequestID, store.JobTypeJob, lost+1))

	in := s.Create(t, testkit.RestartService())
	res := launchRetried(t, s, launchInput(in))

	assert.Equal(t, lost, res.Job.ID, "the job the twin left behind")
	assert.True(t, res.Recovered)
	assert.Equal(t, 2, s.Sim.RequestCount("POST", path), "no third launch")
	for _, j := range s.Sim.Jobs() {
		_, err := s.Store.JobOwner(ctx, store.JobTypeJob, j.ID)
		assert.NoError(t, err, "AWX job %d has an owner", j.ID)
	}
}

// A lost launch is recognised by its answers exactly: a twin's job whose
// answer differs only beyond float64's precision is not this request's.
func TestActivities_Launch_RecoveryComparesNumbersExactly(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	require.NoError(t, s.Sim.AddJobTemplate(awxsim.JobTemplate{ID: 805, Name: "Close ticket", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "Close ticket", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionInteger, QuestionName: "Ticket", Variable: "ticket", Required: true},
			{Type: awxsim.QuestionFloat, QuestionName: "Hours", Variable: "hours", Required: true},
		}}}))
	path := "/api/v2/job_templates/805/launch/"
	request := func(ticket, hours string) activities.LaunchInput {
		r := testkit.RestartService()
		r.Item, r.Template.ID = "Close ticket", 805
		r.ExtraVars = map[string]any{"ticket": json.Number(ticket), "hours": json.Number(hours)}
		return launchInput(s.Create(t, r))
	}
	twin := request("9007199254740992", "2")
	in := request("9007199254740993", "2.0")
	s.Sim.InjectFault(awxsim.Fault{Method: "POST", Path: path, Kind: awxsim.FaultDropResponse, Times: 2})
	_, err := launch(t, s, twin)
	require.Error(t, err)
	_, err = launch(t, s, in)
	require.Error(t, err)
	jobs := s.Sim.Jobs()
	require.Len(t, jobs, 2)

	res, err := launch(t, s, in)

	require.NoError(t, err)
	assert.True(t, res.Recovered)
	assert.Equal(t, jobs[1].ID, res.Job.ID, "its own job, not the twin's")
}

func TestActivities_Launch_AfterAnAttemptThatFoundNothing(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	in := s.Create(t, testkit.ProvisionEnvironment())
	_, err := s.Store.MarkLaunchAttempted(context.Background(), in.RequestID)
	require.NoError(t, err)

	res, err := launch(t, s, launchInput(in))

	require.NoError(t, err)
	assert.False(t, res.Recovered)
	assert.Equal(t, 1, s.Sim.LaunchCount(awxsim.KindWorkflowJob, awxsim.DemoProvisionEnvironmentID))
	assert.Equal(t, 2, s.Sim.RequestCount("GET", "/api/v2/workflow_jobs/"), "looked twice (before and after settling), then launched")
}

// A launch still in flight when the request's workflow was terminated and
// the request settled (canceled) sends nothing to AWX.
func TestActivities_Launch_RequestSettledMeanwhile(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	in := s.Create(t, testkit.RestartService())
	status, err := s.Store.SettleAbandonedRequest(context.Background(), in.RequestID,
		store.Abandonment{Reason: "terminated", LaunchedReason: "terminated after launching", At: time.Now()})
	require.NoError(t, err)
	require.Equal(t, "canceled", status)

	_, err = launch(t, s, launchInput(in))

	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.Equal(t, activities.ErrTypeRequestSettled, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, 0, s.Sim.RequestCount("POST", fmt.Sprintf("/api/v2/job_templates/%d/launch/", awxsim.DemoRestartServiceID)))
	assert.Empty(t, s.Sim.Jobs())
}

func TestActivities_RecoverLaunch(t *testing.T) {
	recoverLaunch := func(t *testing.T, s *testkit.Stack, in activities.LaunchInput) (activities.RecoverResult, error) {
		v, err := activityEnv(s.Activities).ExecuteActivity(s.Activities.RecoverLaunch, in)
		var res activities.RecoverResult
		if err == nil {
			require.NoError(t, v.Get(&res))
		}
		return res, err
	}

	t.Run("never sent: nothing to find, AWX not even asked", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		in := s.Create(t, testkit.RestartService())
		res, err := recoverLaunch(t, s, launchInput(in))
		require.NoError(t, err)
		assert.False(t, res.Found)
		assert.Zero(t, s.Sim.RequestCount("GET", "/api/v2/jobs/"))
	})
	t.Run("sent, answer lost: the job is found and recorded", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		in := s.Create(t, testkit.ProvisionEnvironment())
		s.Sim.InjectFault(awxsim.Fault{Method: "POST", Kind: awxsim.FaultDropResponse, Times: 1})
		_, err := launch(t, s, launchInput(in))
		require.Error(t, err, "the answer was lost")
		res, err := recoverLaunch(t, s, launchInput(in))
		require.NoError(t, err)
		require.True(t, res.Found)
		ref, err := s.Store.RequestJob(context.Background(), in.RequestID)
		require.NoError(t, err)
		assert.Equal(t, res.Job.ID, ref.ID)
		assert.Equal(t, 1, s.Sim.LaunchCount(awxsim.KindWorkflowJob, awxsim.DemoProvisionEnvironmentID))
	})
	t.Run("recorded: found", func(t *testing.T) {
		s := testkit.NewStack(t, awxsim.Config{})
		in := s.Create(t, testkit.RestartService())
		launched, err := launch(t, s, launchInput(in))
		require.NoError(t, err)
		res, err := recoverLaunch(t, s, launchInput(in))
		require.NoError(t, err)
		assert.Equal(t, activities.RecoverResult{Found: true, Job: res.Job}, res)
		assert.Equal(t, launched.Job.ID, res.Job.ID)
	})
}

func TestActivities_Launch_RecordedButMisconfiguredStaysAFailure(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{JobDuration: time.Minute})
	r := testkit.RestartService()
	r.ExtraVars["not_in_survey"] = "x"
	in := s.Create(t, r)
	_, err := launch(t, s, launchInput(in))
	require.Error(t, err)

	// As if the worker had died after recording the job, before failing.
	_, err = launch(t, s, launchInput(in))
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.Equal(t, activities.ErrTypeLaunchMisconfigured, app.Type())
	assert.Equal(t, 1, s.Sim.LaunchCount(awxsim.KindJob, awxsim.DemoRestartServiceID))
}

// "$encrypted$" keeps a password question's default, which AWX leaves out
// of the job when it is not itself a valid answer: the job recorded for the
// request did not ignore it.
func TestActivities_Launch_RecordedWithAPasswordDefaultLeftOut(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{JobDuration: time.Minute})
	require.NoError(t, s.Sim.AddJobTemplate(awxsim.JobTemplate{ID: 804, Name: "Reset cache", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "Reset cache", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionPassword, QuestionName: "Cache password", Variable: "cache_password", Default: "short", Min: intPtr(8)},
		}}}))
	r := testkit.RestartService()
	r.Item, r.Template.ID = "Reset cache", 804
	r.ExtraVars = map[string]any{"cache_password": "$encrypted$"}
	in := launchInput(s.Create(t, r))
	in.SecretVariables = []string{"cache_password"}
	first, err := launch(t, s, in)
	require.NoError(t, err)
	require.NotContains(t, s.Sim.Jobs()[0].ExtraVars, "cache_password", "AWX left the invalid default out")

	again, err := launch(t, s, in)

	require.NoError(t, err)
	assert.Equal(t, first.Job.ID, again.Job.ID)
	assert.Equal(t, awxsim.StatusPending, s.Sim.Jobs()[0].Status, "not canceled")
}

func TestActivities_Launch_DeletedRequest(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	in := s.Create(t, testkit.RestartService())
	require.NoError(t, s.Store.DeleteRequest(context.Background(), in.RequestID))
	_, err := launch(t, s, launchInput(in))
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.True(t, app.NonRetryable())
	assert.Equal(t, activities.ErrTypeRequestGone, app.Type())
	assert.Empty(t, s.Sim.Jobs())
}

func TestActivities_Launch_PasswordsNeverInMessages(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	r := testkit.RestartService()
	r.Template.ID = awxsim.DemoCreateDatabaseID
	r.ExtraVars = map[string]any{"db_size": "small", "db_password": "tiny1"}
	in := launchInput(s.Create(t, r))
	in.SecretVariables = []string{"db_password"}
	_, err := launch(t, s, in)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.Contains(t, app.Message(), "'db_password' value $encrypted$ is too small")
	assert.NotContains(t, app.Error(), "tiny1")
}
