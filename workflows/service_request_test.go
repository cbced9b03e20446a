package workflows_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/workflows"
)

const day = 24 * time.Hour

func TestServiceRequest_OneStageHappyPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bob := h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob", Comment: "fine"})
	carol := h.updateAt(2*time.Hour, workflows.Approve, workflows.ApproveInput{User: "carol"})

	res := h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day))))

	require.True(t, bob.done)
	require.NoError(t, bob.err)
	assert.Equal(t, 1, bob.state.Stages[0].Approvals, "the update answers with the new state")
	require.NoError(t, carol.err)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	require.NotNil(t, res.Job)
	assert.Equal(t, int64(501), res.Job.ID)
	assert.Equal(t, "successful", res.Job.Status)

	w := h.world
	require.Len(t, w.launchCalls, 1)
	assert.Equal(t, map[string]any{"env_name": "demo", "ttl_days": json.Number("7")}, w.launchCalls[0].ExtraVars, "numbers as written")
	assert.Equal(t, int64(11), w.launchCalls[0].TemplateID)
	require.Len(t, w.pollCalls, 2)
	assert.True(t, w.pollCalls[0].UntilRunning)
	assert.False(t, w.pollCalls[1].UntilRunning)

	last := w.lastPublished(t)
	assert.Equal(t, approval.StatusSuccessful, last.Request.Status)
	assert.NotNil(t, last.Request.Finished)
	for i := 1; i < len(w.publishes); i++ {
		assert.Greater(t, w.publishes[i].Seq, w.publishes[i-1].Seq, "publication sequence numbers grow")
	}
	assert.Equal(t, []activities.Event{
		{Kind: notify.KindPending, Recipients: []string{"bob", "carol", "frank"}, Stage: 0},
		{Kind: notify.KindDecided, Recipients: []string{"alice"}, Stage: 0},
		{Kind: notify.KindFinished, Recipients: []string{"alice"}, Stage: -1},
	}, w.events())
}

func TestServiceRequest_TwoStageHappyPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	h.updateAt(2*time.Hour, workflows.Approve, workflows.ApproveInput{User: "carol"})
	between := h.stateAt(3 * time.Hour)
	bobAgain := h.updateAt(4*time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	h.updateAt(5*time.Hour, workflows.Approve, workflows.ApproveInput{User: "dave"})
	h.updateAt(6*time.Hour, workflows.Approve, workflows.ApproveInput{User: "eve"})

	res := h.run(input(plan(
		stage("SRE", 1, sreTeam, 2, 72*time.Hour, day),
		stage("Security", 2, securityTeam, 2, 48*time.Hour, 0),
	)))

	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Equal(t, 1, between.CurrentStage)
	assert.Equal(t, []string{"dave", "eve"}, between.EligibleApprovers, "bob decided stage 1 already")
	assert.Equal(t, h.start.Add(2*time.Hour+48*time.Hour), *between.Stages[1].Deadline)
	assert.Nil(t, between.Stages[1].NextReminder, "stage 2 has no reminders")

	var ref approval.Refusal
	require.Error(t, bobAgain.rejected)
	assert.Contains(t, bobAgain.rejected.Error(), "at most once per request")
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, bobAgain.rejected, &appErr)
	assert.Equal(t, string(approval.CodeAlreadyDecided), appErr.Type())
	require.NoError(t, appErr.Details(&ref))
	assert.Equal(t, approval.CodeAlreadyDecided, ref.Code)

	w := h.world
	require.Len(t, w.rosterCalls, 2)
	assert.Equal(t, sreTeam.ID, *w.rosterCalls[0].TeamID)
	assert.Equal(t, securityTeam.ID, *w.rosterCalls[1].TeamID)
	assert.Len(t, w.launchCalls, 1)
	pending := w.eventsOf(notify.KindPending)
	require.Len(t, pending, 2)
	assert.Equal(t, []string{"dave", "eve"}, pending[1].Recipients)
	assert.Equal(t, 1, pending[1].Stage)
}

func TestServiceRequest_Rejection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	noReason := h.updateAt(90*time.Minute, workflows.Reject, workflows.RejectInput{User: "carol"})
	carol := h.updateAt(2*time.Hour, workflows.Reject, workflows.RejectInput{User: "carol", Reason: "too expensive"})

	res := h.run(input(plan(
		stage("SRE", 1, sreTeam, 2, 72*time.Hour, day),
		stage("Security", 2, securityTeam, 1, 72*time.Hour, day),
	)))

	require.Error(t, noReason.rejected, "a rejection needs a reason")
	require.NoError(t, carol.err)
	assert.Equal(t, approval.StatusRejected, res.Status)
	require.NotNil(t, carol.state.Denial)
	assert.Equal(t, "SRE does not approve this", carol.state.Denial.Message)
	assert.Equal(t, "too expensive", carol.state.Denial.Reason)
	assert.Equal(t, approval.StageSkipped, carol.state.Stages[1].Status)

	w := h.world
	assert.Empty(t, w.launchCalls)
	assert.Len(t, w.rosterCalls, 1, "stage 2 never opens")
	last := w.lastPublished(t)
	assert.Equal(t, approval.StatusRejected, last.Request.Status)
	assert.Equal(t, "carol", last.Request.Denial.User)
	decided := w.eventsOf(notify.KindDecided)
	require.Len(t, decided, 1)
	assert.Equal(t, []string{"alice"}, decided[0].Recipients)
}

func TestServiceRequest_ExpiryWithReminders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.updateAt(30*time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})

	res := h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day))))

	assert.Equal(t, approval.StatusExpired, res.Status)
	assert.Equal(t, h.start.Add(72*time.Hour), h.env.Now().UTC(), "expires exactly at the deadline")
	w := h.world
	assert.Equal(t, []activities.Event{
		{Kind: notify.KindReminder, Recipients: []string{"bob", "carol", "frank"}, Stage: 0, Seq: 1},
		{Kind: notify.KindReminder, Recipients: []string{"carol", "frank"}, Stage: 0, Seq: 2},
	}, w.eventsOf(notify.KindReminder), "reminders go to the approvers who have not decided")
	expired := w.eventsOf(notify.KindExpired)
	require.Len(t, expired, 1)
	assert.Equal(t, []string{"alice"}, expired[0].Recipients)
	last := w.lastPublished(t)
	assert.Equal(t, approval.StatusExpired, last.Request.Status)
	assert.Equal(t, approval.StageExpired, last.Request.Stages[0].Status)
	assert.Equal(t, 2, last.Request.Stages[0].RemindersSent)
	assert.Empty(t, w.launchCalls)
}

func TestServiceRequest_CancelWhilePending(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bob := h.updateAt(time.Hour, workflows.Cancel, workflows.CancelInput{User: "bob", Reason: "not mine"})
	alice := h.updateAt(2*time.Hour, workflows.Cancel, workflows.CancelInput{User: "alice", Reason: "no longer needed"})

	res := h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day))))

	require.Error(t, bob.rejected, "only the requester or an org admin may cancel")
	require.NoError(t, alice.err)
	assert.Equal(t, approval.StatusCanceled, res.Status)
	assert.Equal(t, h.start.Add(2*time.Hour), h.env.Now().UTC(), "the stage timer does not hold the workflow open")
	w := h.world
	assert.Empty(t, w.launchCalls)
	finished := w.eventsOf(notify.KindFinished)
	require.Len(t, finished, 1)
	assert.Equal(t, []string{"alice", "bob", "carol", "frank"}, finished[0].Recipients)
	assert.Equal(t, "no longer needed", w.lastPublished(t).Request.Cancellation.Reason)
}

func TestServiceRequest_CancelWhileRunning(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.blockUntilCanceled = true
	cancel := h.updateAt(time.Second, workflows.Cancel, workflows.CancelInput{User: "alice", Reason: "wrong environment"})

	res := h.run(input(plan()))

	require.NoError(t, cancel.err)
	assert.Equal(t, approval.StatusRunning, cancel.state.Status, "a running request ends with its job")
	assert.Equal(t, approval.StatusCanceled, res.Status)
	assert.Equal(t, 1, h.world.cancelCalls, "the AWX job is canceled")
	assert.Equal(t, "canceled", res.Job.Status)
}

func TestServiceRequest_WorkflowCanceled(t *testing.T) {
	t.Parallel()
	t.Run("while pending", func(t *testing.T) {
		h := newHarness(t)
		h.env.RegisterDelayedCallback(h.env.CancelWorkflow, time.Hour)
		res := h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day))))
		assert.Equal(t, approval.StatusCanceled, res.Status)
		last := h.world.lastPublished(t)
		assert.Equal(t, approval.StatusCanceled, last.Request.Status, "the last state is published after cancellation")
		assert.Equal(t, "temporal", last.Request.Cancellation.User)
	})
	t.Run("while running", func(t *testing.T) {
		h := newHarness(t)
		h.world.blockUntilCanceled = true
		h.env.RegisterDelayedCallback(h.env.CancelWorkflow, time.Second)
		res := h.run(input(plan()))
		assert.Equal(t, approval.StatusCanceled, res.Status)
		assert.Equal(t, 1, h.world.cancelCalls, "canceling the workflow cancels the AWX job")
	})
}

func TestServiceRequest_LaunchRefusedIsNotRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.launchErrs = []error{temporal.NewNonRetryableApplicationError(
		"variables_needed_to_start: 'ttl_days' value 90 is too large (must be no more than 30).", activities.ErrTypeAWXRefused, nil)}

	res := h.run(input(plan()))

	assert.Equal(t, approval.StatusFailed, res.Status)
	assert.Equal(t, "AWX refused the launch: variables_needed_to_start: 'ttl_days' value 90 is too large (must be no more than 30).", res.FailureReason)
	assert.Len(t, h.world.launchCalls, 1, "a refused launch is not retried")
	assert.Empty(t, h.world.pollCalls)
	finished := h.world.eventsOf(notify.KindFinished)
	require.Len(t, finished, 1)
}

func TestServiceRequest_LaunchRetriedAfterServerErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.launchErrs = []error{errors.New("AWX answered 503"), errors.New("AWX answered 502")}

	res := h.run(input(plan()))

	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Len(t, h.world.launchCalls, 3)
}

func TestServiceRequest_LaunchRetryBudgetExhausted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := 0; i < 100; i++ {
		h.world.launchErrs = append(h.world.launchErrs, errors.New("dial tcp 10.0.0.1:443: connect: connection refused"))
	}
	in := input(plan())
	in.Settings.LaunchRetryBudget = approval.Duration(time.Minute)

	res := h.run(in)

	assert.Equal(t, approval.StatusFailed, res.Status)
	assert.Contains(t, res.FailureReason, "AWX could not be reached within the launch retry budget of 1m0s")
	assert.Contains(t, res.FailureReason, "connection refused")
	assert.Greater(t, len(h.world.launchCalls), 2)
}

func TestServiceRequest_PollOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		final, explanation string
		want               approval.Status
		wantReason         string
	}{
		{"successful", "", approval.StatusSuccessful, ""},
		{"failed", "No error handling paths found, marking workflow as failed", approval.StatusFailed,
			"AWX job failed: No error handling paths found, marking workflow as failed"},
		{"error", "Task was marked as running but was not present in the job queue", approval.StatusFailed,
			"AWX job error: Task was marked as running but was not present in the job queue"},
		{"canceled", "", approval.StatusCanceled, ""},
	}
	for _, tt := range tests {
		t.Run(tt.final, func(t *testing.T) {
			h := newHarness(t)
			h.world.final, h.world.explanation = tt.final, tt.explanation
			res := h.run(input(plan()))
			assert.Equal(t, tt.want, res.Status)
			assert.Equal(t, tt.wantReason, res.FailureReason)
			assert.Equal(t, tt.final, res.Job.Status)
			last := h.world.lastPublished(t)
			assert.Equal(t, tt.want, last.Request.Status)
			assert.Equal(t, tt.final, last.Request.Job.Status)
		})
	}
}

func TestServiceRequest_NoStagesLaunchesAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	res := h.run(input(plan()))
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	require.Len(t, h.world.rosterCalls, 1, "the org admins are resolved, for cancel and comments")
	assert.Nil(t, h.world.rosterCalls[0].TeamID)
	assert.Len(t, h.world.launchCalls, 1)
}

// A reminder changes nothing the projection shows, so its publication only
// delivers the notification and carries only what it needs: the history
// then grows by a small, fixed amount per reminder however large the
// request's state is (comments, refused signals, stage texts).
func TestServiceRequest_ReminderPublicationsAreSmall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range approval.MaxComments {
		h.updateAt(time.Duration(i+1)*time.Second, workflows.Comment, workflows.CommentInput{User: "alice", Text: strings.Repeat("c", approval.MaxTextLength)})
	}
	st := stage("SRE", 1, sreTeam, 1, 31*time.Hour, time.Hour)
	st.DenialMessage = strings.Repeat("d", 2000)

	res := h.run(input(plan(st)))

	assert.Equal(t, approval.StatusExpired, res.Status)
	w := h.world
	require.Len(t, w.eventsOf(notify.KindReminder), approval.MaxRemindersPerStage, "31h, reminded hourly")
	reminders := 0
	for _, p := range w.publishes {
		b, err := json.Marshal(p)
		require.NoError(t, err)
		if len(p.Events) > 0 && p.Events[0].Kind == notify.KindReminder {
			reminders++
			assert.True(t, p.NotifyOnly, "publication %d only notifies", p.Seq)
			assert.Less(t, len(b), 4<<10, "publication %d", p.Seq)
			assert.Zero(t, len(p.Request.Comments), "publication %d carries no comments", p.Seq)
			assert.Equal(t, "SRE", p.Request.Stages[0].Name, "what the notification names")
			assert.Equal(t, h.start.Add(31*time.Hour), *p.Request.Stages[0].Deadline)
			continue
		}
		assert.False(t, p.NotifyOnly, "publication %d records the state", p.Seq)
		assert.Equal(t, st.DenialMessage, p.Request.Stages[0].DenialMessage, "publication %d carries the whole state", p.Seq)
	}
	assert.Equal(t, approval.MaxRemindersPerStage, reminders)
	last := w.lastPublished(t)
	assert.Equal(t, approval.StatusExpired, last.Request.Status)
	assert.Equal(t, approval.MaxRemindersPerStage, last.Request.Stages[0].RemindersSent, "the final state counts them")
}
