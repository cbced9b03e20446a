package throughput_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/bench/load"
	"github.com/countersign/countersign/bench/throughput"
)

func TestReport(t *testing.T) {
	r := throughput.Report{
		Concurrency: 16, Duration: 20 * time.Second, Pollers: "autoscaling",
		Trivial: throughput.Phase{Name: "trivial workflow", Result: load.Result{Calls: 2000, Elapsed: 20 * time.Second,
			Latencies: []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 900 * time.Millisecond}},
			ServerCPU: 15 * time.Second, ProcessCPU: 5 * time.Second},
		// Failed lifecycles do not count towards the rate.
		Lifecycle: throughput.Phase{Name: "request lifecycle", Result: load.Result{Calls: 260, Errors: 10, Elapsed: 25 * time.Second},
			ServerCPU: 20 * time.Second, ProcessCPU: 10 * time.Second, DatabaseCPU: 5 * time.Second, DatabaseMeasured: true},
		Compared: []throughput.Phase{{Name: "lifecycle, before", Result: load.Result{Calls: 100, Elapsed: 20 * time.Second},
			ServerCPU: 20 * time.Second}},
	}
	assert.InDelta(t, 100, r.Trivial.Rate(), 1e-9)
	assert.InDelta(t, 10, r.Lifecycle.Rate(), 1e-9)
	assert.InDelta(t, 0.1, r.Ratio(), 1e-9)

	var out strings.Builder
	require.NoError(t, r.Write(&out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 5)
	assert.Contains(t, lines[0], "concurrency 16, 20s per phase, worker pollers autoscaling")
	assert.Contains(t, lines[1], "trivial workflow:")
	assert.Contains(t, lines[1], "100.0/s")
	assert.Contains(t, lines[1], "each p50 150ms, p99 900ms")
	assert.Contains(t, lines[1], "Temporal server 15.0s = 75% of a core, 7.5 ms each")
	assert.Contains(t, lines[2], "10.0/s  (250 completed, 10 failed in 25.0s")
	assert.Contains(t, lines[2], "80.0 ms each", "the server's CPU per completed lifecycle, failures left out")
	assert.Contains(t, lines[2], "PostgreSQL 5.0s = 20%, 20.0 ms each)")
	assert.NotContains(t, lines[1], "PostgreSQL", "not measured, not shown")
	assert.Contains(t, lines[3], "lifecycle, before:")
	assert.Contains(t, lines[3], "5.0/s  (100 completed")
	assert.Equal(t, "lifecycle/trivial ratio: 0.10", lines[4])
}

func TestReport_NothingMeasured(t *testing.T) {
	var r throughput.Report
	assert.Zero(t, r.Trivial.Rate())
	assert.Zero(t, r.Ratio(), "no division by zero")
	assert.Zero(t, r.Lifecycle.ServerCPUEach(), "no division by zero")
}
