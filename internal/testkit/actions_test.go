package testkit

import (
	"testing"

	"github.com/stretchr/testify/assert"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func TestCountActions_LocalActivitiesOncePerWorkflowTask(t *testing.T) {
	marker := func(id, task int64, name string) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_MARKER_RECORDED,
			Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
				MarkerName: name, WorkflowTaskCompletedEventId: task}}}
	}
	completed := func(id int64, retries int32) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
			Attributes: &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{
				MeteringMetadata: &commonpb.MeteringMetadata{NonfirstLocalActivityExecutionAttempts: uint32(retries)}}}}
	}
	h := &historypb.History{Events: []*historypb.HistoryEvent{
		{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED},
		completed(4, 0),
		marker(5, 4, localActivityMarker),
		marker(6, 4, localActivityMarker), // same task: no further action
		marker(7, 4, "Version"),           // GetVersion's marker is no activity
		completed(10, 2),                  // two retries are billed
		marker(11, 10, localActivityMarker),
	}}
	a := CountActions(h)
	assert.Equal(t, 2+2, a.LocalActivities)
	assert.Equal(t, 1+4, a.Total())
	assert.Equal(t, 7, a.HistoryEvents)
}
