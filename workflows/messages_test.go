package workflows_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/workflows"
)

func TestServiceRequest_SignalsAndUpdatesAgree(t *testing.T) {
	t.Parallel()
	type step struct {
		at     time.Duration
		name   string
		update any
	}
	steps := []step{
		{time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob", Comment: "ok"}},
		{2 * time.Hour, workflows.Approve, workflows.ApproveInput{User: "dave"}}, // not in sre: refused
		{3 * time.Hour, workflows.Comment, workflows.CommentInput{User: "alice", Text: "thanks"}},
		{4 * time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"}}, // second decision: refused
		{5 * time.Hour, workflows.Reject, workflows.RejectInput{User: "carol", Reason: "not now"}},
	}
	p := plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, time.Duration(0)))

	viaUpdates := newHarness(t)
	var results []*updateResult
	for _, s := range steps {
		results = append(results, viaUpdates.updateAt(s.at, s.name, s.update))
	}
	resU := viaUpdates.run(input(p))

	viaSignals := newHarness(t)
	for _, s := range steps {
		viaSignals.signalAt(s.at, s.name, s.update)
	}
	resS := viaSignals.run(input(p))

	assert.Equal(t, resU, resS)
	assert.Equal(t, approval.StatusRejected, resS.Status)
	require.Error(t, results[1].rejected)
	require.Error(t, results[3].rejected)

	u, s := viaUpdates.world.lastPublished(t).Request, viaSignals.world.lastPublished(t).Request
	assert.Empty(t, u.Refused, "refused updates leave no trace")
	require.Len(t, s.Refused, 2, "refused signals leave a visible trace")
	assert.Equal(t, approval.RefusedAction{User: "dave", Action: approval.ActionApprove, Code: approval.CodeNotEligible,
		Message: results[1].rejected.(*temporal.ApplicationError).Message(), At: viaSignals.start.Add(2 * time.Hour)}, s.Refused[0])
	assert.Equal(t, approval.CodeAlreadyDecided, s.Refused[1].Code)
	s.Refused = u.Refused
	// The API's updates arrive signed for the api channel; the signals come
	// as from a `temporal` CLI without a proof, which a trusting worker
	// applies recorded as unverified.
	assert.Equal(t, []approval.Via{{Channel: "api"}, {Channel: "api"}, {Channel: "api"}},
		[]approval.Via{u.Stages[0].Responses[0].Via, u.Stages[0].Responses[1].Via, u.Comments[0].Via})
	unverified := approval.Via{Channel: "cli", Unverified: true}
	assert.Equal(t, []approval.Via{unverified, unverified, unverified},
		[]approval.Via{s.Stages[0].Responses[0].Via, s.Stages[0].Responses[1].Via, s.Comments[0].Via})
	for _, r := range []*approval.Request{&u, &s} {
		r.Stages[0].Responses[0].Via, r.Stages[0].Responses[1].Via, r.Comments[0].Via = approval.Via{}, approval.Via{}, approval.Via{}
		r.Denial.Via = approval.Via{}
	}
	assert.Equal(t, u, s, "apart from the trace of refused signals and the channels, both requests end identical")
}

func TestServiceRequest_RefusedUpdateChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	before := h.stateAt(30 * time.Minute)
	refused := h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "alice"})
	after := h.stateAt(90 * time.Minute)
	h.updateAt(2*time.Hour, workflows.Cancel, workflows.CancelInput{User: "alice"})

	h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, day))))

	var appErr *temporal.ApplicationError
	require.ErrorAs(t, refused.rejected, &appErr)
	assert.Equal(t, string(approval.CodeSelfDecision), appErr.Type())
	assert.Equal(t, *before, *after)
}

func TestServiceRequest_StateQuery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	st := h.stateAt(time.Hour)
	h.updateAt(2*time.Hour, workflows.Cancel, workflows.CancelInput{User: "erin"})

	h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day))))

	assert.Equal(t, int64(42), st.ID)
	assert.Equal(t, approval.StatusPendingApproval, st.Status)
	assert.Equal(t, 0, st.CurrentStage)
	assert.Equal(t, []string{"bob", "carol", "frank"}, st.EligibleApprovers)
	assert.Equal(t, []string{"admin"}, st.Roster.Superusers)
	require.Len(t, st.Stages, 1)
	assert.Equal(t, h.start, *st.Stages[0].OpenedAt)
	assert.Equal(t, h.start.Add(72*time.Hour), *st.Stages[0].Deadline)
	assert.Equal(t, h.start.Add(day), *st.Stages[0].NextReminder)
	assert.Equal(t, "integration environment", st.Justification)
	assert.Equal(t, approval.PlanFromPolicy, st.PlanSource)
}

func TestServiceRequest_RefreshApprovers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env.RegisterDelayedCallback(func() { h.world.setTeam(sreTeam.ID, "carol", "henry") }, 30*time.Minute)
	h.signalAt(time.Hour, workflows.RefreshApprovers, workflows.RefreshApproversInput{Reason: "team sre changed"})
	st := h.stateAt(2 * time.Hour)
	frank := h.updateAt(3*time.Hour, workflows.Approve, workflows.ApproveInput{User: "frank"})
	henry := h.updateAt(4*time.Hour, workflows.Approve, workflows.ApproveInput{User: "henry"})

	res := h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, day))))

	assert.Equal(t, []string{"carol", "henry"}, st.EligibleApprovers)
	require.Error(t, frank.rejected, "removed from the team mid-flight")
	require.NoError(t, henry.err, "added to the team mid-flight")
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Len(t, h.world.rosterCalls, 2)
}

func TestServiceRequest_MalformedSignalLeavesTrace(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signalAt(time.Hour, workflows.Approve, "bob")
	st := h.stateAt(2 * time.Hour)
	h.updateAt(3*time.Hour, workflows.Cancel, workflows.CancelInput{User: "alice"})

	h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, day))))

	require.Len(t, st.Refused, 1)
	assert.Equal(t, approval.CodeMalformed, st.Refused[0].Code)
	assert.Equal(t, 0, st.Stages[0].Approvals)
}

func TestServiceRequest_EarlySignalWaitsForItsStage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Sent before the first stage opened, as from the CLI while workers are down.
	h.signalAt(0, workflows.Approve, workflows.ApproveInput{User: "bob"})

	res := h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, day))))

	assert.Equal(t, approval.StatusSuccessful, res.Status)
	last := h.world.lastPublished(t).Request
	assert.Empty(t, last.Refused)
	assert.Equal(t, "bob", last.Stages[0].Responses[0].User)
}

func TestServiceRequest_InvalidInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	in := input(plan())
	in.Requester = ""
	h.env.ExecuteWorkflow(workflows.WorkflowType, in)
	require.True(t, h.env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, h.env.GetWorkflowError(), &appErr)
	assert.Equal(t, "InvalidInput", appErr.Type())
	assert.Contains(t, appErr.Error(), "requester is required")
}

func TestWorkflowID(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "service-request-42", workflows.WorkflowID(42))
	id, err := workflows.RequestID("service-request-42")
	require.NoError(t, err)
	assert.Equal(t, int64(42), id)
	for _, bad := range []string{"", "service-request-", "service-request-x", "service-request--1", "other-42", "service-request-0"} {
		_, err := workflows.RequestID(bad)
		assert.Error(t, err, bad)
	}
}

func TestServiceRequest_RefreshWhileTheStageOpens(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gate := make(chan struct{})
	h.world.rosterGates = map[int]chan struct{}{1: gate}
	h.env.RegisterDelayedCallback(func() {
		h.world.setTeam(sreTeam.ID, "carol", "henry")
		h.env.SignalWorkflow(workflows.RefreshApprovers, workflows.RefreshApproversInput{Reason: "team sre changed"})
		close(gate) // the first resolution answers with the old team
	}, time.Second)
	st := h.stateAt(time.Hour)
	h.updateAt(2*time.Hour, workflows.Cancel, workflows.CancelInput{User: "alice"})

	h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, day))))

	require.Len(t, h.world.rosterCalls, 2, "the refresh that came while the stage opened is not lost")
	assert.Equal(t, []string{"carol", "henry"}, st.EligibleApprovers)
}

func TestServiceRequest_DeadlineHoldsWhileApproversAreResolved(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.world.rosterGates = map[int]chan struct{}{2: make(chan struct{})} // the refresh never answers
	h.signalAt(500*time.Millisecond, workflows.RefreshApprovers, workflows.RefreshApproversInput{})

	res := h.run(input(plan(stage("SRE", 1, sreTeam, 1, 2*time.Second, 0))))

	assert.Equal(t, approval.StatusExpired, res.Status)
	assert.Len(t, h.world.rosterCalls, 2)
}

func TestServiceRequest_CancelPendingOnly(t *testing.T) {
	t.Parallel()
	t.Run("withdrawn while pending", func(t *testing.T) {
		h := newHarness(t)
		up := h.updateAt(time.Hour, workflows.Cancel, workflows.CancelInput{User: "alice", PendingOnly: true})
		res := h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, day))))
		require.NoError(t, up.err)
		assert.Equal(t, approval.StatusCanceled, res.Status)
	})
	t.Run("refused once approved", func(t *testing.T) {
		h := newHarness(t)
		h.world.blockUntilCanceled = true
		h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
		late := h.updateAt(time.Hour+time.Second, workflows.Cancel, workflows.CancelInput{User: "alice", PendingOnly: true})
		h.updateAt(time.Hour+2*time.Second, workflows.Cancel, workflows.CancelInput{User: "alice"})
		res := h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, day))))
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, late.rejected, &appErr)
		assert.Equal(t, string(approval.CodeNotPending), appErr.Type())
		assert.Contains(t, appErr.Message(), "can no longer be withdrawn")
		assert.Equal(t, approval.StatusCanceled, res.Status, "the plain cancel that followed went through")
		assert.Equal(t, 1, h.world.cancelCalls)
	})
}

// Signals carry whatever their sender puts in them (the payload limit is
// Temporal's, 2 MB by default); what the request keeps of refused ones is
// bounded, so the state that every publication and update result carries
// stays small and the request goes on.
func TestServiceRequest_HugeRefusedSignalsStaySmall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	huge := strings.Repeat("m", 500_000)
	for i := range 60 {
		h.signalAt(time.Hour+time.Duration(i)*time.Second, workflows.Approve, workflows.ApproveInput{User: huge + strconv.Itoa(i)})
	}
	h.signalAt(2*time.Hour, workflows.Comment, workflows.CommentInput{User: "carol", Text: "hello"}) // not allowed yet: refused
	up := h.updateAt(3*time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})

	res := h.run(input(plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, day))))

	assert.Equal(t, approval.StatusSuccessful, res.Status, "the request went on")
	require.NoError(t, up.err)
	require.Len(t, up.state.Refused, 50, "the last 50 refusals are kept")
	for _, r := range up.state.Refused[:49] {
		assert.LessOrEqual(t, len(r.User), approval.MaxUserLength)
		assert.Equal(t, approval.CodeTooLong, r.Code)
	}
	// 50 records of at most 150 + 1,000 bytes of text plus ~150 of JSON
	// around them: the refusals add at most ~65 KB to any request.
	const bound = 64 << 10
	b, err := json.Marshal(up.state)
	require.NoError(t, err)
	assert.Less(t, len(b), bound, "the update's result")
	after := h.world.lastPublished(t)
	assert.Equal(t, approval.StatusSuccessful, after.Request.Status, "publications went on to the end")
	for _, p := range h.world.publishes {
		b, err := json.Marshal(p)
		require.NoError(t, err)
		assert.Less(t, len(b), bound, "publication %d", p.Seq)
	}
}
