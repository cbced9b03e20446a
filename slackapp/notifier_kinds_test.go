package slackapp_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/slackapp"
	"github.com/countersign/countersign/store"
)

// readsCounted is a NotifierStore that counts the reads it is asked for.
type readsCounted struct {
	slackapp.NotifierStore
	reads int
}

func (s *readsCounted) GetRequest(context.Context, int64) (store.Request, error) {
	s.reads++
	return store.Request{}, store.ErrNotFound
}

// A notification nothing in Slack shows costs no reads; one Slack shows
// reads the request.
func TestNotifier_ReadsOnlyForWhatSlackShows(t *testing.T) {
	st := &readsCounted{}
	n := &slackapp.Notifier{Store: st}
	assert.NoError(t, n.Notify(context.Background(), notify.Notification{Kind: notify.KindUnreachable, RequestID: 7}))
	assert.Zero(t, st.reads)
	assert.NoError(t, n.Notify(context.Background(), notify.Notification{Kind: notify.KindFinished, RequestID: 7}))
	assert.Equal(t, 1, st.reads, "a finished request's messages are closed")
}
