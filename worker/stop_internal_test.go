package worker

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/countersign/countersign/activities"
)

// activityReturning is an activity that returns err once ctx is done.
type activityReturning struct {
	interceptor.ActivityInboundInterceptorBase
	err error
}

func (a *activityReturning) ExecuteActivity(ctx context.Context, _ *interceptor.ExecuteActivityInput) (any, error) {
	<-ctx.Done()
	return nil, a.err
}

// An activity that the worker's stop cuts short (its context canceled
// with the SDK's ErrWorkerShutdown when WorkerStopTimeout runs out) hands
// over like a poll does: retryable at once, benign so the SDK does not log
// it as an error. Other cancellations keep their error.
func TestStopInterceptor(t *testing.T) {
	run := func(cause error, actErr error) error {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(cause)
		act := (&stopInterceptor{}).InterceptActivity(ctx, &activityReturning{err: actErr})
		_, err := act.ExecuteActivity(ctx, &interceptor.ExecuteActivityInput{})
		return err
	}
	for _, actErr := range []error{context.Canceled, errors.New("reading the job: context canceled")} {
		err := run(sdkworker.ErrWorkerShutdown, actErr)
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		assert.Equal(t, activities.ErrTypeWorkerStopped, app.Type())
		assert.False(t, app.NonRetryable())
		assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
		assert.Positive(t, app.NextRetryDelay())
	}
	assert.ErrorIs(t, run(context.Canceled, context.Canceled), context.Canceled, "canceled by Temporal: unchanged")
	assert.NoError(t, run(sdkworker.ErrWorkerShutdown, nil), "a result is a result")
}
