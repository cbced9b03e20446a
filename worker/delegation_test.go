package worker_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// delegate records a delegation from delegator to delegate in PostgreSQL.
func (c *cluster) delegate(t *testing.T, delegator, delegate string, starts, ends time.Time) {
	t.Helper()
	from, to := c.Identity.Users[delegator], c.Identity.Users[delegate]
	_, err := c.Store.CreateDelegation(context.Background(), store.NewDelegation{DelegatorID: from.ID, DelegateID: to.ID,
		Starts: starts, Ends: ends, CreatedBy: from.ID, Now: time.Now()})
	require.NoError(t, err)
}

// bob is away and delegated to dave (of another team): dave is asked,
// approves on bob's behalf, and bob's seat is used.
func TestWorker_DelegateApprovesOnBehalf(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	now := time.Now()
	c.delegate(t, "bob", "dave", now.Add(-time.Minute), now.Add(time.Hour))
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 2, time.Hour, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open with bob's delegate", func() bool {
		return slices.Contains(testkit.State(t, c.client, in.RequestID).EligibleApprovers, "dave")
	})

	st := c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "dave", Comment: "for bob"})
	require.Len(t, st.Stages[0].Responses, 1)
	assert.Equal(t, "bob", st.Stages[0].Responses[0].OnBehalfOf)
	assert.Equal(t, []string{"carol"}, st.EligibleApprovers, "bob's seat is used, and so is dave's")
	_, err := testkit.Update(context.Background(), c.client, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "bob"})
	assert.ErrorContains(t, err, string(approval.CodeAlreadyDecided))

	c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "carol"})
	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "delegate_approves_on_behalf")
}

// A delegation that starts while a stage waits reaches it on time, with
// no signal: the stage wakes when the roster says a delegation starts,
// resolves its roster again, and the delegate may decide.
func TestWorker_DelegationStartsWhileStageWaits(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	c.startWorker(t)
	starts := time.Now().Add(4 * time.Second)
	c.delegate(t, "bob", "dave", starts, starts.Add(time.Hour))
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	st := testkit.State(t, c.client, in.RequestID)
	require.True(t, time.Now().Before(starts), "the machine was too slow to see the delegation start")
	assert.NotContains(t, st.EligibleApprovers, "dave", "not yet")
	require.NotNil(t, st.Roster.NextDelegationChange)

	testkit.Eventually(t, 20*time.Second, "dave to become eligible when the delegation starts", func() bool {
		return slices.Contains(testkit.State(t, c.client, in.RequestID).EligibleApprovers, "dave")
	})
	st = c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "dave"})
	assert.Equal(t, "bob", st.Stages[0].Responses[0].OnBehalfOf)
	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	testkit.RecordHistory(t, testkit.History(t, c.client, in.RequestID), "delegation_starts_while_stage_waits")
}

// lateRoster is a database whose clock is a little behind the workflow's:
// the first roster read once a delegation has started answers as the last
// read before its start did.
type lateRoster struct {
	activities.Store
	starts time.Time

	mu         sync.Mutex
	before     *store.Roster
	servedLate bool
}

func (l *lateRoster) Roster(ctx context.Context, orgID int64, teamID *int64) (store.Roster, error) {
	r, err := l.Store.Roster(ctx, orgID, teamID)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
	case time.Now().Before(l.starts):
		l.before = &r
	case !l.servedLate && l.before != nil:
		l.servedLate = true
		return *l.before, nil
	}
	return r, err
}

func (l *lateRoster) late() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.servedLate
}

// The roster read when a delegation's timer fires still names the
// delegation's start (the database saw it late): the stage sets the timer
// again for a moment later (change delegation-timer-rearm), reads the
// roster once more and the delegate may decide.
func TestWorker_DelegationStartSeenLate(t *testing.T) {
	c := newCluster(t, awxsim.Config{JobDuration: 300 * time.Millisecond})
	starts := time.Now().Add(4 * time.Second)
	lagging := &lateRoster{Store: c.Activities.Store, starts: starts}
	c.Activities.Store = lagging
	c.startWorker(t)
	c.delegate(t, "bob", "dave", starts, starts.Add(time.Hour))
	in := c.Create(t, testkit.RestartService(c.Stage("SRE", "sre", 1, time.Hour, 0)))
	run := testkit.StartRequest(t, c.client, c.taskQueue, in)
	testkit.Eventually(t, 20*time.Second, "the stage to open", func() bool {
		return testkit.State(t, c.client, in.RequestID).CurrentStage == 0
	})
	require.True(t, time.Now().Before(starts), "the machine was too slow to see the delegation start")

	testkit.Eventually(t, 20*time.Second, "dave to become eligible once the database sees the start", func() bool {
		return slices.Contains(testkit.State(t, c.client, in.RequestID).EligibleApprovers, "dave")
	})
	require.True(t, lagging.late(), "the roster read when the timer fired named the start again")
	st := c.update(t, in.RequestID, workflows.Approve, workflows.ApproveInput{User: "dave"})
	assert.Equal(t, "bob", st.Stages[0].Responses[0].OnBehalfOf)
	res := testkit.Result(t, run, time.Minute)
	assert.Equal(t, approval.StatusSuccessful, res.Status)

	// The change's version marker, then the timer set again for the start
	// named again, the shortest a delegation timer waits.
	h := testkit.History(t, c.client, in.RequestID)
	var versions int
	var rearmed bool
	for _, ev := range h.Events {
		if ev.GetMarkerRecordedEventAttributes().GetMarkerName() == "Version" {
			versions++
		}
		if a := ev.GetTimerStartedEventAttributes(); a != nil && versions == 1 && a.GetStartToFireTimeout().AsDuration() == time.Second {
			rearmed = true
		}
	}
	assert.Equal(t, 1, versions, "one version marker: delegation-timer-rearm")
	assert.True(t, rearmed, "the delegation timer set again, for a second, after the marker")
	testkit.RecordHistory(t, h, "delegation_start_seen_late")
}
