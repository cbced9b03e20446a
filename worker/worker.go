// Package worker runs Countersign's Temporal worker: the ServiceRequest
// workflow and its activities on one task queue. `countersign worker`,
// `countersign dev` and the end-to-end tests all start it through Run.
package worker

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/workflows"
)

// Register registers the ServiceRequest workflow (under its contract name)
// and the activities on w. Replayers and test environments use it too, so
// that they always see what a real worker runs. The workflow's update
// validators judge decisions sent through Temporal by the same settings
// as the activities (acts.Decisions, acts.APIKeys).
func Register(w sdkworker.Registry, acts *activities.Activities) {
	guard := workflows.Guard{Decisions: acts.Decisions, APIKeys: acts.APIKeys}
	w.RegisterWorkflowWithOptions(guard.ServiceRequest, workflow.RegisterOptions{Name: workflows.WorkflowType})
	w.RegisterActivity(acts)
}

// Run polls taskQueue until ctx is canceled, then stops the worker: polls
// hand their jobs over at once (activities.WorkerStopped), other running
// activities get opts.WorkerStopTimeout to finish and then fail the same
// way (retryable, not logged as errors). A worker that can no longer poll
// (a fatal error) ends Run with that error instead of leaving a process
// that looks alive.
func Run(ctx context.Context, c client.Client, taskQueue string, acts *activities.Activities, opts sdkworker.Options) error {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	opts.Interceptors = append(opts.Interceptors, &stopInterceptor{})
	w := sdkworker.New(c, taskQueue, opts)
	Register(w, acts)
	stop, done := make(chan interface{}), make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			close(stop)
		case <-done:
		}
	}()
	if err := w.Run(stop); err != nil {
		return fmt.Errorf("worker on task queue %q: %w", taskQueue, err)
	}
	return nil
}

// stopInterceptor turns the error of an activity that the worker's stop
// cut short (the SDK cancels what still runs after WorkerStopTimeout, with
// cause ErrWorkerShutdown) into activities.WorkerStopped, which the SDK does
// not log as an error, since a clean stop is none, and Temporal retries at
// once if the failure reaches it before the process ends (else the
// activity's timeout notices it).
type stopInterceptor struct {
	interceptor.WorkerInterceptorBase
}

// InterceptActivity implements interceptor.WorkerInterceptor.
func (*stopInterceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &stopActivity{}
	a.Next = next
	return a
}

type stopActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *stopActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := a.Next.ExecuteActivity(ctx, in)
	if err != nil && errors.Is(context.Cause(ctx), sdkworker.ErrWorkerShutdown) {
		return nil, activities.WorkerStopped("the activity ran")
	}
	return res, err
}
