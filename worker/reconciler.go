package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
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
}

// Reconciler repairs projection rows that drifted from their workflows: a
// publication lost for good, or a request whose workflow never started
// (the API crashed between recording it and starting it). It is cheap: it
// only looks at unfinished rows left unchanged for a while, asks Temporal
// to describe their workflows (which is not billed), and queries a
// workflow's state only when its search attributes disagree with the row.
type Reconciler struct {
	Store  ReconcilerStore
	Client client.Client
	Logger *slog.Logger
	// Interval between passes; default 5m.
	Interval time.Duration
	// Settle is how long a row must have stayed unchanged to be looked at;
	// default 10m.
	Settle time.Duration
	// Batch bounds the rows looked at per pass; default 200. Passes walk
	// all unfinished rows in turn.
	Batch int

	cursor int64
}

// ReconcileStats counts what a pass did.
type ReconcileStats struct {
	Checked, Repaired, Failed int
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
			if st, err := r.Pass(ctx); err != nil {
				r.logger().Warn("reconciling the request projection failed", "error", err)
			} else if st.Repaired+st.Failed > 0 {
				r.logger().Info("reconciled the request projection", "checked", st.Checked, "repaired", st.Repaired, "failed", st.Failed)
			}
		}
	}
}

// Pass looks at one batch of unsettled rows.
func (r *Reconciler) Pass(ctx context.Context) (ReconcileStats, error) {
	var stats ReconcileStats
	now := time.Now()
	rows, err := r.Store.UnsettledRequests(ctx, now.Add(-r.settle()), r.cursor, r.batch())
	if err != nil {
		return stats, err
	}
	if len(rows) < r.batch() {
		r.cursor = 0 // the walk is over; start again next time
	} else {
		r.cursor = rows[len(rows)-1].ID
	}
	for _, row := range rows {
		stats.Checked++
		repaired, failed, err := r.reconcile(ctx, row, now)
		if err != nil {
			r.logger().Warn("reconciling a request failed", "request_id", row.ID, "error", err)
			continue
		}
		if repaired {
			stats.Repaired++
		}
		if failed {
			stats.Failed++
		}
	}
	return stats, nil
}

func (r *Reconciler) reconcile(ctx context.Context, row store.Request, now time.Time) (repaired, failed bool, err error) {
	id := workflows.WorkflowID(row.ID)
	desc, err := r.Client.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		failed, err := r.Store.MarkRequestFailed(ctx, row.ID, missingWorkflow, now)
		return false, failed, err
	}
	if err != nil {
		return false, false, err
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && searchStatus(info.GetSearchAttributes().GetIndexedFields()) == row.Status {
		return false, false, nil
	}
	v, err := r.Client.QueryWorkflow(ctx, id, "", workflows.StateQuery)
	if err != nil {
		return false, false, err
	}
	var st approval.Request
	if err := v.Get(&st); err != nil {
		return false, false, err
	}
	applied, err := r.Store.RecordRequestState(ctx, activities.Projection(st, st.Seq))
	return applied, false, err
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
