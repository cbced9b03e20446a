package awxsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

// A simulator restored from another's state (through JSON) shows the same
// jobs, which go on by the clock, and numbers new jobs after them.
func TestState_RestoreCarriesJobsAcrossARestart(t *testing.T) {
	a := newEnv(t)
	running := id(t, a.launch(awxsim.KindJob, 9, nil), "id")
	canceled := id(t, a.launch(awxsim.KindJob, 9, nil), "id")
	workflow := id(t, a.launch(awxsim.KindWorkflowJob, awxsim.DemoProvisionEnvironmentID, map[string]any{
		"extra_vars": map[string]any{"env_name": "demo", "ttl_days": 1, "db_size": "small"}}), "id")
	a.clock.Advance(2 * time.Second)
	require.Equal(t, http.StatusAccepted, a.do("POST", fmt.Sprintf("/api/v2/jobs/%d/cancel/", canceled), nil).status)
	require.NoError(t, a.sim.SetJobStatus(awxsim.KindWorkflowJob, workflow, awxsim.StatusFailed, "forced"))

	raw, err := json.Marshal(a.sim.State())
	require.NoError(t, err)
	var st awxsim.State
	require.NoError(t, json.Unmarshal(raw, &st))
	b := newEnv(t)
	b.clock.Advance(2 * time.Second)
	require.NoError(t, b.sim.Restore(st))

	paths := []string{fmt.Sprintf("/api/v2/jobs/%d/", running), fmt.Sprintf("/api/v2/jobs/%d/", canceled),
		fmt.Sprintf("/api/v2/workflow_jobs/%d/", workflow), "/api/v2/jobs/", "/api/v2/workflow_jobs/"}
	for _, p := range paths {
		assert.Equal(t, a.get(p), b.get(p), p)
	}
	// Both run on: the job that was running ends as it would have.
	a.clock.Advance(time.Minute)
	b.clock.Advance(time.Minute)
	for _, p := range paths {
		assert.Equal(t, a.get(p), b.get(p), p)
	}
	assert.Equal(t, "successful", b.get(paths[0])["status"])
	assert.Equal(t, "canceled", b.get(paths[1])["status"])
	assert.Equal(t, "failed", b.get(paths[2])["status"])

	assert.Equal(t, workflow+1, id(t, b.launch(awxsim.KindJob, 9, nil), "id"), "new jobs come after the restored ones")
	assert.ErrorContains(t, b.sim.Restore(st), "already has jobs")
	c := newEnv(t, func(c *awxsim.Config) { c.Inventory = &awxsim.Inventory{} })
	assert.ErrorContains(t, c.sim.Restore(st), "which the inventory lacks")
}
