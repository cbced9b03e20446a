package activities_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/store"
)

var t0 = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)

// pendingRequest is the request created for in, with its first stage open
// and bob's approval in.
func pendingRequest(t *testing.T, s *testkit.Stack, id int64, plan approval.Plan) *approval.Request {
	r := approval.NewRequest(id, approval.Ref{ID: s.Identity.Org.ID, Name: "acme"}, approval.Ref{ID: 1, Name: "Restart service"},
		"alice", "needed for a test", plan, t0)
	r.OpenStage(0, approval.Roster{TeamMembers: []string{"bob", "carol"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}, t0)
	_, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: "bob", Text: "looks right", Via: approval.Via{Channel: "api"}}, t0.Add(time.Minute))
	require.NoError(t, err)
	_, err = r.Apply(approval.Act{Action: approval.ActionComment, User: "alice", Text: "thanks!"}, t0.Add(2*time.Minute))
	require.NoError(t, err)
	return r
}

func TestActivities_Publish_RecordsTheProjection(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	env := activityEnv(s.Activities)
	ctx := context.Background()
	in := s.Create(t, testkit.RestartService(s.Stage("SRE", "sre", 2, 72*time.Hour, 24*time.Hour)))
	r := pendingRequest(t, s, in.RequestID, in.Plan)

	_, err := env.ExecuteActivity(s.Activities.Publish, activities.PublishInput{Seq: 2, Request: *r})
	require.NoError(t, err)

	got, err := s.Store.GetRequest(ctx, in.RequestID)
	require.NoError(t, err)
	assert.Equal(t, "pending_approval", got.Status)
	assert.Equal(t, int64(2), got.StateSeq)
	require.NotNil(t, got.CurrentStage)
	assert.Equal(t, 0, *got.CurrentStage)
	assert.Equal(t, []string{"carol"}, got.PendingApprovers)
	require.Len(t, got.Stages, 1)
	assert.Equal(t, "pending", got.Stages[0].Status)
	assert.True(t, got.Stages[0].Deadline.Equal(t0.Add(72*time.Hour)))
	require.Len(t, got.Responses, 2)
	assert.Equal(t, store.Response{StagePosition: intPtr(0), Username: "bob", Kind: "approve", Text: "looks right", Created: t0.Add(time.Minute), Channel: "api"},
		normalizeResponse(got.Responses[0]))
	assert.Equal(t, "comment", got.Responses[1].Kind)
	assert.Equal(t, "thanks!", got.Responses[1].Text)
	assert.Empty(t, got.Responses[1].Channel, "a response recorded without a channel keeps none")

	t.Run("a late, older state changes nothing", func(t *testing.T) {
		older := approval.NewRequest(in.RequestID, r.Organization, r.CatalogItem, "alice", "", in.Plan, t0)
		_, err := env.ExecuteActivity(s.Activities.Publish, activities.PublishInput{Seq: 1, Request: *older})
		require.NoError(t, err)
		again, err := s.Store.GetRequest(ctx, in.RequestID)
		require.NoError(t, err)
		assert.Equal(t, int64(2), again.StateSeq)
		assert.Len(t, again.Responses, 2)
	})

	t.Run("a finished job is mirrored", func(t *testing.T) {
		_, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: "carol"}, t0.Add(time.Hour))
		require.NoError(t, err)
		r.MarkLaunched(approval.Job{Type: "job", ID: 77, Status: "pending", URL: "http://awx/#/jobs/playbook/77"}, t0.Add(time.Hour))
		r.UpdateJob("failed", "boom", t0.Add(2*time.Hour))
		_, err = env.ExecuteActivity(s.Activities.Publish, activities.PublishInput{Seq: 5, Request: *r})
		require.NoError(t, err)
		done, err := s.Store.GetRequest(ctx, in.RequestID)
		require.NoError(t, err)
		assert.Equal(t, "failed", done.Status)
		assert.Equal(t, "AWX job failed: boom", done.FailureReason)
		require.NotNil(t, done.Job)
		assert.Equal(t, store.JobRef{Type: "job", ID: 77, Status: "failed", URL: "http://awx/#/jobs/playbook/77"}, *done.Job)
		assert.Nil(t, done.CurrentStage)
		assert.Empty(t, done.PendingApprovers)
		require.NotNil(t, done.Finished)
	})

	t.Run("a deleted request is skipped", func(t *testing.T) {
		gone := *r
		gone.ID = in.RequestID + 1000
		_, err := env.ExecuteActivity(s.Activities.Publish, activities.PublishInput{Seq: 9, Request: gone})
		assert.NoError(t, err)
	})
}

func intPtr(i int) *int { return &i }

func normalizeResponse(r store.Response) store.Response {
	r.Created = r.Created.UTC()
	return r
}

func TestActivities_Publish_Notifies(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	in := s.Create(t, testkit.RestartService(s.Stage("SRE", "sre", 2, 72*time.Hour, 24*time.Hour)))
	r := pendingRequest(t, s, in.RequestID, in.Plan)
	events := []activities.Event{
		{Kind: notify.KindPending, Recipients: []string{"bob", "carol"}, Stage: 0},
		{Kind: notify.KindReminder, Recipients: []string{"carol", "nobody"}, Stage: 0, Seq: 1},
	}

	t.Run("delivers every event with contacts", func(t *testing.T) {
		env := activityEnv(s.Activities)
		_, err := env.ExecuteActivity(s.Activities.Publish, activities.PublishInput{Seq: 2, Request: *r, Events: events})
		require.NoError(t, err)
		sent := s.Notifier.Sent()
		require.Len(t, sent, 2)
		pending := sent[0]
		assert.Equal(t, fmt.Sprintf("service-request-%d/pending/0/0", in.RequestID), pending.ID)
		assert.Equal(t, []notify.Recipient{{Username: "bob", Email: "bob@acme.example"}, {Username: "carol", Email: "carol@acme.example"}}, pending.Recipients)
		assert.Equal(t, "SRE", pending.Stage)
		assert.Equal(t, fmt.Sprintf("Request %d (Restart service) needs your approval", in.RequestID), pending.Subject)
		assert.Contains(t, pending.Message, "needs 2 approval(s), 1 so far")
		assert.Equal(t, []notify.Recipient{{Username: "carol", Email: "carol@acme.example"}, {Username: "nobody"}}, sent[1].Recipients,
			"unknown users are still addressed by name")
		assert.Contains(t, sent[1].Subject, "Reminder:")
	})

	t.Run("a failed delivery is retried without repeating the others", func(t *testing.T) {
		n := &testkit.Notifier{Fail: func(msg notify.Notification) error {
			if msg.Kind == notify.KindReminder {
				return errors.New("webhook answered 503")
			}
			return nil
		}}
		acts := withNotifier(s, n)
		env := activityEnv(acts)
		var delivered map[string]bool
		env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) { require.NoError(t, d.Get(&delivered)) })
		_, err := env.ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 3, Request: *r, Events: events})
		require.ErrorContains(t, err, "503")
		assert.Equal(t, map[string]bool{"webhook/0": true}, delivered, "what went out is remembered for the next attempt")

		n.Fail = nil
		retry := activityEnv(acts)
		retry.SetHeartbeatDetails(delivered)
		_, err = retry.ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 3, Request: *r, Events: events})
		require.NoError(t, err)
		kinds := []notify.Kind{}
		for _, m := range n.Sent() {
			kinds = append(kinds, m.Kind)
		}
		assert.Equal(t, []notify.Kind{notify.KindPending, notify.KindReminder}, kinds, "each event delivered once")
	})

	t.Run("each channel is retried on its own", func(t *testing.T) {
		hook := &testkit.Notifier{}
		mailFails := true
		mail := &testkit.Notifier{Fail: func(msg notify.Notification) error {
			if mailFails && msg.Kind == notify.KindReminder {
				return errors.New("SMTP server answered 451")
			}
			return nil
		}}
		acts := withNotifier(s, nil)
		acts.Channels = []notify.Channel{{Name: notify.ChannelWebhook, Notifier: hook}, {Name: "mail", Notifier: mail}}
		env := activityEnv(acts)
		var delivered map[string]bool
		env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) { require.NoError(t, d.Get(&delivered)) })
		_, err := env.ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 3, Request: *r, Events: events})
		require.ErrorContains(t, err, "mail: SMTP server answered 451")
		assert.Equal(t, map[string]bool{"webhook/0": true, "mail/0": true, "webhook/1": true}, delivered)

		mailFails = false
		retry := activityEnv(acts)
		retry.SetHeartbeatDetails(delivered)
		_, err = retry.ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 3, Request: *r, Events: events})
		require.NoError(t, err)
		assert.Len(t, hook.Sent(), 2, "the webhook is not sent again because mail failed")
		assert.Len(t, mail.Sent(), 2)
	})

	t.Run("an attempt recorded before channels is read as the webhook's", func(t *testing.T) {
		for name, old := range map[string]any{"positions": map[int]bool{0: true}} {
			t.Run(name, func(t *testing.T) {
				hook, mail := &testkit.Notifier{}, &testkit.Notifier{}
				acts := withNotifier(s, nil)
				acts.Channels = []notify.Channel{{Name: notify.ChannelWebhook, Notifier: hook}, {Name: "mail", Notifier: mail}}
				env := activityEnv(acts)
				env.SetHeartbeatDetails(old)
				_, err := env.ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 3, Request: *r, Events: events})
				require.NoError(t, err)
				require.Len(t, hook.Sent(), 1, "the event the webhook delivered then is not sent again")
				assert.Equal(t, notify.KindReminder, hook.Sent()[0].Kind)
				assert.Len(t, mail.Sent(), 2, "mail did not exist then")
			})
		}
	})

	t.Run("a refused delivery is not retried", func(t *testing.T) {
		n := &testkit.Notifier{Fail: func(notify.Notification) error { return fmt.Errorf("%w: 400 bad payload", notify.ErrPermanent) }}
		acts := withNotifier(s, n)
		_, err := activityEnv(acts).ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 4, Request: *r, Events: events})
		assert.NoError(t, err)
	})

	t.Run("notifications are given up after the last attempt", func(t *testing.T) {
		n := &testkit.Notifier{Fail: func(notify.Notification) error { return errors.New("webhook down") }}
		acts := withNotifier(s, n)
		acts.NotifyMaxAttempts = 1
		_, err := activityEnv(acts).ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 5, Request: *r, Events: events})
		assert.NoError(t, err, "the projection must not wait for a broken notifier")
		got, err := s.Store.GetRequest(context.Background(), in.RequestID)
		require.NoError(t, err)
		assert.Equal(t, int64(5), got.StateSeq)
	})
}

// The org admins hear which stage cannot be completed, why, and what they
// can do about it.
func TestActivities_Publish_Unreachable(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	r := testkit.RestartService(s.Stage("SRE", "sre", 2, 72*time.Hour, 24*time.Hour))
	r.Requester = "bob"
	in := s.Create(t, r)
	req := approval.NewRequest(in.RequestID, approval.Ref{ID: s.Identity.Org.ID, Name: "acme"}, approval.Ref{ID: 1, Name: "Restart service"},
		"bob", "needed for a test", in.Plan, t0)
	req.OpenStage(0, approval.Roster{TeamMembers: []string{"bob", "carol"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}, t0)
	require.NotNil(t, req.Stages[0].Unreachable)

	_, err := activityEnv(s.Activities).ExecuteActivity(s.Activities.Publish, activities.PublishInput{Seq: 2, Request: *req,
		Events: []activities.Event{{Kind: notify.KindUnreachable, Recipients: req.Admins(), Stage: 0}}})
	require.NoError(t, err)

	sent := s.Notifier.Sent()
	require.Len(t, sent, 1)
	n := sent[0]
	assert.Equal(t, fmt.Sprintf("service-request-%d/unreachable/0/0", in.RequestID), n.ID)
	assert.Equal(t, []notify.Recipient{{Username: "erin", Email: "erin@acme.example"}}, n.Recipients)
	assert.Equal(t, fmt.Sprintf("Request %d (Restart service) cannot be approved as things stand", in.RequestID), n.Subject)
	assert.Equal(t, "Stage 1 of 1 (SRE), requested by bob, cannot be completed: it needs 2 more approvals but only 1 eligible approver "+
		"remains (carol): bob is the requester and cannot approve their own request. Add members to team sre or escalate the stage to "+
		"another team (the request then asks them), or cancel the request; a superuser may also approve it. Otherwise it expires at 2026-04-04T12:00:00Z.", n.Message)
}

// An extension and a deadline warning say who moved the deadline, by how
// much, to when and why, and how close the deadline is.
func TestActivities_Publish_ExtendedAndDeadlineWarning(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	stage := s.Stage("SRE", "sre", 2, 72*time.Hour, 0)
	stage.MaxExtension, stage.WarnBefore = approval.Duration(48*time.Hour), approval.Duration(4*time.Hour)
	in := s.Create(t, testkit.RestartService(stage))
	r := pendingRequest(t, s, in.RequestID, in.Plan)
	_, err := r.Apply(approval.Act{Action: approval.ActionExtend, User: "erin", By: approval.Duration(24 * time.Hour), Text: "change freeze",
		Via: approval.Via{Channel: "portal"}}, t0.Add(time.Hour))
	require.NoError(t, err)

	_, err = activityEnv(s.Activities).ExecuteActivity(s.Activities.Publish, activities.PublishInput{Seq: 3, Request: *r,
		Events: []activities.Event{
			{Kind: notify.KindExtended, Recipients: []string{"alice", "carol"}, Stage: 0, Seq: 1},
			{Kind: notify.KindDeadlineWarning, Recipients: []string{"alice", "carol"}, Stage: 0, Seq: 1},
		}})
	require.NoError(t, err)
	sent := s.Notifier.Sent()
	require.Len(t, sent, 2)
	assert.Equal(t, fmt.Sprintf("service-request-%d/extended/0/1", in.RequestID), sent[0].ID)
	assert.Equal(t, fmt.Sprintf("Request %d (Restart service): deadline extended", in.RequestID), sent[0].Subject)
	assert.Equal(t, "Stage 1 of 1 (SRE): erin extended the deadline by 24h to 2026-04-05T12:00:00Z. Reason: change freeze", sent[0].Message)
	assert.Equal(t, fmt.Sprintf("service-request-%d/deadline_warning/0/1", in.RequestID), sent[1].ID)
	assert.Equal(t, fmt.Sprintf("Request %d (Restart service): approval deadline nears", in.RequestID), sent[1].Subject)
	assert.Equal(t, "Stage 1 of 1 (SRE) needs 2 approval(s), 1 so far; it expires at 2026-04-05T12:00:00Z unless decided.", sent[1].Message)
}

// A publication that only notifies (a reminder) delivers its notifications
// from the little the workflow sends and leaves the projection alone.
func TestActivities_Publish_NotifyOnly(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	env := activityEnv(s.Activities)
	ctx := context.Background()
	in := s.Create(t, testkit.RestartService(s.Stage("SRE", "sre", 2, 72*time.Hour, 24*time.Hour)))
	r := pendingRequest(t, s, in.RequestID, in.Plan)
	_, err := env.ExecuteActivity(s.Activities.Publish, activities.PublishInput{Seq: 2, Request: *r})
	require.NoError(t, err)
	before, err := s.Store.GetRequest(ctx, in.RequestID)
	require.NoError(t, err)

	deadline := t0.Add(72 * time.Hour)
	view := approval.Request{ID: r.ID, CatalogItem: r.CatalogItem, Requester: "alice", Justification: "needed for a test",
		Status: approval.StatusPendingApproval, Stages: []approval.StageState{{
			Stage: approval.Stage{Name: "SRE", MinApprovers: 2}, Status: approval.StagePending, Deadline: &deadline, Approvals: 1}}}
	_, err = activityEnv(s.Activities).ExecuteActivity(s.Activities.Publish, activities.PublishInput{Seq: 3, Request: view, NotifyOnly: true,
		Events: []activities.Event{{Kind: notify.KindReminder, Recipients: []string{"carol"}, Stage: 0, Seq: 1}}})
	require.NoError(t, err)

	sent := s.Notifier.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, fmt.Sprintf("Reminder: Request %d (Restart service) needs your approval", in.RequestID), sent[0].Subject)
	assert.Contains(t, sent[0].Message, "Stage 1 of 1 (SRE) needs 2 approval(s), 1 so far; deadline 2026-04-04T12:00:00Z.")
	after, err := s.Store.GetRequest(ctx, in.RequestID)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the projection is left as it was")
}

// A webhook URL holds its token anywhere, host name included: delivery
// errors are returned (to the workflow's history) and logged without it.
func TestActivities_Publish_WebhookURLNeverShows(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	in := s.Create(t, testkit.RestartService(s.Stage("SRE", "sre", 2, 72*time.Hour, 24*time.Hour)))
	r := pendingRequest(t, s, in.RequestID, in.Plan)
	events := []activities.Event{{Kind: notify.KindPending, Recipients: []string{"bob"}, Stage: 0}}
	const hook = "https://hook-host-secret.example/services/path-secret?token=query-secret"
	secrets := []string{"hook-host-secret", "path-secret", "query-secret"}
	unreachable := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.DNSError{Err: "no such host", Name: "hook-host-secret.example", IsNotFound: true}
	}}}
	wh, err := notify.NewWebhook(hook, "", unreachable)
	require.NoError(t, err)
	var logs bytes.Buffer
	acts := withNotifier(s, wh)
	acts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))

	_, err = activityEnv(acts).ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 2, Request: *r, Events: events})
	require.ErrorContains(t, err, "notification webhook")
	acts.NotifyMaxAttempts = 1
	_, err2 := activityEnv(acts).ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 3, Request: *r, Events: events})
	require.NoError(t, err2)
	require.Contains(t, logs.String(), "giving up on notifications")
	for _, secret := range secrets {
		assert.NotContains(t, fmt.Sprintf("%+v", err), secret, "the activity's error")
		assert.NotContains(t, logs.String(), secret, "the log")
	}
}

// withNotifier is the stack's activities with another notifier.
func withNotifier(s *testkit.Stack, n notify.Notifier) *activities.Activities {
	return &activities.Activities{Store: s.Store, AWX: s.AWX, Notifier: n, Logger: s.Activities.Logger}
}

func TestActivities_Publish_HangingReceiverCannotBlockForever(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	in := s.Create(t, testkit.RestartService(s.Stage("SRE", "sre", 2, 72*time.Hour, 24*time.Hour)))
	r := pendingRequest(t, s, in.RequestID, in.Plan)
	events := []activities.Event{
		{Kind: notify.KindPending, Recipients: []string{"bob"}, Stage: 0},
		{Kind: notify.KindReminder, Recipients: []string{"carol"}, Stage: 0, Seq: 1},
	}
	acts := withNotifier(s, hangingNotifier{on: notify.KindReminder})

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(acts)
	publishOnce := func(ctx workflow.Context, in activities.PublishInput) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 5 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		})
		return workflow.ExecuteActivity(ctx, "Publish", in).Get(ctx, nil)
	}
	env.RegisterWorkflow(publishOnce)
	var delivered map[string]bool
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) { require.NoError(t, d.Get(&delivered)) })

	env.ExecuteWorkflow(publishOnce, activities.PublishInput{Seq: 2, Request: *r, Events: events})

	err := env.GetWorkflowError()
	require.Error(t, err)
	var timeout *temporal.TimeoutError
	assert.False(t, errors.As(err, &timeout), "the attempt ends before its deadline, not by timing out: %v", err)
	assert.Equal(t, map[string]bool{"webhook/0": true}, delivered, "and says what went out")
}

// hangingNotifier never answers for one kind of notification.
type hangingNotifier struct{ on notify.Kind }

func (h hangingNotifier) Notify(ctx context.Context, n notify.Notification) error {
	if n.Kind == h.on {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}
