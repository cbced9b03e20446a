package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// ReconcilerStore is the part of the store the reconciler uses.
type ReconcilerStore interface {
	UnsettledRequests(ctx context.Context, modifiedBefore time.Time, afterID int64, limit int) ([]store.Request, error)
	RecordRequestState(ctx context.Context, st store.RequestState) (bool, error)
	MarkRequestFailed(ctx context.Context, id int64, reason string, now time.Time) (bool, error)
	SettleAbandonedRequest(ctx context.Context, id int64, a store.Abandonment) (string, error)
}

// Reconciler repairs projection rows that drifted from their workflows: a
// publication lost for good, a request whose workflow never started (the
// API crashed between recording it and starting it), and a request whose
// workflow ended without settling it (an operator terminated it, or it hit
// a workflow timeout), which would otherwise wait in approvers' inboxes
// forever.
//
// It is cheap. Each pass first lists, through Temporal's visibility, the
// workflows of its task queue that were terminated, timed out or failed
// while their RequestStatus search attribute was not final, and settles
// their rows; then it walks unfinished rows left unchanged for a while,
// asks Temporal to describe their workflows, and queries a workflow's
// state only when its search attributes disagree with the row. Listing and
// describing are not billed; queries are.
type Reconciler struct {
	Store  ReconcilerStore
	Client client.Client
	Logger *slog.Logger
	// TaskQueue is the task queue of the requests' workflows; the
	// visibility scan looks only at those. Default workflows.DefaultTaskQueue.
	TaskQueue string
	// Interval between passes; default 5m.
	Interval time.Duration
	// Settle is how long a row must have stayed unchanged to be looked at;
	// default 10m.
	Settle time.Duration
	// Batch bounds the rows looked at per pass; default 200. Passes walk
	// all unfinished rows in turn.
	Batch int

	cursor int64
	// closedSince is where the next visibility scan starts: workflows that
	// closed before it were seen by an earlier scan. Zero: all of them.
	closedSince time.Time
}

// ReconcileStats counts what a pass did: rows walked, repaired from their
// workflow's state, failed because their workflow never existed, and
// settled because their workflow ended without settling them.
type ReconcileStats struct {
	Checked, Repaired, Failed, Settled int
}

// missingWorkflow explains a request failed by the reconciler.
const missingWorkflow = "its workflow does not exist in Temporal (it never started, or was deleted); nothing was launched"

// Run reconciles every Interval until ctx is canceled.
func (r *Reconciler) Run(ctx context.Context) {
	t := time.NewTicker(r.interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st, err := r.Pass(ctx)
			// A pass cut short by the stop is no failure.
			if err != nil && ctx.Err() == nil {
				r.logger().Warn("reconciling the request projection failed", "error", err)
			}
			if st.Repaired+st.Failed+st.Settled > 0 {
				r.logger().Info("reconciled the request projection", "checked", st.Checked, "repaired", st.Repaired,
					"failed", st.Failed, "settled", st.Settled)
			}
		}
	}
}

// Pass settles the requests whose workflows ended without settling them
// since the last scan, then looks at one batch of unsettled rows. A scan
// that fails (visibility unavailable, say) does not stop the walk; its
// error is returned after it.
func (r *Reconciler) Pass(ctx context.Context) (ReconcileStats, error) {
	var stats ReconcileStats
	now := time.Now()
	var scanErr error
	stats.Settled, scanErr = r.settleClosed(ctx, now)
	rows, err := r.Store.UnsettledRequests(ctx, now.Add(-r.settle()), r.cursor, r.batch())
	if err != nil {
		return stats, errors.Join(scanErr, err)
	}
	if len(rows) < r.batch() {
		r.cursor = 0 // the walk is over; start again next time
	} else {
		r.cursor = rows[len(rows)-1].ID
	}
	for _, row := range rows {
		stats.Checked++
		outcome, err := r.reconcile(ctx, row, now)
		if err != nil && ctx.Err() != nil {
			return stats, errors.Join(scanErr, ctx.Err())
		}
		if err != nil {
			r.logger().Warn("reconciling a request failed", "request_id", row.ID, "error", err)
			continue
		}
		switch outcome {
		case repaired:
			stats.Repaired++
		case failed:
			stats.Failed++
		case settled:
			stats.Settled++
		}
	}
	return stats, scanErr
}

// What reconciling one row did.
type outcome int

const (
	unchanged outcome = iota
	repaired
	failed
	settled
)

func (r *Reconciler) reconcile(ctx context.Context, row store.Request, now time.Time) (outcome, error) {
	id := workflows.WorkflowID(row.ID)
	desc, err := r.Client.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		ok, err := r.Store.MarkRequestFailed(ctx, row.ID, missingWorkflow, now)
		return when(ok, failed), err
	}
	if err != nil {
		return unchanged, err
	}
	info := desc.GetWorkflowExecutionInfo()
	status := searchStatus(info.GetSearchAttributes().GetIndexedFields())
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && status == row.Status {
		return unchanged, nil
	}
	if abandoned(info.GetStatus(), status) {
		// Its state stopped mid-way: a query would only repeat it.
		ok, err := r.settleRow(ctx, row.ID, info.GetStatus(), now)
		return when(ok, settled), err
	}
	v, err := r.Client.QueryWorkflow(ctx, id, "", workflows.StateQuery)
	if err != nil {
		return unchanged, err
	}
	var st approval.Request
	if err := v.Get(&st); err != nil {
		return unchanged, err
	}
	applied, err := r.Store.RecordRequestState(ctx, activities.Projection(st, st.Seq))
	return when(applied, repaired), err
}

func when(ok bool, o outcome) outcome {
	if ok {
		return o
	}
	return unchanged
}

// endings are the ways a workflow closes without finishing the request's
// life, with how the request's failure reason names them. A canceled
// workflow is not among them: it cancels the request (or its job) and
// publishes the outcome before it closes.
var endings = map[enumspb.WorkflowExecutionStatus]struct{ visibility, words string }{
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED: {"Terminated", "was terminated"},
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:  {"TimedOut", "timed out"},
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:     {"Failed", "failed"},
}

// abandoned reports whether a workflow that closed this way, with this
// RequestStatus search attribute, left its request unsettled for good.
func abandoned(closed enumspb.WorkflowExecutionStatus, requestStatus string) bool {
	_, ended := endings[closed]
	return ended && !approval.Status(requestStatus).Terminal()
}

// settleRow settles a request whose workflow closed this way: canceled if
// nothing was launched, else failed, with a reason saying what happened.
func (r *Reconciler) settleRow(ctx context.Context, id int64, closed enumspb.WorkflowExecutionStatus, now time.Time) (bool, error) {
	how := "its workflow " + endings[closed].words + " in Temporal"
	status, err := r.Store.SettleAbandonedRequest(ctx, id, store.Abandonment{
		Reason: how + " before anything was launched",
		LaunchedReason: how + " after a launch was sent to AWX; " +
			"Countersign no longer follows the job, which may still be running: check it in AWX",
		At: now,
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // deleted meanwhile (only possible before launch)
	}
	if status != "" {
		r.logger().Warn("settled a request whose workflow ended without settling it",
			"request_id", id, "workflow_status", closed.String(), "status", status)
	}
	return status != "", err
}

// visibilityLag is how far back each scan reaches before the previous one
// started, so that a workflow closed just before a scan but listed only
// after it is still found.
const visibilityLag = 5 * time.Minute

// settleClosed settles the requests whose workflows (on the reconciler's
// task queue) were terminated, timed out or failed while the request was
// unsettled, as Temporal's visibility lists them, and returns how many it
// settled. Each scan reaches back to shortly before the previous one; the
// first reaches back through the namespace's retention.
func (r *Reconciler) settleClosed(ctx context.Context, now time.Time) (int, error) {
	statuses := make([]string, 0, len(endings))
	for _, e := range endings {
		statuses = append(statuses, fmt.Sprintf("%q", e.visibility))
	}
	slices.Sort(statuses)
	unsettled := []string{}
	for _, st := range approval.Statuses {
		if !st.Terminal() {
			unsettled = append(unsettled, fmt.Sprintf("%q", st))
		}
	}
	query := fmt.Sprintf("WorkflowType = %q AND TaskQueue = %q AND ExecutionStatus IN (%s) AND %s IN (%s)",
		workflows.WorkflowType, r.taskQueue(), strings.Join(statuses, ", "), workflows.RequestStatusKey.GetName(), strings.Join(unsettled, ", "))
	if !r.closedSince.IsZero() {
		query += fmt.Sprintf(" AND CloseTime >= %q", r.closedSince.UTC().Format(time.RFC3339))
	}
	n := 0
	var token []byte
	for {
		resp, err := r.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return n, fmt.Errorf("listing ended workflows: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			id, err := workflows.RequestID(info.GetExecution().GetWorkflowId())
			if err != nil {
				continue
			}
			ok, err := r.settleRow(ctx, id, info.GetStatus(), now)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	r.closedSince = now.Add(-visibilityLag)
	return n, nil
}

func (r *Reconciler) taskQueue() string {
	if r.TaskQueue != "" {
		return r.TaskQueue
	}
	return workflows.DefaultTaskQueue
}

// searchStatus reads the RequestStatus search attribute.
func searchStatus(fields map[string]*commonpb.Payload) string {
	p, ok := fields[workflows.RequestStatusKey.GetName()]
	if !ok {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

func (r *Reconciler) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Reconciler) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return 5 * time.Minute
}

func (r *Reconciler) settle() time.Duration {
	if r.Settle > 0 {
		return r.Settle
	}
	return 10 * time.Minute
}

func (r *Reconciler) batch() int {
	if r.Batch > 0 {
		return r.Batch
	}
	return 200
}
