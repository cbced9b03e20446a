package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/workflows"
)

// Teams of the fake organization.
var (
	sreTeam      = &approval.Ref{ID: 1, Name: "sre"}
	securityTeam = &approval.Ref{ID: 2, Name: "security"}
)

// fakeWorld stands in for PostgreSQL and AWX behind the activities, with
// scripted answers and faults, and records every call.
type fakeWorld struct {
	mu sync.Mutex

	teams      map[int64][]string
	orgAdmins  []string
	superusers []string
	// delegations are all the delegations; rosters carry those active at
	// now (the workflow's clock) and their next start or end, as the
	// store's do.
	delegations []approval.Delegation
	now         func() time.Time
	// rosterLag sets the database's clock, which rosters are read on,
	// that much behind the workflow's.
	rosterLag time.Duration

	rosterCalls []activities.RosterInput
	// rosterGates, when set, make the nth roster call wait for its channel.
	rosterGates map[int]chan struct{}
	publishes   []activities.PublishInput
	// byActivity are the publications the Publish activity made; local,
	// those PublishLocally was asked for, whose outcome localOutcome,
	// when set, decides (an error: nothing was recorded).
	byActivity   []activities.PublishInput
	local        []activities.PublishInput
	localOutcome func(activities.PublishInput) (activities.PublishOutcome, error)

	// launchErrs are returned by successive launch attempts before one
	// succeeds.
	launchErrs  []error
	launchCalls []activities.LaunchInput
	job         approval.Job
	// recovered is what RecoverLaunch finds; recoverCalls counts its calls.
	recovered    activities.RecoverResult
	recoverCalls int
	// blockLaunch makes launch attempts wait for cancellation.
	blockLaunch bool

	// final is the AWX status the job ends with; explanation goes with it.
	final       string
	explanation string
	// blockUntilCanceled makes the job run until CancelJob is called.
	blockUntilCanceled bool
	canceled           chan struct{}
	pollCalls          []activities.PollInput
	cancelCalls        int
	// cancelErrs are returned by successive cancel attempts.
	cancelErrs []error
	// pollErr fails every poll.
	pollErr error
}

func newFakeWorld() *fakeWorld {
	return &fakeWorld{
		teams: map[int64][]string{
			sreTeam.ID:      {"alice", "bob", "carol", "frank"},
			securityTeam.ID: {"bob", "dave", "eve"},
		},
		orgAdmins:  []string{"erin"},
		superusers: []string{"admin"},
		job:        approval.Job{Type: "workflow_job", ID: 501, Status: "pending", URL: "https://awx.example/#/jobs/workflow/501"},
		final:      "successful",
		canceled:   make(chan struct{}),
	}
}

func (f *fakeWorld) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(f.ResolveRoster, activity.RegisterOptions{Name: "ResolveRoster"})
	env.RegisterActivityWithOptions(f.Publish, activity.RegisterOptions{Name: "Publish"})
	env.RegisterActivityWithOptions(f.PublishLocally, activity.RegisterOptions{Name: "PublishLocally"})
	env.RegisterActivityWithOptions(f.Launch, activity.RegisterOptions{Name: "Launch"})
	env.RegisterActivityWithOptions(f.RecoverLaunch, activity.RegisterOptions{Name: "RecoverLaunch"})
	env.RegisterActivityWithOptions(f.Poll, activity.RegisterOptions{Name: "Poll"})
	env.RegisterActivityWithOptions(f.CancelJob, activity.RegisterOptions{Name: "CancelJob"})
}

func (f *fakeWorld) setTeam(id int64, members ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.teams[id] = members
}

func (f *fakeWorld) ResolveRoster(ctx context.Context, in activities.RosterInput) (approval.Roster, error) {
	f.mu.Lock()
	f.rosterCalls = append(f.rosterCalls, in)
	gate := f.rosterGates[len(f.rosterCalls)]
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return approval.Roster{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := approval.Roster{TeamMembers: []string{}, OrgAdmins: slices.Clone(f.orgAdmins), Superusers: slices.Clone(f.superusers)}
	if in.TeamID != nil {
		r.TeamMembers = slices.Clone(f.teams[*in.TeamID])
	}
	f.addDelegations(&r)
	return r, nil
}

// addDelegations adds to r the delegations of its approvers as the store
// does: those active now, and when the next one starts or ends.
func (f *fakeWorld) addDelegations(r *approval.Roster) {
	deciders := r.TeamMembers
	if len(deciders) == 0 {
		deciders = r.OrgAdmins
	}
	now := f.now().Add(-f.rosterLag)
	for _, d := range f.delegations {
		if !slices.Contains(deciders, d.Delegator) || !d.Ends.After(now) {
			continue
		}
		change := d.Ends
		if d.Starts.After(now) {
			change = d.Starts
		} else {
			r.Delegations = append(r.Delegations, d)
		}
		if r.NextDelegationChange == nil || change.Before(*r.NextDelegationChange) {
			r.NextDelegationChange = &change
		}
	}
}

func (f *fakeWorld) Publish(_ context.Context, in activities.PublishInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.publishes = append(f.publishes, in)
	f.byActivity = append(f.byActivity, in)
	return nil
}

func (f *fakeWorld) PublishLocally(_ context.Context, in activities.PublishInput) (activities.PublishOutcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.local = append(f.local, in)
	var out activities.PublishOutcome
	var err error
	if f.localOutcome != nil {
		out, err = f.localOutcome(in)
	}
	if err == nil {
		f.publishes = append(f.publishes, in)
	}
	return out, err
}

func (f *fakeWorld) Launch(ctx context.Context, in activities.LaunchInput) (activities.LaunchResult, error) {
	f.mu.Lock()
	block := f.blockLaunch
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return activities.LaunchResult{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.launchCalls = append(f.launchCalls, in)
	if n := len(f.launchCalls); n <= len(f.launchErrs) {
		return activities.LaunchResult{}, f.launchErrs[n-1]
	}
	return activities.LaunchResult{Job: f.job}, nil
}

func (f *fakeWorld) RecoverLaunch(_ context.Context, in activities.LaunchInput) (activities.RecoverResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recoverCalls++
	return f.recovered, nil
}

func (f *fakeWorld) Poll(ctx context.Context, in activities.PollInput) (activities.PollResult, error) {
	f.mu.Lock()
	f.pollCalls = append(f.pollCalls, in)
	block, pollErr := f.blockUntilCanceled, f.pollErr
	f.mu.Unlock()
	if pollErr != nil {
		return activities.PollResult{}, pollErr
	}
	if in.UntilRunning {
		return activities.PollResult{Status: "running"}, nil
	}
	if block {
		select {
		case <-f.canceled:
			return activities.PollResult{Status: "canceled"}, nil
		case <-ctx.Done():
			return activities.PollResult{}, ctx.Err()
		case <-time.After(10 * time.Second):
			return activities.PollResult{}, errors.New("the job was never canceled")
		}
	}
	return activities.PollResult{Status: f.final, Explanation: f.explanation}, nil
}

func (f *fakeWorld) CancelJob(_ context.Context, in activities.CancelJobInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelCalls++
	if f.cancelCalls <= len(f.cancelErrs) {
		return f.cancelErrs[f.cancelCalls-1]
	}
	close(f.canceled)
	return nil
}

// lastPublished is the last state written to the projection.
func (f *fakeWorld) lastPublished(t *testing.T) activities.PublishInput {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.publishes)
	return f.publishes[len(f.publishes)-1]
}

// events lists every notification asked for, in order.
func (f *fakeWorld) events() []activities.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []activities.Event
	for _, p := range f.publishes {
		out = append(out, p.Events...)
	}
	return out
}

func (f *fakeWorld) eventsOf(kind notify.Kind) []activities.Event {
	var out []activities.Event
	for _, ev := range f.events() {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// harness runs one ServiceRequest in the SDK's test environment, where
// timers fire by skipping time.
type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	world *fakeWorld
	start time.Time
}

// epoch is when every test request starts, so runs compare equal.
var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newHarness(t *testing.T) *harness {
	return newHarnessTrusting(t, proof.ModeTrusted, nil)
}

// newHarnessTrusting runs the workflow on a worker whose TEMPORAL_DECISIONS
// is mode, with keys as the users' decision keys.
func newHarnessTrusting(t *testing.T, mode proof.Mode, keys activities.DecisionKeys) *harness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(epoch)
	guard := workflows.Guard{Decisions: mode, APIKeys: testkit.ServiceKeys()}
	env.RegisterWorkflowWithOptions(guard.ServiceRequest, workflow.RegisterOptions{Name: workflows.WorkflowType})
	world := newFakeWorld()
	world.now = env.Now
	world.register(env)
	// The real check of proofs; who may act comes from the fake world.
	checker := &activities.Activities{Decisions: mode, APIKeys: guard.APIKeys, Keys: keys, Now: env.Now}
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.VerifyDecisionInput) (activities.VerifyDecisionResult, error) {
		rosterIn := in.Roster
		in.Roster = nil
		res, err := checker.VerifyDecision(ctx, in)
		if err != nil || res.Refusal != nil || rosterIn == nil {
			return res, err
		}
		roster, err := world.ResolveRoster(ctx, *rosterIn)
		res.Roster = &roster
		return res, err
	}, activity.RegisterOptions{Name: "VerifyDecision"})
	return &harness{t: t, env: env, world: world, start: epoch}
}

// run executes the workflow to its end and returns its result.
func (h *harness) run(in workflows.Input) workflows.Result {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.WorkflowType, in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	var res workflows.Result
	if err := h.env.GetWorkflowError(); err != nil {
		var canceled *temporal.CanceledError
		require.ErrorAs(h.t, err, &canceled, "the workflow failed: %v", err)
		require.NoError(h.t, canceled.Details(&res))
		return res
	}
	require.NoError(h.t, h.env.GetWorkflowResult(&res))
	return res
}

// updateResult is what an update returned, filled in once it completed.
type updateResult struct {
	done     bool
	rejected error
	err      error
	state    approval.Request
}

// updateAt sends an update after d of workflow time, as the API does: a
// decision without a proof is signed for the api channel.
func (h *harness) updateAt(d time.Duration, name string, arg any) *updateResult {
	return h.rawUpdateAt(d, name, func() any { return testkit.AsAPI(requestID, arg, h.env.Now()) })
}

// rawUpdateAt sends the update payload arg makes after d of workflow time.
func (h *harness) rawUpdateAt(d time.Duration, name string, arg func() any) *updateResult {
	out := &updateResult{}
	h.env.RegisterDelayedCallback(func() {
		arg := arg()
		h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.done, out.rejected = true, err },
			OnComplete: func(res any, err error) {
				out.done, out.err = true, err
				// A copy, as a client would receive it: the workflow keeps
				// changing its own state.
				if res != nil {
					b, mErr := json.Marshal(res)
					require.NoError(h.t, mErr)
					require.NoError(h.t, json.Unmarshal(b, &out.state))
				}
			},
		}, arg)
	}, d)
	return out
}

func (h *harness) signalAt(d time.Duration, name string, arg any) {
	h.rawSignalAt(d, name, func() any { return arg })
}

// rawSignalAt sends the signal payload arg makes after d of workflow time.
func (h *harness) rawSignalAt(d time.Duration, name string, arg func() any) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(name, arg()) }, d)
}

// stateAt queries the request's state after d of workflow time.
func (h *harness) stateAt(d time.Duration) *approval.Request {
	out := &approval.Request{}
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.StateQuery)
		require.NoError(h.t, err)
		require.NoError(h.t, v.Get(out))
	}, d)
	return out
}

func stage(name string, order int, team *approval.Ref, min int, timeout, remind time.Duration) approval.Stage {
	return approval.Stage{Name: name, Order: order, ApproverTeam: team, MinApprovers: min,
		DenialMessage: name + " does not approve this",
		Timeout:       approval.Duration(timeout), ReminderInterval: approval.Duration(remind)}
}

func plan(stages ...approval.Stage) approval.Plan {
	if len(stages) == 0 {
		return approval.Plan{Source: approval.PlanNone, Stages: []approval.Stage{}}
	}
	return approval.Plan{Source: approval.PlanFromPolicy, PolicyName: "test policy", Stages: stages}
}

// requestID is the id of every test request.
const requestID = 42

func input(p approval.Plan) workflows.Input {
	return workflows.Input{
		RequestID:     requestID,
		Organization:  approval.Ref{ID: 1, Name: "acme"},
		CatalogItem:   approval.Ref{ID: 3, Name: "Provision environment"},
		Template:      workflows.Template{Kind: awx.WorkflowJobTemplate, ID: 11},
		Requester:     "alice",
		Justification: "integration environment",
		ExtraVars:     map[string]any{"env_name": "demo", "ttl_days": 7},
		Plan:          p,
	}
}
