package workflows_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/workflows"
)

// runTypical runs the typical request (two stages of two approvals
// through the API) at revision, with the fake world's local publications
// answering as localOutcome says.
func runTypical(t *testing.T, revision int, localOutcome func(activities.PublishInput) (activities.PublishOutcome, error)) *harness {
	h := newHarness(t)
	h.world.localOutcome = localOutcome
	for i, user := range []string{"bob", "carol", "dave", "eve"} {
		h.updateAt(time.Duration(i+1)*time.Hour, workflows.Approve, workflows.ApproveInput{User: user})
	}
	in := input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day), stage("Security", 2, securityTeam, 2, 48*time.Hour, 0)))
	in.Revision = revision
	res := h.run(in)
	require.Equal(t, approval.StatusSuccessful, res.Status)
	return h
}

// At RevisionLocalPublish every publication of the typical request is
// local, and the request publishes what it published at RevisionLean.
func TestServiceRequest_LocalPublishing(t *testing.T) {
	t.Parallel()
	lean, local := runTypical(t, workflows.RevisionLean, nil), runTypical(t, workflows.RevisionLocalPublish, nil)

	assert.Equal(t, publishedStatuses(lean), publishedStatuses(local))
	assert.Empty(t, local.world.byActivity, "no Publish activity")
	assert.Len(t, local.world.local, len(lean.world.byActivity), "each publication by activity is one local publication")
	assert.Empty(t, lean.world.local, "RevisionLean publishes through activities alone")
	last := func(h *harness) approval.Request { return h.world.publishes[len(h.world.publishes)-1].Request }
	assert.Equal(t, last(lean).Stages, last(local).Stages, "the end is published alike")
}

// A local publication that could not record the state (PostgreSQL
// unavailable) is made again, whole, by the Publish activity, which
// retries until it is done.
func TestServiceRequest_LocalPublishing_NotRecorded(t *testing.T) {
	t.Parallel()
	h := runTypical(t, workflows.RevisionLocalPublish, func(in activities.PublishInput) (activities.PublishOutcome, error) {
		if len(in.Events) > 0 && in.Events[0].Kind == "finished" {
			return activities.PublishOutcome{}, errors.New("connection refused")
		}
		return activities.PublishOutcome{}, nil
	})

	require.Len(t, h.world.byActivity, 1, "only the failed publication")
	got := h.world.byActivity[0]
	failed := h.world.local[len(h.world.local)-1]
	assert.False(t, got.NotifyOnly, "the state is recorded too")
	assert.Equal(t, failed.Seq, got.Seq)
	assert.Equal(t, failed.Request, got.Request)
	assert.Equal(t, failed.Events, got.Events)
	assert.Empty(t, got.Delivered)
	statuses := publishedStatuses(h)
	assert.Equal(t, "successful+finished", statuses[len(statuses)-1])
}

// A local publication that recorded the state but could not deliver every
// notification leaves the rest to the Publish activity: notifications
// only, skipping what went out.
func TestServiceRequest_LocalPublishing_DeliveriesPending(t *testing.T) {
	t.Parallel()
	delivered := map[string]bool{"webhook/0": true}
	h := runTypical(t, workflows.RevisionLocalPublish, func(in activities.PublishInput) (activities.PublishOutcome, error) {
		if len(in.Events) > 0 && in.Events[0].Kind == "decided" {
			return activities.PublishOutcome{Delivered: delivered, Pending: true}, nil
		}
		return activities.PublishOutcome{}, nil
	})

	require.Len(t, h.world.byActivity, 1)
	got := h.world.byActivity[0]
	partial := h.world.local[2]
	require.Equal(t, "decided", string(partial.Events[0].Kind))
	assert.True(t, got.NotifyOnly, "the state was recorded")
	assert.Equal(t, delivered, got.Delivered)
	assert.Equal(t, partial.Seq, got.Seq)
	assert.Equal(t, partial.Events, got.Events)
	assert.Equal(t, partial.Request.Status, got.Request.Status)
	assert.Empty(t, got.Request.Stages[0].Responses, "a notification's view, not the whole state")
	assert.NotEmpty(t, partial.Request.Stages[0].Responses)
}
