package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/workflows"
)

// workerProbe tells whether any worker polls the task queue, so that a
// decision is refused at once (and surely not applied) when none does,
// instead of hanging until a timeout. Answers are reused for a few seconds.
type workerProbe struct {
	c         client.Client
	taskQueue string
	mu        sync.Mutex
	checked   time.Time
	alive     bool
}

// workerSeenWithin: a worker that polled this recently counts as alive;
// pollers long-poll for about a minute.
const workerSeenWithin = 2 * time.Minute

func newWorkerProbe(c client.Client, taskQueue string) *workerProbe {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	return &workerProbe{c: c, taskQueue: taskQueue}
}

func (w *workerProbe) workersAlive(ctx context.Context) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// A worker that just started is seen within a second; one that is
	// alive is assumed to stay so for a few.
	if fresh := time.Since(w.checked); (w.alive && fresh < 5*time.Second) || (!w.alive && fresh < time.Second) {
		return w.alive, nil
	}
	resp, err := w.c.DescribeTaskQueue(ctx, w.taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return false, err
	}
	w.alive = false
	for _, p := range resp.GetPollers() {
		if t := p.GetLastAccessTime(); t != nil && time.Since(t.AsTime()) < workerSeenWithin {
			w.alive = true
		}
	}
	w.checked = time.Now()
	return w.alive, nil
}

// errNoWorker answers a decision made while no worker runs.
var errNoWorker = errors.New("no worker is polling the task queue")

// act sends a decision to the request's workflow as an update, signed as
// the API's for channel, and waits for the new state. No worker → 503 at
// once, nothing applied; a worker that does not answer within the timeout
// → 503, and the decision may still be applied when it does (Temporal
// keeps the update). A refusal by the request's rules, or its workflow
// having closed, is an *approval.Refusal (see refusalOf).
func (s *Server) act(ctx context.Context, d workflows.Decision, channel string) (approval.Request, error) {
	requestID, name, payload := d.RequestID, string(d.Action), d.Signed(s.signer, channel, time.Now())
	ctx, cancel := context.WithTimeout(ctx, s.d.TemporalTimeout)
	defer cancel()
	alive, err := s.workers.workersAlive(ctx)
	if err != nil {
		return approval.Request{}, unavailable("Temporal is unavailable; the decision was not recorded.", err)
	}
	if !alive {
		return approval.Request{}, unavailable("No Countersign worker is running; the decision was not recorded. Try again once workers are back.", errNoWorker)
	}
	h, err := s.d.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(requestID),
		UpdateName:   name,
		Args:         []any{payload},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st approval.Request
	if err == nil {
		err = h.Get(ctx, &st)
	}
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, context.DeadlineExceeded):
		return st, unavailable(fmt.Sprintf("The request's workflow did not answer within %s; the decision may still be applied when workers catch up. Check the request before trying again.", s.d.TemporalTimeout), err)
	case isWorkflowGone(err):
		// Temporal refuses updates to a closed workflow itself (and knows no
		// workflow deleted after its retention): no rule of the request's
		// ran, but the answer is the rules' own for a finished request.
		return st, &approval.Refusal{Code: approval.CodeFinished,
			Message: fmt.Sprintf("request %d has finished; it accepts no more actions", requestID)}
	}
	return st, err
}

// state queries the request's live state; ok is false when the workflow
// cannot answer (gone after retention, no worker, Temporal down), in which
// case the caller falls back to the projection.
func (s *Server) state(ctx context.Context, requestID int64) (approval.Request, bool) {
	ctx, cancel := context.WithTimeout(ctx, s.d.TemporalTimeout)
	defer cancel()
	v, err := s.d.Temporal.QueryWorkflow(ctx, workflows.WorkflowID(requestID), "", workflows.StateQuery)
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

// refreshApprovers tells waiting requests that who may decide changed, in
// the background (a team may decide many requests). Failures are logged: a
// request keeps its former approvers until the next refresh or stage.
func (s *Server) refreshApprovers(ctx context.Context, ids []int64, reason string) {
	if len(ids) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	s.background(func() { s.signalRefresh(ctx, ids, reason) })
}

// refreshWaiting finds, in the background, the waiting requests that find
// returns and tells them as refreshApprovers does; a failure to find them
// is logged.
func (s *Server) refreshWaiting(ctx context.Context, find func(context.Context) ([]int64, error), reason string) {
	ctx = context.WithoutCancel(ctx)
	s.background(func() {
		ids, err := find(ctx)
		if err != nil {
			s.log.Warn("finding the waiting requests to refresh failed", "reason", reason, "error", err)
			return
		}
		s.signalRefresh(ctx, ids, reason)
	})
}

// background runs work after the answer, one piece at a time (signals are
// quick; a burst of membership changes queues rather than piling up), and
// Close waits for it.
func (s *Server) background(work func()) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.bgSlot <- struct{}{}
		defer func() { <-s.bgSlot }()
		work()
	}()
}

func (s *Server) signalRefresh(ctx context.Context, ids []int64, reason string) {
	for _, id := range ids {
		err := s.d.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.RefreshApprovers,
			workflows.RefreshApproversInput{Reason: reason})
		if err != nil && !isWorkflowGone(err) {
			s.log.Warn("telling a request its approvers changed failed", "request_id", id, "error", err)
		}
	}
}

func isWorkflowGone(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}
