package requests

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// describeOnly answers DescribeTaskQueue, with a worker polling when
// polled is set, once release is closed (at once when nil), telling
// entered when a call begins.
type describeOnly struct {
	client.Client
	polled  atomic.Bool
	calls   atomic.Int32
	fail    error
	release chan struct{}
	entered chan struct{}
}

func (d *describeOnly) DescribeTaskQueue(ctx context.Context, _ string, _ enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	d.calls.Add(1)
	if d.entered != nil {
		d.entered <- struct{}{}
	}
	if d.release != nil {
		select {
		case <-d.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if d.fail != nil {
		return nil, d.fail
	}
	resp := &workflowservice.DescribeTaskQueueResponse{}
	if d.polled.Load() {
		resp.Pollers = []*taskqueuepb.PollerInfo{{LastAccessTime: timestamppb.Now()}}
	}
	return resp, nil
}

type probeAnswer struct {
	alive bool
	err   error
}

func probeAsync(w *workerProbe) chan probeAnswer {
	out := make(chan probeAnswer, 1)
	go func() {
		alive, err := w.workersAlive(context.Background())
		out <- probeAnswer{alive, err}
	}()
	return out
}

// answered waits for a caller's answer; the guard only keeps a caller
// that never answers from hanging the test.
func answered(t *testing.T, ch chan probeAnswer, what string) probeAnswer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never answered", what)
		return probeAnswer{}
	}
}

// expire makes w's last answer older than it is trusted for.
func expire(w *workerProbe) {
	w.mu.Lock()
	w.checked = time.Now().Add(-aliveFor - time.Second)
	w.mu.Unlock()
}

// While one caller asks Temporal again, a worker seen alive a moment ago
// still counts for the others: a decision does not wait for another's
// probe (every decision and detail asks; the probe is slowest when
// Temporal is busiest).
func TestWorkerProbe_OthersDoNotWaitForAProbeWhileAWorkerWasJustSeen(t *testing.T) {
	d := &describeOnly{}
	d.polled.Store(true)
	w := newWorkerProbe(d, "q")
	alive, err := w.workersAlive(context.Background())
	require.NoError(t, err)
	require.True(t, alive)

	expire(w)
	d.release, d.entered = make(chan struct{}), make(chan struct{}, 2)
	asking := probeAsync(w)
	<-d.entered
	other := answered(t, probeAsync(w), "a caller while another asked")
	assert.Equal(t, probeAnswer{alive: true}, other)
	assert.Empty(t, asking, "answered while the probe was still out")
	assert.EqualValues(t, 2, d.calls.Load(), "the other caller did not ask again")

	close(d.release)
	assert.Equal(t, probeAnswer{alive: true}, answered(t, asking, "the asking caller"))
}

// Without a recent "alive" (none yet, or no worker last time), callers
// wait for the probe in flight and share its answer.
func TestWorkerProbe_WithoutARecentWorkerCallersShareOneProbe(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*workerProbe, *describeOnly)
	}{
		{"never asked", func(*workerProbe, *describeOnly) {}},
		{"no worker last time", func(w *workerProbe, d *describeOnly) {
			alive, err := w.workersAlive(context.Background())
			require.NoError(t, err)
			require.False(t, alive)
			w.mu.Lock()
			w.checked = time.Now().Add(-deadFor - time.Second)
			w.mu.Unlock()
			d.calls.Store(0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &describeOnly{}
			w := newWorkerProbe(d, "q")
			tc.setup(w, d)
			d.polled.Store(true)
			d.release, d.entered = make(chan struct{}), make(chan struct{}, 2)
			first := probeAsync(w)
			<-d.entered
			second := probeAsync(w)
			close(d.release)
			assert.Equal(t, probeAnswer{alive: true}, answered(t, first, "the first caller"))
			assert.Equal(t, probeAnswer{alive: true}, answered(t, second, "the second caller"))
			assert.EqualValues(t, 1, d.calls.Load(), "one probe for both")
		})
	}
}

// A probe that fails answers its error and is not remembered: the next
// caller asks again.
func TestWorkerProbe_AFailedProbeIsAskedAgain(t *testing.T) {
	d := &describeOnly{fail: errors.New("connection refused")}
	w := newWorkerProbe(d, "q")
	_, err := w.workersAlive(context.Background())
	require.Error(t, err)
	d.fail = nil
	d.polled.Store(true)
	alive, err := w.workersAlive(context.Background())
	require.NoError(t, err)
	assert.True(t, alive)
	assert.EqualValues(t, 2, d.calls.Load())
}
