package workflows_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/workflows"
)

func TestServiceRequest_CancelWhileLaunching(t *testing.T) {
	t.Parallel()
	t.Run("no job was created: canceled, nothing runs", func(t *testing.T) {
		h := newHarness(t)
		h.world.blockLaunch = true
		cancel := h.updateAt(time.Second, workflows.Cancel, workflows.CancelInput{User: "alice", Reason: "never mind"})

		res := h.run(input(plan()))

		require.NoError(t, cancel.err)
		assert.Equal(t, approval.StatusCanceled, res.Status)
		assert.Nil(t, res.Job)
		assert.Equal(t, 1, h.world.recoverCalls, "whether a job was created is settled before giving up")
		assert.Empty(t, h.world.pollCalls)
	})
	t.Run("a job was created anyway: it is canceled in AWX", func(t *testing.T) {
		h := newHarness(t)
		h.world.blockLaunch = true
		h.world.blockUntilCanceled = true
		h.world.recovered = activities.RecoverResult{Found: true, Job: h.world.job}
		h.updateAt(time.Second, workflows.Cancel, workflows.CancelInput{User: "alice"})

		res := h.run(input(plan()))

		assert.Equal(t, approval.StatusCanceled, res.Status)
		require.NotNil(t, res.Job)
		assert.Equal(t, h.world.job.ID, res.Job.ID)
		assert.Equal(t, 1, h.world.cancelCalls)
	})
}

func TestServiceRequest_LaunchBudgetExhaustedButJobFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := 0; i < 100; i++ {
		h.world.launchErrs = append(h.world.launchErrs, errors.New("AWX answered 502"))
	}
	h.world.recovered = activities.RecoverResult{Found: true, Job: h.world.job}
	in := input(plan())
	in.Settings.LaunchRetryBudget = approval.Duration(time.Minute)

	res := h.run(in)

	assert.Equal(t, approval.StatusSuccessful, res.Status, "the job a lost answer created is followed")
	assert.Equal(t, 1, h.world.recoverCalls)
}

func TestServiceRequest_LaunchMisconfigured(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	job := h.world.job
	job.Status = "canceled"
	h.world.launchErrs = []error{temporal.NewNonRetryableApplicationError(
		"AWX ignored extra_vars.color because the template does not prompt for them on launch; AWX workflow_job 501 was canceled, it would have run without them",
		activities.ErrTypeLaunchMisconfigured, nil, activities.LaunchResult{Job: job})}

	res := h.run(input(plan()))

	assert.Equal(t, approval.StatusFailed, res.Status)
	assert.Contains(t, res.FailureReason, "launch misconfigured: AWX ignored extra_vars.color")
	require.NotNil(t, res.Job, "the request shows the job that was canceled")
	assert.Equal(t, "canceled", res.Job.Status)
	assert.Zero(t, h.world.recoverCalls)
}

func TestServiceRequest_LostTrackOfTheJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.pollErr = temporal.NewNonRetryableApplicationError("AWX unreachable for 24h0m0s while following the job", activities.ErrTypeAWXUnavailable, nil)

	res := h.run(input(plan()))

	assert.Equal(t, approval.StatusFailed, res.Status)
	assert.Equal(t, "lost track of AWX workflow_job 501: AWX unreachable for 24h0m0s while following the job", res.FailureReason)
}

func TestServiceRequest_FailedAWXCancelIsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.blockUntilCanceled = true
	h.world.cancelErrs = []error{errors.New("AWX answered 503"), errors.New("AWX answered 503")}
	h.updateAt(time.Second, workflows.Cancel, workflows.CancelInput{User: "alice"})

	res := h.run(input(plan()))

	assert.Equal(t, approval.StatusCanceled, res.Status)
	assert.Equal(t, 3, h.world.cancelCalls)
}

func TestServiceRequest_OrgAdminCancelsARequestWithoutStages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.blockUntilCanceled = true
	bob := h.updateAt(time.Second, workflows.Cancel, workflows.CancelInput{User: "bob"})
	erin := h.updateAt(2*time.Second, workflows.Cancel, workflows.CancelInput{User: "erin", Reason: "freeze"})

	res := h.run(input(plan()))

	var app *temporal.ApplicationError
	require.ErrorAs(t, bob.rejected, &app)
	assert.Equal(t, string(approval.CodeNotAllowed), app.Type())
	require.NoError(t, erin.err)
	assert.Equal(t, approval.StatusCanceled, res.Status)
	assert.Equal(t, 1, h.world.cancelCalls)
}

// Numbers reach the launch exactly as the requester wrote them: an integer
// beyond 2^53 keeps its digits and 2.0 stays a float, through the
// workflow's input and the Launch activity's (JSON numbers must not be
// decoded as float64 on the way).
func TestServiceRequest_LaunchKeepsNumbersExact(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	in := input(plan())
	in.ExtraVars = map[string]any{"env_name": "demo", "count": json.Number("9007199254740993"), "ratio": json.Number("2.0"),
		"nested": map[string]any{"n": json.Number("-12345678901234567"), "l": []any{json.Number("1e3")}}}
	in.NodeSurveyData = map[string]map[string]any{"deploy-app": {"replicas": json.Number("9007199254740995")}}

	res := h.run(in)

	assert.Equal(t, approval.StatusSuccessful, res.Status)
	require.Len(t, h.world.launchCalls, 1)
	got := h.world.launchCalls[0]
	vars, err := json.Marshal(got.ExtraVars)
	require.NoError(t, err)
	assert.JSONEq(t, `{"env_name": "demo", "count": 9007199254740993, "ratio": 2.0, "nested": {"n": -12345678901234567, "l": [1e3]}}`, string(vars))
	assert.Contains(t, string(vars), `"count":9007199254740993`)
	assert.Contains(t, string(vars), `"ratio":2.0`)
	assert.Contains(t, string(vars), `[1e3]`)
	nodes, err := json.Marshal(got.NodeSurveyData)
	require.NoError(t, err)
	assert.Equal(t, `{"deploy-app":{"replicas":9007199254740995}}`, string(nodes))
}
