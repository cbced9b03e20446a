// Package throughput reports the rates `make bench-throughput` measures:
// how many trivial workflows and how many full request lifecycles one
// Temporal server completes per second at the same concurrency, their
// ratio, and where the CPU went meanwhile.
package throughput

import (
	"fmt"
	"io"
	"time"

	"github.com/countersign/countersign/bench/load"
)

// Phase is one measured phase: its load result and the CPU time the
// Temporal server, this process (worker, API, simulator and clients) and
// PostgreSQL used during it.
type Phase struct {
	Name       string
	Result     load.Result
	ServerCPU  time.Duration
	ProcessCPU time.Duration
	// DatabaseCPU is PostgreSQL's, all its processes'; DatabaseMeasured is
	// false when it runs elsewhere.
	DatabaseCPU      time.Duration
	DatabaseMeasured bool
}

// Rate is the completed (successful) operations per second of the phase.
func (p Phase) Rate() float64 {
	if p.Result.Elapsed <= 0 {
		return 0
	}
	return float64(p.Result.Calls-p.Result.Errors) / p.Result.Elapsed.Seconds()
}

// ServerCPUEach is the Temporal server's CPU time per completed operation;
// 0 when none completed.
func (p Phase) ServerCPUEach() time.Duration {
	return p.each(p.ServerCPU)
}

// each is cpu per completed operation; 0 when none completed.
func (p Phase) each(cpu time.Duration) time.Duration {
	if done := p.Result.Calls - p.Result.Errors; done > 0 {
		return cpu / time.Duration(done)
	}
	return 0
}

// Report is a whole run.
type Report struct {
	Concurrency int
	Duration    time.Duration
	// Pollers says how the workers polled for tasks (autoscaling, fixed).
	Pollers   string
	Trivial   Phase
	Lifecycle Phase
	// Compared are further lifecycle phases measured in the same run for
	// comparison (an earlier workflow revision); they are printed, not
	// part of the ratio.
	Compared []Phase
}

// Ratio is the lifecycle rate over the trivial rate; 0 without a trivial
// rate.
func (r Report) Ratio() float64 {
	if t := r.Trivial.Rate(); t > 0 {
		return r.Lifecycle.Rate() / t
	}
	return 0
}

// Write prints the report; its last line is "lifecycle/trivial ratio:
// 0.NN", for scripts.
func (r Report) Write(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "throughput on one Temporal dev server, concurrency %d, %s per phase, worker pollers %s:\n", r.Concurrency, r.Duration, r.Pollers); err != nil {
		return err
	}
	for _, p := range append([]Phase{r.Trivial, r.Lifecycle}, r.Compared...) {
		secs := p.Result.Elapsed.Seconds()
		database := ""
		if p.DatabaseMeasured {
			database = fmt.Sprintf(", PostgreSQL %.1fs = %.0f%%, %.1f ms each", p.DatabaseCPU.Seconds(), share(p.DatabaseCPU, secs), p.each(p.DatabaseCPU).Seconds()*1000)
		}
		if _, err := fmt.Fprintf(w, "  %-18s %7.1f/s  (%d completed, %d failed in %.1fs; each p50 %s, p99 %s; CPU: Temporal server %.1fs = %.0f%% of a core, %.1f ms each, this process %.1fs = %.0f%%%s)\n",
			p.Name+":", p.Rate(), p.Result.Calls-p.Result.Errors, p.Result.Errors, secs,
			p.Result.Percentile(50).Round(time.Millisecond), p.Result.Percentile(99).Round(time.Millisecond),
			p.ServerCPU.Seconds(), share(p.ServerCPU, secs), p.ServerCPUEach().Seconds()*1000, p.ProcessCPU.Seconds(), share(p.ProcessCPU, secs), database); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "lifecycle/trivial ratio: %.2f\n", r.Ratio())
	return err
}

// share is cpu as a percentage of one core over secs.
func share(cpu time.Duration, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return cpu.Seconds() / secs * 100
}
