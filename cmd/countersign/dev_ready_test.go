package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readyScript is a start of the stack on a fake clock: each step is ready
// from its time on (never when zero), and the log grows every logEvery
// until logUntil.
type readyScript struct {
	readyAt            []time.Duration
	logEvery, logUntil time.Duration
	failAt             time.Duration
}

// run waits for the script's stack and returns what it said, the error,
// and how long it waited by the fake clock.
func (s readyScript) run(t *testing.T) (said []string, err error, waited time.Duration) {
	t.Helper()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	elapsed := func() time.Duration { return now.Sub(start) }
	steps := []string{"Temporal to answer", "the API to answer", "the worker to poll task queue countersign"}
	r := &readiness{
		every:   200 * time.Millisecond,
		logFile: "/data/countersign.log",
		progress: func() int64 {
			if s.logEvery == 0 {
				return 0
			}
			return int64(min(elapsed(), s.logUntil) / s.logEvery)
		},
		failed: func() error {
			if s.failAt > 0 && elapsed() >= s.failAt {
				return errors.New("worker: connect to PostgreSQL: refused")
			}
			return nil
		},
		say:   func(line string) { said = append(said, line) },
		now:   func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error { now = now.Add(d); return nil },
	}
	for i, what := range steps {
		r.steps = append(r.steps, readyStep{what: what, ready: func(context.Context) (bool, error) {
			return s.readyAt[i] > 0 && elapsed() >= s.readyAt[i], nil
		}})
	}
	err = r.wait(context.Background())
	return said, err, elapsed()
}

func TestReadiness(t *testing.T) {
	t.Run("a quick start says nothing", func(t *testing.T) {
		said, err, _ := readyScript{readyAt: []time.Duration{time.Second, time.Second, 2 * time.Second}}.run(t)
		require.NoError(t, err)
		assert.Empty(t, said)
	})

	t.Run("a slow start is waited for while it makes progress, saying what for", func(t *testing.T) {
		said, err, waited := readyScript{
			readyAt:  []time.Duration{time.Second, 20 * time.Second, 5 * time.Minute},
			logEvery: 40 * time.Second, logUntil: time.Hour,
		}.run(t)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, waited, 5*time.Minute)
		all := strings.Join(said, "\n")
		assert.Contains(t, all, "Waiting for the API to answer")
		assert.Contains(t, all, "Waiting for the worker to poll task queue countersign")
		assert.Contains(t, all, "Still waiting for the worker to poll task queue countersign (1m", "a reminder with the time waited")
		assert.Less(t, len(said), 20, "a line every half minute or so, not every probe")
	})

	t.Run("each step done is progress", func(t *testing.T) {
		_, err, _ := readyScript{readyAt: []time.Duration{90 * time.Second, 180 * time.Second, 270 * time.Second}}.run(t)
		require.NoError(t, err)
	})

	t.Run("a stalled start gives up, naming what it waits for and the log", func(t *testing.T) {
		_, err, waited := readyScript{
			readyAt:  []time.Duration{time.Second, time.Second, 0},
			logEvery: 10 * time.Second, logUntil: 30 * time.Second,
		}.run(t)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "the worker to poll task queue countersign")
		assert.Contains(t, err.Error(), "nothing happened for 2m0s")
		assert.Contains(t, err.Error(), "/data/countersign.log")
		assert.GreaterOrEqual(t, waited, 30*time.Second+2*time.Minute, "two minutes after the last progress")
		assert.Less(t, waited, 30*time.Second+2*time.Minute+time.Second)
	})

	t.Run("progress without an end stops at the ceiling", func(t *testing.T) {
		_, err, waited := readyScript{
			readyAt:  []time.Duration{time.Second, 0, 0},
			logEvery: 10 * time.Second, logUntil: time.Hour,
		}.run(t)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "the API to answer")
		assert.Contains(t, err.Error(), "not ready after 10m0s")
		assert.Contains(t, err.Error(), "/data/countersign.log")
		assert.GreaterOrEqual(t, waited, 10*time.Minute)
		assert.Less(t, waited, 10*time.Minute+time.Second)
	})

	t.Run("a component that stops ends the wait with its error", func(t *testing.T) {
		_, err, waited := readyScript{
			readyAt:  []time.Duration{time.Second, time.Second, 0},
			logEvery: 10 * time.Second, logUntil: time.Hour, failAt: 3 * time.Second,
		}.run(t)
		assert.EqualError(t, err, "worker: connect to PostgreSQL: refused")
		assert.Less(t, waited, 4*time.Second)
	})
}
