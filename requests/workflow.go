package requests

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// workerProbe tells whether any worker polls the task queue, so that a
// decision is refused at once (and surely not applied) when none does,
// instead of hanging until a timeout. Answers are reused for a few
// seconds, and one caller at a time asks Temporal again: while it does,
// the others keep a recent "alive" rather than wait for its round trip
// (every decision and every detail asks, and the probe is slowest when
// Temporal is busiest); a caller with no such answer waits for the probe
// in flight and takes its answer.
type workerProbe struct {
	c         client.Client
	taskQueue string
	// probing is held by the caller asking Temporal.
	probing sync.Mutex
	mu      sync.Mutex
	checked time.Time
	alive   bool
	asking  bool
}

// workerSeenWithin: a worker that polled this recently counts as alive.
// An idle worker's pollers come back about every minute (a long poll), so
// a worker killed less than this ago still counts: a decision sent to it
// may wait for the next worker (see act).
const workerSeenWithin = 75 * time.Second

// A worker that just started is seen within deadFor; one that is alive
// is assumed to stay so for aliveFor, and for aliveWhileAsked more while
// another caller asks again.
const (
	aliveFor        = 5 * time.Second
	deadFor         = time.Second
	aliveWhileAsked = 10 * time.Second
)

func newWorkerProbe(c client.Client, taskQueue string) *workerProbe {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	return &workerProbe{c: c, taskQueue: taskQueue}
}

func (w *workerProbe) workersAlive(ctx context.Context) (bool, error) {
	if alive, known := w.known(true); known {
		return alive, nil
	}
	w.probing.Lock()
	defer w.probing.Unlock()
	// The probe this caller waited for may have answered.
	if alive, known := w.known(false); known {
		return alive, nil
	}
	w.mu.Lock()
	w.asking = true
	w.mu.Unlock()
	alive, err := w.ask(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asking = false
	if err != nil {
		return false, err
	}
	w.alive, w.checked = alive, time.Now()
	return alive, nil
}

// known is the answer still good without asking Temporal; with
// whileAsked, a recent "alive" while another caller asks counts too.
func (w *workerProbe) known(whileAsked bool) (alive, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.checked.IsZero() {
		return false, false
	}
	since := time.Since(w.checked)
	switch {
	case w.alive && since < aliveFor, !w.alive && since < deadFor:
		return w.alive, true
	case whileAsked && w.asking && w.alive && since < aliveFor+aliveWhileAsked:
		return true, true
	}
	return false, false
}

// ask asks Temporal whether a worker polled the task queue lately.
func (w *workerProbe) ask(ctx context.Context) (bool, error) {
	resp, err := w.c.DescribeTaskQueue(ctx, w.taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return false, err
	}
	for _, p := range resp.GetPollers() {
		if t := p.GetLastAccessTime(); t != nil && time.Since(t.AsTime()) < workerSeenWithin {
			return true, nil
		}
	}
	return false, nil
}

// errNoWorker answers a decision made while no worker runs.
var errNoWorker = errors.New("no worker is polling the task queue")

// act sends a decision to the request's workflow as an update, as the
// caller through channel, and waits for the new state. The update carries
// the service's proof of who sends it and who may act on the open stage
// now, read from PostgreSQL, so a membership change holds for the decision
// however recently it was made.
//
// Its outcome is never in doubt without saying so. No worker polling, or
// Temporal not answering the probe: *Unavailable, the decision was not
// sent. The workflow refused it or has finished: the refusal. No answer in
// time (workers busy, or killed a moment ago and not yet missed):
// *InFlight: the update may still be applied, but only until its proof
// expires, after which the workflow refuses it.
func (s *Service) act(ctx context.Context, r store.Request, d workflows.Decision, channel string) (approval.Request, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.TemporalTimeout)
	defer cancel()
	alive, err := s.workers.workersAlive(ctx)
	if err != nil {
		return approval.Request{}, unavailable("Temporal is unavailable; the decision was not sent.", err)
	}
	if !alive {
		return approval.Request{}, unavailable("No Countersign worker is running; the decision was not sent. Try again once workers are back.", errNoWorker)
	}
	if d.Roster, err = s.rosterNow(ctx, r); err != nil {
		return approval.Request{}, err
	}
	signed := s.cfg.Now()
	h, err := s.cfg.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(d.RequestID),
		UpdateName:   string(d.Action),
		Args:         []any{d.Signed(s.cfg.Signer, channel, signed)},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st approval.Request
	if err == nil {
		err = h.Get(ctx, &st)
	}
	var app *temporal.ApplicationError
	switch {
	case err == nil:
		s.record(ctx, st)
		return st, nil
	case isWorkflowGone(err):
		// Temporal refuses updates to a closed workflow itself (and knows no
		// workflow deleted after its retention): no rule of the request's
		// ran, but the answer is the rules' own for a finished request.
		return st, &approval.Refusal{Code: approval.CodeFinished,
			Message: fmt.Sprintf("request %d has finished; it accepts no more actions", d.RequestID)}
	case errors.As(err, &app):
		return st, err // the workflow's refusal
	}
	return st, &InFlight{RequestID: d.RequestID, Until: signed.Add(proof.ServiceMaxAge), Cause: err, Withdrawal: d.PendingOnly}
}

// record writes the state a decision answered with to PostgreSQL, so that
// lists and inboxes show the decision as soon as it is answered; the
// workflow leaves such a change to the API (workflows.RevisionLean). The
// decision stands if the write fails: the request's next publication
// records it.
func (s *Service) record(ctx context.Context, st approval.Request) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if _, err := s.cfg.Store.RecordRequestState(ctx, activities.Recorded(st)); err != nil {
		s.log.Warn("recording a decision's state failed; the workflow's next publication will", "request_id", st.ID, "seq", st.Seq, "error", err)
	}
}

// recordTimeout bounds record: the decision is answered meanwhile.
const recordTimeout = 5 * time.Second

// rosterNow is who may act on the request's open stage, as PostgreSQL says
// now; nil when no stage is open. A team deleted since leaves the stage to
// the organization's admins and superusers, as it does in the workflow.
func (s *Service) rosterNow(ctx context.Context, r store.Request) (*workflows.StageRoster, error) {
	if r.CurrentStage == nil || *r.CurrentStage < 0 || *r.CurrentStage >= len(r.Stages) {
		return nil, nil
	}
	st := r.Stages[*r.CurrentStage]
	roster, _, err := activities.StageRoster(ctx, s.cfg.Store, r.OrganizationID, st.ApproverTeamID, st.EscalationTeamIDs)
	if err != nil {
		return nil, err
	}
	return &workflows.StageRoster{Stage: *r.CurrentStage, Team: st.ApproverTeamID, Escalations: st.EscalationTeamIDs, Roster: roster}, nil
}

// liveState queries the request's live state; ok is false when the workflow
// cannot answer (gone after retention, no worker, Temporal down), in which
// case the caller falls back to the projection.
func (s *Service) liveState(ctx context.Context, requestID int64) (approval.Request, bool) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.TemporalTimeout)
	defer cancel()
	v, err := s.cfg.Temporal.QueryWorkflow(ctx, workflows.WorkflowID(requestID), "", workflows.StateQuery)
	var st approval.Request
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		s.log.Info("state query failed; answering from the projection", "request_id", requestID, "error", err)
		return st, false
	}
	return st, true
}

func isWorkflowGone(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}
