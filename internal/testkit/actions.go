package testkit

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/grpc"
)

// Actions counts what a workflow execution is billed for as Temporal Cloud
// actions, from its history (plus heartbeats, which history does not show).
type Actions struct {
	Starts           int
	ActivityAttempts int
	// LocalActivities counts the workflow tasks that ran local activities
	// (each is one action, however many it ran) and the local
	// activities' retries.
	LocalActivities int
	Timers          int
	Signals         int
	Updates         int
	Upserts         int
	Heartbeats      int
	ByActivity      map[string]int
	HistoryEvents   int
}

// Total is the number of billable actions.
func (a Actions) Total() int {
	return a.Starts + a.ActivityAttempts + a.LocalActivities + a.Timers + a.Signals + a.Updates + a.Upserts + a.Heartbeats
}

// String is a one-line breakdown.
func (a Actions) String() string {
	return fmt.Sprintf("%d actions: %d start, %d activity attempts %v, %d local activities, %d timers, %d signals, %d updates, %d search-attribute upserts, %d heartbeats; %d history events",
		a.Total(), a.Starts, a.ActivityAttempts, a.ByActivity, a.LocalActivities, a.Timers, a.Signals, a.Updates, a.Upserts, a.Heartbeats, a.HistoryEvents)
}

// CountActions counts the actions in a history. Each activity counts once
// per attempt (an activity's started event records its last attempt).
func CountActions(h *historypb.History) Actions {
	a := Actions{ByActivity: map[string]int{}, HistoryEvents: len(h.Events)}
	scheduled := map[int64]string{}
	// Local activities are billed once per workflow task that recorded
	// their markers.
	localTasks := map[int64]bool{}
	for _, ev := range h.Events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			a.Starts++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			attrs := ev.GetActivityTaskStartedEventAttributes()
			n := int(attrs.GetAttempt())
			a.ActivityAttempts += n
			a.ByActivity[scheduled[attrs.GetScheduledEventId()]] += n
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if attrs := ev.GetMarkerRecordedEventAttributes(); attrs.GetMarkerName() == localActivityMarker && !localTasks[attrs.GetWorkflowTaskCompletedEventId()] {
				localTasks[attrs.GetWorkflowTaskCompletedEventId()] = true
				a.LocalActivities++
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			a.LocalActivities += int(ev.GetWorkflowTaskCompletedEventAttributes().GetMeteringMetadata().GetNonfirstLocalActivityExecutionAttempts())
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			a.Timers++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			a.Signals++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			a.Updates++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			a.Upserts++
		}
	}
	return a
}

// localActivityMarker is the name of the marker the Go SDK records a
// local activity's result in.
const localActivityMarker = "LocalActivity"

// HeartbeatCounter counts the activity heartbeats that reach the server
// through a client built with its interceptor.
type HeartbeatCounter struct{ n atomic.Int64 }

// Interceptor is the gRPC dial option that counts.
func (c *HeartbeatCounter) Interceptor() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if strings.HasSuffix(method, "/RecordActivityTaskHeartbeat") || strings.HasSuffix(method, "/RecordActivityTaskHeartbeatById") {
			c.n.Add(1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
}

// Count is how many heartbeats were sent.
func (c *HeartbeatCounter) Count() int { return int(c.n.Load()) }
