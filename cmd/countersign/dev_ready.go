package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/countersign/countersign/codec"
)

// awaitReady waits until the API answers and a worker polls the task
// queue, so that everything the banner offers works at once, telling
// stdout what it waits for when that takes a while; errc reports a
// component that failed to start.
func (d *devStack) awaitReady(ctx context.Context, errc chan error, stdout io.Writer) error {
	ring, err := d.cfg.PayloadRing()
	if err != nil {
		return err
	}
	var c client.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	ping := "http://" + d.cfg.HTTPAddr + "/api/v2/ping/"
	// Each probe is bounded, so that the wait keeps judging progress.
	const probeTimeout = 5 * time.Second
	r := &readiness{
		steps: []readyStep{
			{what: "Temporal to answer at " + d.temporal.HostPort, ready: func(ctx context.Context) (bool, error) {
				ctx, cancel := context.WithTimeout(ctx, probeTimeout)
				defer cancel()
				var err error
				c, err = client.DialContext(ctx, client.Options{HostPort: d.temporal.HostPort, Namespace: d.temporal.Namespace,
					Logger: sdklog.NewStructuredLogger(d.logger), DataConverter: codec.DataConverter(ring)})
				return err == nil, nil
			}},
			{what: "the API to answer at " + ping, ready: func(ctx context.Context) (bool, error) {
				ctx, cancel := context.WithTimeout(ctx, probeTimeout)
				defer cancel()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, ping, nil)
				if err != nil {
					return false, err
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return false, nil
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK, nil
			}},
			{what: fmt.Sprintf("the worker to poll task queue %q", d.cfg.TaskQueue), ready: func(ctx context.Context) (bool, error) {
				ctx, cancel := context.WithTimeout(ctx, probeTimeout)
				defer cancel()
				resp, err := c.DescribeTaskQueue(ctx, d.cfg.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
				return err == nil && len(resp.GetPollers()) > 0, nil
			}},
		},
		every:    200 * time.Millisecond,
		progress: d.logged.Load,
		say:      func(line string) { fmt.Fprintln(stdout, line) },
		logFile:  filepath.Join(d.o.Dev.DataDir, "countersign.log"),
		failed: func() error {
			select {
			case err := <-errc:
				errc <- err // counted by the caller
				if err == nil {
					err = errors.New("a component stopped while starting")
				}
				return err
			default:
				return nil
			}
		},
		now:   time.Now,
		sleep: sleepCtx,
	}
	return r.wait(ctx)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readyStep is one thing `countersign dev` waits for before it prints its
// banner.
type readyStep struct {
	// what is waited for, as the terminal shows it: "the API to answer".
	what string
	// ready reports whether it is there; an error is fatal.
	ready func(ctx context.Context) (bool, error)
}

// Limits of readiness. A busy machine may take minutes to start the
// stack, so there is no fixed limit short of readyCeiling: the wait goes
// on while something happens (a step done, a line logged) and gives up
// after readyIdle without anything.
const (
	readyIdle    = 2 * time.Minute
	readyCeiling = 10 * time.Minute
	// readyQuiet is how long a step may take before the terminal is told
	// what is awaited (a normal start says nothing), readyRemind how often
	// it is told again.
	readyQuiet  = 3 * time.Second
	readyRemind = 30 * time.Second
)

// readiness waits for its steps in turn, for as long as the stack makes
// progress (see readyIdle and readyCeiling).
type readiness struct {
	steps []readyStep
	// every is how often a step is probed.
	every time.Duration
	// progress is a count that grows while the stack makes progress (the
	// records it has logged).
	progress func() int64
	// failed returns the error of a component that stopped while
	// starting, without waiting; nil while all run.
	failed func() error
	// say tells the terminal what is awaited.
	say func(line string)
	// logFile is named when the wait gives up.
	logFile string
	// now and sleep are the clock; tests pass their own.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// wait returns once every step is ready, or the reason it gave up: a
// component's error, ctx's end, no progress for readyIdle, or
// readyCeiling reached.
func (r *readiness) wait(ctx context.Context) error {
	start := r.now()
	lastProgress, seen := start, r.progress()
	for _, s := range r.steps {
		since, told := r.now(), time.Time{}
		for {
			ok, err := s.ready(ctx)
			if err != nil {
				return err
			}
			if ok {
				break
			}
			if err := r.failed(); err != nil {
				return err
			}
			now := r.now()
			if p := r.progress(); p != seen {
				seen, lastProgress = p, now
			}
			switch {
			case now.Sub(lastProgress) >= readyIdle:
				return fmt.Errorf("gave up waiting for %s: nothing happened for %s (no step done, nothing logged); see %s",
					s.what, readyIdle, r.logFile)
			case now.Sub(start) >= readyCeiling:
				return fmt.Errorf("gave up waiting for %s: not ready after %s, although the stack kept logging; see %s",
					s.what, readyCeiling, r.logFile)
			case told.IsZero() && now.Sub(since) >= readyQuiet:
				r.tell(fmt.Sprintf("Waiting for %s...", s.what))
				told = now
			case !told.IsZero() && now.Sub(told) >= readyRemind:
				r.tell(fmt.Sprintf("Still waiting for %s (%s so far)...", s.what, now.Sub(since).Round(time.Second)))
				told = now
			}
			if err := r.sleep(ctx, r.every); err != nil {
				return err
			}
		}
		lastProgress = r.now() // a step done is progress
	}
	return nil
}

func (r *readiness) tell(line string) {
	if r.say != nil {
		r.say(line)
	}
}

// countingHandler counts the records its handler writes: the stack's
// sign of life while it starts.
type countingHandler struct {
	slog.Handler
	n *atomic.Int64
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	h.n.Add(1)
	return h.Handler.Handle(ctx, r)
}

func (h countingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return countingHandler{h.Handler.WithAttrs(attrs), h.n}
}

func (h countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{h.Handler.WithGroup(name), h.n}
}
