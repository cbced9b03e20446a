package activities_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/store"
)

func TestActivities_PublishLocally(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	in := s.Create(t, testkit.RestartService(s.Stage("SRE", "sre", 2, 72*time.Hour, 24*time.Hour)))
	r := pendingRequest(t, s, in.RequestID, in.Plan)
	events := []activities.Event{
		{Kind: notify.KindPending, Recipients: []string{"bob", "carol"}, Stage: 0},
		{Kind: notify.KindReminder, Recipients: []string{"carol"}, Stage: 0, Seq: 1},
	}
	seqOf := func() int64 {
		got, err := s.Store.GetRequest(context.Background(), in.RequestID)
		require.NoError(t, err)
		return got.StateSeq
	}

	t.Run("records the state and delivers", func(t *testing.T) {
		hook := &testkit.Notifier{}
		acts := withNotifier(s, hook)
		v, err := activityEnv(acts).ExecuteLocalActivity(acts.PublishLocally, activities.PublishInput{Seq: 2, Request: *r, Events: events})
		require.NoError(t, err)
		var out activities.PublishOutcome
		require.NoError(t, v.Get(&out))
		assert.Equal(t, activities.PublishOutcome{}, out)
		assert.Equal(t, int64(2), seqOf())
		assert.Len(t, hook.Sent(), 2)
	})

	t.Run("a failing receiver leaves its deliveries to Publish", func(t *testing.T) {
		hook := &testkit.Notifier{}
		mailFails := true
		mail := &testkit.Notifier{Fail: func(msg notify.Notification) error {
			if mailFails && msg.Kind == notify.KindReminder {
				return errors.New("SMTP server answered 451 for user:s3cret@mail")
			}
			return nil
		}}
		acts := withNotifier(s, nil)
		acts.Channels = []notify.Channel{{Name: notify.ChannelWebhook, Notifier: hook}, {Name: "mail", Notifier: mail}}
		v, err := activityEnv(acts).ExecuteLocalActivity(acts.PublishLocally, activities.PublishInput{Seq: 3, Request: *r, Events: events})
		require.NoError(t, err, "the state is recorded: the publication stands")
		var out activities.PublishOutcome
		require.NoError(t, v.Get(&out))
		assert.Equal(t, activities.PublishOutcome{Pending: true, Delivered: map[string]bool{"webhook/0": true, "mail/0": true, "webhook/1": true}}, out,
			"which went out, never the receiver's error")
		assert.Equal(t, int64(3), seqOf())

		mailFails = false
		_, err = activityEnv(acts).ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 3, Request: *r, Events: events, NotifyOnly: true, Delivered: out.Delivered})
		require.NoError(t, err)
		assert.Len(t, hook.Sent(), 2, "the webhook is not sent again")
		assert.Len(t, mail.Sent(), 2)
	})

	t.Run("without PostgreSQL nothing is recorded or delivered", func(t *testing.T) {
		closed, err := store.Open(context.Background(), s.DatabaseURL)
		require.NoError(t, err)
		require.NoError(t, closed.Close())
		hook := &testkit.Notifier{}
		acts := &activities.Activities{Store: closed, AWX: s.AWX, Notifier: hook, Logger: s.Activities.Logger}
		_, err = activityEnv(acts).ExecuteLocalActivity(acts.PublishLocally, activities.PublishInput{Seq: 9, Request: *r, Events: events})
		require.Error(t, err, "the workflow publishes through Publish instead")
		assert.Empty(t, hook.Sent(), "no notification about a state that is not shown")
		assert.Equal(t, int64(3), seqOf())
	})
}

// recipientNotifier serves recipients one by one, failing those fail
// names (once each), as mail does.
type recipientNotifier struct {
	mu   sync.Mutex
	fail map[string]bool
	sent []string // username/kind
}

func (n *recipientNotifier) Notify(ctx context.Context, msg notify.Notification) error {
	_, err := n.NotifyRecipients(ctx, msg)
	return err
}

func (n *recipientNotifier) NotifyRecipients(_ context.Context, msg notify.Notification) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var served []string
	var err error
	for _, r := range msg.Recipients {
		if n.fail[r.Username] {
			n.fail[r.Username] = false
			err = errors.New("451 try later")
			continue
		}
		n.sent = append(n.sent, r.Username+"/"+string(msg.Kind))
		served = append(served, r.Username)
	}
	return served, err
}

// A channel that serves recipients one by one is retried only for those
// it missed, across the local attempt and the Publish activity alike.
func TestActivities_PublishRetriesOnlyMissedRecipients(t *testing.T) {
	s := testkit.NewStack(t, awxsim.Config{})
	in := s.Create(t, testkit.RestartService(s.Stage("SRE", "sre", 2, 72*time.Hour, 24*time.Hour)))
	r := pendingRequest(t, s, in.RequestID, in.Plan)
	events := []activities.Event{{Kind: notify.KindPending, Recipients: []string{"bob", "carol"}, Stage: 0}}
	mail := &recipientNotifier{fail: map[string]bool{"bob": true}}
	acts := withNotifier(s, nil)
	acts.Channels = []notify.Channel{{Name: "mail", Notifier: mail}}

	v, err := activityEnv(acts).ExecuteLocalActivity(acts.PublishLocally, activities.PublishInput{Seq: 2, Request: *r, Events: events})
	require.NoError(t, err)
	var out activities.PublishOutcome
	require.NoError(t, v.Get(&out))
	assert.Equal(t, activities.PublishOutcome{Pending: true, Delivered: map[string]bool{"mail/0/carol": true}}, out)

	_, err = activityEnv(acts).ExecuteActivity(acts.Publish, activities.PublishInput{Seq: 2, Request: *r, Events: events, NotifyOnly: true, Delivered: out.Delivered})
	require.NoError(t, err)
	assert.Equal(t, []string{"carol/pending", "bob/pending"}, mail.sent, "carol once, bob on the retry")

	t.Run("an event delivered to all keeps no mark per recipient", func(t *testing.T) {
		mail := &recipientNotifier{fail: map[string]bool{"carol": true}}
		acts.Channels = []notify.Channel{{Name: "mail", Notifier: mail}}
		two := append(events, activities.Event{Kind: notify.KindReminder, Recipients: []string{"bob", "carol"}, Stage: 0, Seq: 1})
		two[0].Recipients = []string{"bob"}
		v, err := activityEnv(acts).ExecuteLocalActivity(acts.PublishLocally, activities.PublishInput{Seq: 3, Request: *r, Events: two})
		require.NoError(t, err)
		var out activities.PublishOutcome
		require.NoError(t, v.Get(&out))
		assert.Equal(t, map[string]bool{"mail/0": true, "mail/1/bob": true}, out.Delivered)
	})
}
