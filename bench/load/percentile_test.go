package load

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile_NearestRank(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	r := Result{Latencies: durations(hundred...)}
	for p, want := range map[float64]int{0: 1, 1: 1, 50: 50, 90: 90, 99: 99, 99.5: 100, 100: 100, 150: 100, -5: 1} {
		assert.Equal(t, time.Duration(want)*time.Millisecond, r.Percentile(p), "p%v", p)
	}
	assert.Equal(t, 100*time.Millisecond, r.Max())

	three := Result{Latencies: durations(10, 20, 30)}
	assert.Equal(t, 10*time.Millisecond, three.Percentile(33), "ceil(0.99) = rank 1")
	assert.Equal(t, 20*time.Millisecond, three.Percentile(34), "ceil(1.02) = rank 2")
	assert.Equal(t, 20*time.Millisecond, three.Percentile(50))
	assert.Equal(t, 30*time.Millisecond, three.Percentile(99))

	one := Result{Latencies: durations(7)}
	assert.Equal(t, 7*time.Millisecond, one.Percentile(50))
	assert.Equal(t, 7*time.Millisecond, one.Percentile(99))

	var none Result
	assert.Zero(t, none.Percentile(50))
	assert.Zero(t, none.Max())
	assert.Zero(t, none.RPS())
}

func TestMerge_SortsAndSums(t *testing.T) {
	res := merge("x", 2*time.Second, []sample{
		{latencies: durations(30, 10), calls: 3, kinds: map[string]int{"http 409": 1}, samples: map[string]string{"http 409": "first"}},
		{latencies: durations(20), calls: 3, kinds: map[string]int{"http 409": 1, "timeout": 1},
			samples: map[string]string{"http 409": "second", "timeout": "slow"}, exhausted: true},
	})
	assert.Equal(t, durations(10, 20, 30), res.Latencies)
	assert.Equal(t, 6, res.Calls)
	assert.Equal(t, 3, res.Errors)
	assert.Equal(t, map[string]int{"http 409": 2, "timeout": 1}, res.ErrorKinds)
	assert.Equal(t, "first", res.ErrorSamples["http 409"], "the first worker's sample is kept")
	assert.True(t, res.Exhausted)
	assert.InDelta(t, 3.0, res.RPS(), 1e-9)
}
