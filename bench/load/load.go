// Package load is a small HTTP load generator: a fixed number of workers
// call a scenario's function back to back for a duration or a number of
// calls, and each call's latency and outcome are recorded. Percentiles are
// exact (every latency is kept and sorted), which is cheap for the few
// hundred thousand calls a run makes.
//
//	ping := load.Scenario{Name: "ping", Call: func(ctx context.Context, c *http.Client) error {
//		_, err := load.Do(ctx, c, load.Request{Method: "GET", URL: base + "/api/v2/ping/"}, http.StatusOK)
//		return err
//	}}
//	res, err := load.Run(ctx, load.Options{Concurrency: 8, Duration: 20 * time.Second}, ping)
//	load.WriteTable(os.Stdout, []load.Result{res})
package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Call is one operation of a scenario. It returns nil on success, a
// *StatusError when the server answered with an unexpected status, or
// ErrExhausted when the scenario has no more work to give (that call is not
// counted). Calls are made concurrently and must be safe for that.
type Call func(ctx context.Context, c *http.Client) error

// Scenario is a named operation to measure.
type Scenario struct {
	Name string
	Call Call
}

// ErrExhausted ends a worker without counting the call: a scenario whose
// work is prepared in advance (requests to approve, say) returns it once
// all of it was handed out.
var ErrExhausted = errors.New("load: scenario exhausted")

// Options configure a run. At least one of Duration and Calls must be set;
// with both, the run ends at whichever comes first.
type Options struct {
	// Concurrency is the number of workers, each making one call at a
	// time. Default 1.
	Concurrency int
	// Duration stops workers from starting new calls once it has passed.
	// Calls in flight then still complete and count, so that the slowest
	// calls of the run are not cut off from the percentiles.
	Duration time.Duration
	// Calls bounds the number of calls started.
	Calls int
	// Client makes the calls. Default NewClient(Concurrency).
	Client *http.Client
}

// NewClient is an HTTP client keeping up to concurrency idle connections
// per host, so that workers reuse connections instead of opening one per
// call (the default transport keeps two, which would measure TCP set-up).
func NewClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(concurrency, 1) * 2
	t.MaxIdleConnsPerHost = max(concurrency, 1) * 2
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// Result is what a run measured.
type Result struct {
	Scenario string
	// Calls counts completed calls, successful or not.
	Calls int
	// Errors counts failed calls; ErrorKinds breaks them down by Kind and
	// ErrorSamples keeps the first error of each kind, to say what failed.
	Errors       int
	ErrorKinds   map[string]int
	ErrorSamples map[string]string
	// Elapsed is from the start of the run until the last worker stopped.
	Elapsed time.Duration
	// Latencies of the successful calls, sorted. Failed calls are left out
	// so that fast refusals do not flatter the percentiles.
	Latencies []time.Duration
	// Exhausted tells that the scenario ran out of work before the run's
	// limits were reached.
	Exhausted bool
}

// RPS is the throughput: completed calls per second of the run.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Calls) / r.Elapsed.Seconds()
}

// Percentile is the nearest-rank percentile of the successful calls'
// latencies: the smallest latency that at least p percent of them do not
// exceed. p is clamped to [0, 100]; with no successful call it is 0.
func (r Result) Percentile(p float64) time.Duration {
	return percentile(r.Latencies, p)
}

// Max is the slowest successful call.
func (r Result) Max() time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[len(r.Latencies)-1]
}

// percentile expects sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	p = min(max(p, 0), 100)
	// Nearest rank: ceil(p/100 * n), 1-based; p = 0 is the minimum.
	rank := int(p / 100 * float64(n))
	if float64(rank) < p/100*float64(n) {
		rank++
	}
	return sorted[min(max(rank, 1), n)-1]
}

// sample is one worker's record; workers never share one, so recording
// takes no lock.
type sample struct {
	latencies []time.Duration
	calls     int
	kinds     map[string]int
	samples   map[string]string
	exhausted bool
}

// Run runs sc with opts and returns what it measured. Canceling ctx stops
// the run early (calls in flight see the cancellation).
func Run(ctx context.Context, opts Options, sc Scenario) (Result, error) {
	if opts.Duration <= 0 && opts.Calls <= 0 {
		return Result{}, fmt.Errorf("load: scenario %s: set a duration or a number of calls", sc.Name)
	}
	workers := max(opts.Concurrency, 1)
	client := opts.Client
	if client == nil {
		client = NewClient(workers)
	}
	var (
		started  atomic.Int64
		deadline time.Time
		wg       sync.WaitGroup
	)
	start := time.Now()
	if opts.Duration > 0 {
		deadline = start.Add(opts.Duration)
	}
	// more claims the right to start one more call.
	more := func() bool {
		if ctx.Err() != nil || (!deadline.IsZero() && !time.Now().Before(deadline)) {
			return false
		}
		return opts.Calls <= 0 || started.Add(1) <= int64(opts.Calls)
	}
	records := make([]sample, workers)
	for w := range records {
		wg.Add(1)
		go func(rec *sample) {
			defer wg.Done()
			rec.kinds, rec.samples = map[string]int{}, map[string]string{}
			for more() {
				t0 := time.Now()
				err := sc.Call(ctx, client)
				took := time.Since(t0)
				if errors.Is(err, ErrExhausted) {
					rec.exhausted = true
					return
				}
				rec.calls++
				if err == nil {
					rec.latencies = append(rec.latencies, took)
					continue
				}
				k := Kind(err)
				if rec.kinds[k] == 0 {
					rec.samples[k] = err.Error()
				}
				rec.kinds[k]++
			}
		}(&records[w])
	}
	wg.Wait()
	return merge(sc.Name, time.Since(start), records), nil
}

// merge combines the workers' records.
func merge(name string, elapsed time.Duration, records []sample) Result {
	res := Result{Scenario: name, Elapsed: elapsed, ErrorKinds: map[string]int{}, ErrorSamples: map[string]string{}}
	for _, rec := range records {
		res.Calls += rec.calls
		res.Latencies = append(res.Latencies, rec.latencies...)
		res.Exhausted = res.Exhausted || rec.exhausted
		for k, n := range rec.kinds {
			res.Errors += n
			res.ErrorKinds[k] += n
			if _, ok := res.ErrorSamples[k]; !ok {
				res.ErrorSamples[k] = rec.samples[k]
			}
		}
	}
	slices.Sort(res.Latencies)
	return res
}
