package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

func TestRemindedAt(t *testing.T) {
	opened := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	assert.Equal(t, []time.Time{opened.Add(24 * time.Hour), opened.Add(48 * time.Hour)}, remindedAt(&opened, 24*time.Hour, 2))
	assert.Equal(t, []time.Time{}, remindedAt(&opened, time.Hour, 0), "none sent: an empty list, not null")
	assert.Equal(t, []time.Time{}, remindedAt(nil, time.Hour, 1), "a stage that never opened")
}

// A stage's deadline warnings reach the detail as the workflow keeps
// them, and as an empty list when it sent none.
func TestRequestDetail_Warnings(t *testing.T) {
	opened := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	plan := approval.Plan{Source: approval.PlanFromPolicy, Stages: []approval.Stage{
		{Name: "SRE", Order: 1, MinApprovers: 1, Timeout: approval.Duration(24 * time.Hour), WarnBefore: approval.Duration(4 * time.Hour)},
		{Name: "Security", Order: 2, MinApprovers: 1, Timeout: approval.Duration(24 * time.Hour)},
	}}
	st := approval.NewRequest(7, approval.Ref{ID: 1, Name: "acme"}, approval.Ref{ID: 2, Name: "Restart"}, "alice", "why", plan, opened)
	st.OpenStage(0, approval.Roster{TeamMembers: []string{}, OrgAdmins: []string{"erin"}, Superusers: []string{}}, opened)
	_, ok := st.Warn(opened.Add(20 * time.Hour))
	require.True(t, ok)
	d := requestDetail(store.Request{ID: 7}, st, requests.Capabilities{})
	assert.Equal(t, []time.Time{opened.Add(20 * time.Hour)}, d.Stages[0].Warnings)
	assert.Equal(t, []time.Time{}, d.Stages[1].Warnings)
}
