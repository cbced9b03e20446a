package worker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// cluster is one test's stack with a Temporal client and a task queue.
type cluster struct {
	*testkit.Stack
	client    client.Client
	taskQueue string
}

func newCluster(t *testing.T, sim awxsim.Config) *cluster {
	return &cluster{Stack: testkit.NewStack(t, sim), client: testkit.Dial(t, temporalAddr), taskQueue: testkit.TaskQueue(t)}
}

func (c *cluster) startWorker(t *testing.T) func() {
	return testkit.StartWorker(t, c.client, c.taskQueue, c.Activities)
}

func (c *cluster) update(t *testing.T, id int64, name string, arg any) approval.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := testkit.Update(ctx, c.client, id, name, arg)
	require.NoError(t, err)
	return st
}

func countEvents(h *historypb.History, typ enumspb.EventType) int {
	n := 0
	for _, ev := range h.Events {
		if ev.GetEventType() == typ {
			n++
		}
	}
	return n
}

// eventsPerReminder is what one reminder adds to a request's history: the
// timer firing, a workflow task (3), the next timer, the publication (3)
// and its workflow task (3). The README's worst case is built on it.
const eventsPerReminder = 11

// eventsPerReminderLocal is the same at revision 2 (workflows.
// RevisionLocalPublish): the publication is a marker in the workflow task
// that the timer's firing starts.
const eventsPerReminderLocal = 6

// assertReminderCost checks, on a history whose stage reminded before it
// expired, that each reminder added eventsPerReminder events and a
// publication well under the one that opened the stage (which carries the
// whole request: here a 2,000-byte denial message).
func assertReminderCost(t *testing.T, h *historypb.History) {
	t.Helper()
	var fired []int
	opened := 0
	for i, ev := range h.Events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
			fired = append(fired, i)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "Publish" && len(fired) == 0 {
			opened = proto.Size(a.GetInput())
		}
	}
	require.GreaterOrEqual(t, len(fired), 2, "a reminder, then the deadline")
	require.Greater(t, opened, 3000)
	for i := 0; i+1 < len(fired); i++ {
		assert.Equal(t, eventsPerReminder, fired[i+1]-fired[i], "events of reminder %d", i+1)
		for _, ev := range h.Events[fired[i]:fired[i+1]] {
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				assert.Equal(t, "Publish", a.GetActivityType().GetName())
				assert.Less(t, proto.Size(a.GetInput()), opened/2, "reminder %d's publication", i+1)
			}
		}
	}
}

func TestWorker_TwoStageRequestEndToEnd(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 4 * time.Second, PendingFor: 200 * time.Millisecond})
	c.AddUser(t, "eve", "security")
	var heartbeats testkit.HeartbeatCounter
	testkit.StartWorker(t, testkit.Dial(t, temporalAddr, heartbeats.Interceptor()), c.taskQueue, c.Activities)
	r := testkit.ProvisionEnvironment(
		c.Stage("SRE review", "sre", 2, 72*time.Hour, 24*time.Hour),
		c.Stage("Security review", "security", 2, 48*time.Hour, 24*time.Hour),
	)
	// A job longer than the heartbeat timeout: the poll must heartbeat to
	// stay alive, sparingly.
	r.Settings.PollHeartbeatTimeout = approval.Duration(2 * time.Second)
	in := c.Create(t, r)
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	_, err := c.client.ExecuteWorkflow(context.Background(), workflows.StartOptions(in, c.taskQueue), workflows.WorkflowType, in)
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	require.ErrorAs(t, err, &dup, "a request's workflow starts once")

	testkit.Eventually(t, 20*time.Second, "stage 1 to open", func() bool {
		return len(testkit.State(t, c.client, in.RequestID).EligibleApprovers) == 2
	})
	// Approvers find the request through its search attributes.
	query := fmt.Sprintf(`WorkflowId = %q AND RequestStatus = "pending_approval" AND PendingApprovers = "bob"`, workflows.WorkflowID(in.RequestID))
	testkit.Eventually(t, 20*time.Second, "the request to be listed for bob", func() bool {
		resp, err := c.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.Executions) == 1
	})

	st := c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob", Comment: "capacity ok"})
	assert.Equal(t, []string{"carol"}, st.EligibleApprovers)
	// carol approves from the CLI: a signal, with the proof of her decision
	// key.
	carolKey := c.decisionKey(t, "carol")
	d := workflows.Decision{RequestID: in.RequestID, Action: approval.ActionApprove, User: "carol"}
	p, err := proof.SignUser(carolKey, d.Claims(), time.Now())
	require.NoError(t, err)
	require.NoError(t, c.client.SignalWorkflow(context.Background(), workflows.WorkflowID(in.RequestID), "", workflows.Approve, d.Payload(&p)))
	testkit.Eventually(t, 20*time.Second, "stage 2 to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 1
	})
	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "dave"})
	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "eve"})

	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Equal(t, 1, c.Sim.LaunchCount(awxsim.KindWorkflowJob, awxsim.DemoProvisionEnvironmentID))
	_, err = c.client.ExecuteWorkflow(context.Background(), workflows.StartOptions(in, c.taskQueue), workflows.WorkflowType, in)
	require.ErrorAs(t, err, &dup, "not even once it has finished")

	// The projection ends as the workflow did.
	testkit.Eventually(t, 10*time.Second, "the projection to show the end", func() bool {
		row, err := c.Store.GetRequest(context.Background(), in.RequestID)
		return err == nil && row.Status == "successful"
	})
	row, err := c.Store.GetRequest(context.Background(), in.RequestID)
	require.NoError(t, err)
	require.NotNil(t, row.Job)
	assert.Equal(t, res.Job.ID, row.Job.ID)
	assert.Len(t, row.Responses, 4)
	assert.Equal(t, []string{"approved", "approved"}, []string{row.Stages[0].Status, row.Stages[1].Status})
	final := testkit.State(t, c.client, in.RequestID)
	assert.Equal(t, []approval.Via{{Channel: "api"}, {Channel: "cli"}, {Channel: "api"}, {Channel: "api"}},
		[]approval.Via{final.Stages[0].Responses[0].Via, final.Stages[0].Responses[1].Via, final.Stages[1].Responses[0].Via, final.Stages[1].Responses[1].Via},
		"each decision records how it came; carol's CLI decision was proven")

	h := testkit.History(t, c.client, in.RequestID)
	actions := testkit.CountActions(h)
	actions.Heartbeats = heartbeats.Count()
	t.Logf("two-stage request, two approvers per stage, 4s job: %s", actions)
	assert.Equal(t, 2, actions.ByActivity["Poll"], "no poll attempt timed out: heartbeats kept it alive")
	assert.Positive(t, actions.Heartbeats)
	assert.LessOrEqual(t, actions.Heartbeats, 4, "heartbeats are throttled, not one per poll")
	// The CLI decision costs a VerifyDecision activity, and the first one of
	// a request the search-attribute upsert of its version marker; the API's
	// decisions cost neither.
	assert.Equal(t, 1, actions.ByActivity["VerifyDecision"])
	assert.LessOrEqual(t, actions.Total(), 32, "billable actions")
	testkit.RecordHistory(t, h, "two_stage_encrypted_cli_proof")
}

func TestWorker_RefusedUpdateWritesNothing(t *testing.T) {
	c := newCluster(t, awxsim.Config{})
	c.startWorker(t)
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	// The stage opens before its publication completes: wait until the
	// workflow is idle, so that only the updates could add events.
	testkit.Eventually(t, 20*time.Second, "the workflow to be idle", func() bool {
		d, err := c.client.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(in.RequestID), "")
		return err == nil && len(d.GetPendingActivities()) == 0 && d.GetPendingWorkflowTask() == nil
	})
	before := len(testkit.History(t, c.client, in.RequestID).Events)

	for _, tc := range []struct {
		user string
		code approval.Code
	}{{"alice", approval.CodeSelfDecision}, {"dave", approval.CodeNotEligible}, {"", approval.CodeUserRequired}} {
		_, err := testkit.Update(context.Background(), c.client, in.RequestID, workflows.Approve, workflows.ApproveInput{User: tc.user})
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "want an application error, got %v", err)
		assert.Equal(t, string(tc.code), app.Type())
	}

	after := testkit.History(t, c.client, in.RequestID)
	assert.Len(t, after.Events, before, "refused updates leave no event in history")
	assert.Zero(t, countEvents(after, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED))

	// A comment, and bob joining the team mid-flight (the API signals the
	// change), before bob rejects.
	c.update(t, in.RequestID, workflows.Comment, workflows.CommentInput{User: "alice", Text: "urgent, please"})
	c.AddUser(t, "frank", "sre")
	require.NoError(t, c.client.SignalWorkflow(context.Background(), workflows.WorkflowID(in.RequestID), "", workflows.RefreshApprovers,
		workflows.RefreshApproversInput{Reason: "team sre changed"}))
	testkit.Eventually(t, 20*time.Second, "frank to become an approver", func() bool {
		return slices.Contains(testkit.State(t, c.client, in.RequestID).EligibleApprovers, "frank")
	})
	c.update(t, in.RequestID, workflows.Reject, workflows.RejectInput{User: "frank", Reason: "not this week"})
	res := testkit.Result(t, run, 30*time.Second)
	assert.Equal(t, approval.StatusRejected, res.Status)
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "rejected_after_refused_updates")
}

func TestWorker_SignalsWhileWorkersAreDown(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 2, time.Hour, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	ctx := context.Background()
	id := workflows.WorkflowID(in.RequestID)

	// No worker yet: the approvals wait in history, one refused signal too.
	require.NoError(t, c.client.SignalWorkflow(ctx, id, "", workflows.Approve, workflows.ApproveInput{User: "bob"}))
	require.NoError(t, c.client.SignalWorkflow(ctx, id, "", workflows.Approve, workflows.ApproveInput{User: "alice"}))
	require.NoError(t, c.client.SignalWorkflow(ctx, id, "", workflows.Approve, workflows.ApproveInput{User: "carol", Comment: "ok"}))
	c.startWorker(t)

	res := testkit.Result(t, run, 30*time.Second)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	st := testkit.State(t, c.client, in.RequestID)
	require.Len(t, st.Refused, 1)
	refused := st.Refused[0]
	assert.Equal(t, "alice", refused.User)
	assert.Equal(t, approval.ActionApprove, refused.Action)
	assert.Equal(t, approval.CodeSelfDecision, refused.Code)
	assert.Contains(t, refused.Message, "cannot decide on their own request")
	assert.False(t, refused.At.IsZero())
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "signals_while_workers_down")
}

func TestWorker_ExpiryAndCancel(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: time.Hour, CancelDelay: 100 * time.Millisecond})
	c.startWorker(t)

	t.Run("expires at the deadline after reminding", func(t *testing.T) {
		st := c.Stage("SRE", "sre", 1, 3*time.Second, time.Second)
		st.DenialMessage = strings.Repeat("d", 2000)
		in := c.Create(t, testkit.RestartService(st))
		run := testkit.StartRequest(t, c.client, c.taskQueue, in)
		res := testkit.Result(t, run, 30*time.Second)
		assert.Equal(t, approval.StatusExpired, res.Status)
		reminders := 0
		for _, n := range c.Notifier.Sent() {
			if n.RequestID == in.RequestID && n.Kind == "reminder" {
				reminders++
				assert.Equal(t, "bob", n.Recipients[0].Username)
			}
		}
		assert.Equal(t, 2, reminders, "reminders at 1s and 2s, expiry at 3s")
		h := testkit.History(t, c.client, in.RequestID)
		assertReminderCost(t, h)
		testkit.RecordHistory(t, h, "expired_with_reminders")
	})

	t.Run("at revision 2 a reminder costs fewer events", func(t *testing.T) {
		in := c.AsSubmitted(t, c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, 3*time.Second, time.Second))))
		require.Equal(t, workflows.RevisionLocalPublish, in.Revision)
		res := testkit.Result(t, testkit.StartRequest(t, c.client, c.taskQueue, in), 30*time.Second)
		assert.Equal(t, approval.StatusExpired, res.Status)
		h := testkit.History(t, c.client, in.RequestID)
		var fired []int
		for i, ev := range h.Events {
			if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
				fired = append(fired, i)
			}
			assert.Nil(t, ev.GetActivityTaskScheduledEventAttributes(), "publications are local")
		}
		require.GreaterOrEqual(t, len(fired), 2, "a reminder, then the deadline")
		for i := 0; i+1 < len(fired); i++ {
			assert.Equal(t, eventsPerReminderLocal, fired[i+1]-fired[i], "events of reminder %d", i+1)
		}
	})

	t.Run("cancel while running cancels the AWX job", func(t *testing.T) {
		in := c.Create(t, testkit.RestartService())
		run := testkit.StartRequest(t, c.client, c.taskQueue, in)
		testkit.Eventually(t, 20*time.Second, "the job to run", func() bool {
			return testkit.State(t, c.client, in.RequestID).Status == approval.StatusRunning
		})
		st := c.update(t, in.RequestID, workflows.Cancel, workflows.CancelInput{User: "alice", Reason: "wrong service"})
		assert.Equal(t, "alice", st.Cancellation.User)
		res := testkit.Result(t, run, 30*time.Second)
		assert.Equal(t, approval.StatusCanceled, res.Status)
		assert.Equal(t, "canceled", res.Job.Status)
		assert.Equal(t, 1, c.Sim.RequestCount("POST", fmt.Sprintf("/api/v2/jobs/%d/cancel/", res.Job.ID)))
		testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "canceled_while_running")
	})
}

// (a) A worker process killed while it follows the job: another takes over
// and the request finishes with exactly one AWX job.
func TestWorker_KilledWhilePolling(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 6 * time.Second, PendingFor: 500 * time.Millisecond})
	env := map[string]string{
		"DATABASE_URL": c.DatabaseURL, "TEMPORAL_ADDRESS": temporalAddr, "TASK_QUEUE": c.taskQueue,
		"AWX_URL": c.SimURL, "AWX_TOKEN": testkit.AWXToken, "AWX_POLL_INTERVAL": "200ms",
		"PAYLOAD_KEYS": testkit.PayloadKeys(),
	}
	first := testkit.WorkerProcess(env)
	require.NoError(t, first.Start())
	r := testkit.RestartService()
	r.Settings.PollHeartbeatTimeout = approval.Duration(2 * time.Second)
	in := c.Create(t, r)
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)

	testkit.Eventually(t, 30*time.Second, "the job to run", func() bool {
		jobs := c.Sim.Jobs()
		return len(jobs) == 1 && jobs[0].Status == awxsim.StatusRunning
	})
	time.Sleep(500 * time.Millisecond) // let the poll heartbeat at least once
	require.NoError(t, first.Process.Kill())
	_ = first.Wait()

	second := testkit.WorkerProcess(env)
	require.NoError(t, second.Start())
	t.Cleanup(func() { _ = second.Process.Kill(); _ = second.Wait() })

	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Equal(t, 1, c.Sim.LaunchCount(awxsim.KindJob, awxsim.DemoRestartServiceID), "exactly one AWX job")
	h := testkit.History(t, c.client, in.RequestID)
	actions := testkit.CountActions(h)
	assert.Equal(t, 1, actions.ByActivity["Launch"], "the launch ran once")
	assert.GreaterOrEqual(t, actions.ByActivity["Poll"], 3, "polling resumed in a new attempt on the other worker")
	testkit.RecordHistory(t, h, "worker_killed_while_polling")
}

// decisionKey issues user a decision key and returns its private half.
func (c *cluster) decisionKey(t *testing.T, user string) string {
	t.Helper()
	ctx := context.Background()
	u, err := c.Store.GetUserByUsername(ctx, user)
	require.NoError(t, err)
	k := proof.NewUserKey()
	_, err = c.Store.CreateDecisionKey(ctx, store.DecisionKey{UserID: u.ID, KeyID: k.ID, PublicKey: k.Public, Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	return k.Private
}

// (b) AWX creates the job but the answer is lost: exactly one AWX job.
func TestWorker_LaunchAnswerLost(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 500 * time.Millisecond})
	c.startWorker(t)
	path := fmt.Sprintf("/api/v2/workflow_job_templates/%d/launch/", awxsim.DemoProvisionEnvironmentID)
	c.Sim.InjectFault(awxsim.Fault{Method: "POST", Path: path, Kind: awxsim.FaultDropResponse, Times: 1})
	in := c.Create(t, testkit.ProvisionEnvironment())

	res := testkit.Result(t, testkit.StartRequest(t, c.client, c.taskQueue, in), time.Minute)

	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Equal(t, 1, c.Sim.LaunchCount(awxsim.KindWorkflowJob, awxsim.DemoProvisionEnvironmentID), "exactly one AWX job")
	assert.Equal(t, 1, c.Sim.RequestCount("POST", path), "the launch was not sent again")
	h := testkit.History(t, c.client, in.RequestID)
	assert.Equal(t, 2, testkit.CountActions(h).ByActivity["Launch"], "the second attempt recovered the job")
	testkit.RecordHistory(t, h, "launch_answer_lost")
}

// (c) AWX down for longer than the retry budget: failed, with the reason.
func TestWorker_AWXDownBeyondRetryBudget(t *testing.T) {
	c := newCluster(t, awxsim.Config{})
	c.startWorker(t)
	c.Sim.InjectFault(awxsim.Fault{Kind: awxsim.FaultStatus, Status: 503})
	r := testkit.RestartService()
	r.Settings.LaunchRetryBudget = approval.Duration(4 * time.Second)
	in := c.Create(t, r)

	res := testkit.Result(t, testkit.StartRequest(t, c.client, c.taskQueue, in), time.Minute)

	assert.Equal(t, approval.StatusFailed, res.Status)
	assert.True(t, strings.HasPrefix(res.FailureReason, "AWX could not be reached within the launch retry budget of 4s; last error: "), res.FailureReason)
	assert.Contains(t, res.FailureReason, "503")
	assert.Empty(t, c.Sim.Jobs())
	finished := false
	for _, n := range c.Notifier.Sent() {
		finished = finished || (n.RequestID == in.RequestID && n.Kind == "finished" && n.Message == res.FailureReason)
	}
	assert.True(t, finished, "the requester is told why")
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "awx_down_beyond_budget")
}

func TestWorker_WorkflowCanceledWhilePending(t *testing.T) {
	c := newCluster(t, awxsim.Config{})
	c.startWorker(t)
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})

	require.NoError(t, c.client.CancelWorkflow(context.Background(), workflows.WorkflowID(in.RequestID), ""))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run.Get(ctx, nil)
	var canceled *temporal.CanceledError
	require.ErrorAs(t, err, &canceled, "the workflow ends canceled")
	testkit.Eventually(t, 10*time.Second, "the projection to show it", func() bool {
		row, err := c.Store.GetRequest(context.Background(), in.RequestID)
		return err == nil && row.Status == "canceled"
	})
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "workflow_canceled_while_pending")
}

func TestWorker_CanceledWhileTheLaunchRetries(t *testing.T) {
	c := newCluster(t, awxsim.Config{})
	c.startWorker(t)
	path := fmt.Sprintf("/api/v2/job_templates/%d/launch/", awxsim.DemoRestartServiceID)
	c.Sim.InjectFault(awxsim.Fault{Method: "POST", Path: path, Kind: awxsim.FaultStatus, Status: 502})
	in := c.Create(t, testkit.RestartService())
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the launch to be retried", func() bool {
		return c.Sim.RequestCount("POST", path) >= 2
	})

	c.update(t, in.RequestID, workflows.Cancel, workflows.CancelInput{User: "alice", Reason: "AWX is down anyway"})
	res := testkit.Result(t, run, time.Minute)

	assert.Equal(t, approval.StatusCanceled, res.Status)
	assert.Nil(t, res.Job)
	assert.Empty(t, c.Sim.Jobs(), "no job runs after the requester said stop")
	posts := c.Sim.RequestCount("POST", path)
	time.Sleep(2 * time.Second)
	assert.Equal(t, posts, c.Sim.RequestCount("POST", path), "the launch stopped retrying")
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "canceled_while_launching")
}

// Signals of 500 KB each (under Temporal's 2 MB payload limit, so the
// server takes them) must not jam the request: what it keeps of them is
// bounded, so its next publication and update result stay small.
func TestWorker_HugeRefusedSignalsDoNotJamTheRequest(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	huge := strings.Repeat("m", 500_000)
	for i := range 5 {
		require.NoError(t, c.client.SignalWorkflow(context.Background(), workflows.WorkflowID(in.RequestID), "", workflows.Approve,
			workflows.ApproveInput{User: fmt.Sprint(huge, i)}))
	}
	testkit.Eventually(t, 20*time.Second, "the signals to be refused", func() bool {
		return len(testkit.State(t, c.client, in.RequestID).Refused) == 5
	})

	st := c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob"})
	assert.Equal(t, approval.StatusApproved, st.Status)
	res := testkit.Result(t, run, 30*time.Second)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	testkit.Eventually(t, 10*time.Second, "the projection to show the end", func() bool {
		row, err := c.Store.GetRequest(context.Background(), in.RequestID)
		return err == nil && row.Status == "successful"
	})
}
