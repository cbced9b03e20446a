package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/internal/pgtest"
)

func TestSeed_IsIdempotentAndKeepsEdits(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	id, first, err := demo.Seed(ctx, st)
	require.NoError(t, err)

	restart := first.Items[demo.RestartService]
	assert.True(t, restart.RequiresApproval)
	require.NotNil(t, restart.ApproverTeamID)
	assert.Equal(t, id.Teams["sre"].ID, *restart.ApproverTeamID)
	assert.True(t, first.Items[demo.ProvisionEnvironment].IsWorkflow())
	assert.False(t, first.Items[demo.HealthCheck].RequiresApproval)

	long := first.Policies["long-lived environments"]
	assert.Less(t, long.Priority, first.Policies["environments"].Priority, "the ttl_days policy is tried first")
	require.Len(t, long.Stages, 2)
	assert.Equal(t, 2, long.Stages[0].MinApprovers)
	assert.Equal(t, "sre", long.Stages[0].ApproverTeamName)
	assert.Equal(t, "security", long.Stages[1].ApproverTeamName)
	assert.Equal(t, 72*time.Hour, long.Stages[0].Timeout)
	require.Len(t, first.Policies["environments"].Stages, 1)

	// An admin's edit survives the next seeding, and nothing is duplicated.
	_, err = st.DB().ExecContext(ctx, `UPDATE catalog_items SET description = 'edited' WHERE id = $1`, restart.ID)
	require.NoError(t, err)
	_, second, err := demo.Seed(ctx, st)
	require.NoError(t, err)
	assert.Equal(t, "edited", second.Items[demo.RestartService].Description)
	assert.Equal(t, first.Policies, second.Policies)
	for table, want := range map[string]int{"catalog_items": 3, "approval_policies": 2, "users": 6, "teams": 2} {
		var n int
		require.NoError(t, st.DB().GetContext(ctx, &n, `SELECT count(*) FROM `+table))
		assert.Equal(t, want, n, table)
	}
}
