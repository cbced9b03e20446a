package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/bench/proc"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/workflows"
)

type waitingSettings struct {
	requests  int
	idle      time.Duration
	cacheSize int
}

func waitingSettingsFromEnv(b *testing.B) waitingSettings {
	b.Helper()
	set := waitingSettings{requests: 10_000, idle: time.Minute, cacheSize: config.DefaultWorkerStickyCacheSize}
	for name, dst := range map[string]*int{"BENCH_WAITING": &set.requests, "WORKER_STICKY_CACHE_SIZE": &set.cacheSize} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				b.Fatalf("%s=%q: want a positive integer", name, v)
			}
			*dst = n
		}
	}
	if v := os.Getenv("BENCH_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("BENCH_IDLE=%q: want a positive duration such as 60s", v)
		}
		set.idle = d
	}
	return set
}

// BenchmarkWaiting starts BENCH_WAITING (10,000) requests that wait for
// one approval (a 72h stage, reminders every 24h) and measures the worker
// while they wait: `countersign worker`, built from this tree and run as
// its own process with WORKER_STICKY_CACHE_SIZE (default the setting's),
// against the package's dev server, a fresh database and the AWX
// simulator. Once every request waits for its approvers (the projection
// says so), it reads the worker's RSS and CPU time, again after BENCH_IDLE
// (60s) in which nothing happens, and prints both: the RSS stays bounded
// by the cache, and the CPU time used while requests only wait is the
// worker's own housekeeping, nothing per request.
//
//	go test ./bench -run '^$' -bench Waiting -benchtime 1x -count 1
func BenchmarkWaiting(b *testing.B) {
	set := waitingSettingsFromEnv(b)
	s := testkit.NewStack(b, awxsim.Config{})
	queue := testkit.TaskQueue(b)
	c := testkit.Dial(b, temporalServer.HostPort)
	worker := runWorkerProcess(b, s, c, queue, map[string]string{"WORKER_STICKY_CACHE_SIZE": strconv.Itoa(set.cacheSize)})
	atStart := readUsage(b, worker)

	b.ResetTimer()
	for range b.N {
		began := time.Now()
		startWaitingRequests(b, s, c, queue, set.requests)
		started := time.Since(began)
		awaitAllWaiting(b, s, set.requests)
		waited := time.Since(began)
		// Whatever the last starts left (their final publications) ends
		// before the idle window opens.
		time.Sleep(5 * time.Second)

		b.StopTimer()
		serverBefore, before := readUsage(b, temporalServer.PID()), readUsage(b, worker)
		time.Sleep(set.idle)
		serverAfter, after := readUsage(b, temporalServer.PID()), readUsage(b, worker)
		idleCPU := after.CPU - before.CPU
		cached := min(set.requests, set.cacheSize)
		perCached := float64(before.RSS-atStart.RSS) / float64(cached)

		fmt.Printf("\n%d requests waiting for approval, worker sticky cache %d (WORKER_STICKY_CACHE_SIZE):\n", set.requests, set.cacheSize)
		fmt.Printf("  started in %s, all waiting for their approvers after %s\n", started.Round(time.Second), waited.Round(time.Second))
		fmt.Printf("  worker RSS: %s after start, %s once all wait, %s after %s idle (%.1f KiB per cached workflow, %d cached)\n",
			proc.MiB(atStart.RSS), proc.MiB(before.RSS), proc.MiB(after.RSS), set.idle, perCached/1024, cached)
		fmt.Printf("  worker CPU: %.1fs to bring them to waiting, %.2fs during the %s idle window (%.2f%% of a core)\n",
			(before.CPU - atStart.CPU).Seconds(), idleCPU.Seconds(), set.idle, idleCPU.Seconds()/set.idle.Seconds()*100)
		fmt.Printf("  Temporal server CPU during the idle window: %.2fs\n", (serverAfter.CPU - serverBefore.CPU).Seconds())
		b.ReportMetric(float64(before.RSS)/(1<<20), "waiting-rss-MiB")
		b.ReportMetric(float64(after.RSS)/(1<<20), "idle-end-rss-MiB")
		b.ReportMetric(idleCPU.Seconds(), "idle-cpu-s")
		b.ReportMetric(float64(set.cacheSize), "sticky-cache")
		b.StartTimer()
	}
	b.ReportMetric(0, "ns/op")
}

// startWaitingRequests records n requests for "Restart service" with one
// stage needing one SRE approval, and starts their workflows, 16 at a
// time, as the API would.
func startWaitingRequests(b *testing.B, s *testkit.Stack, c client.Client, queue string, n int) {
	b.Helper()
	stage := s.Stage("SRE review", "sre", 1, 72*time.Hour, 24*time.Hour)
	inputs := make(chan workflows.Input, 64)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for in := range inputs {
				_, err := c.ExecuteWorkflow(context.Background(), workflows.StartOptions(in, queue), workflows.WorkflowType, in)
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, fmt.Errorf("starting request %d: %w", in.RequestID, err))
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		inputs <- s.Create(b, testkit.RestartService(stage))
		if (i+1)%1000 == 0 {
			fmt.Fprintf(os.Stderr, "started %d of %d requests\n", i+1, n)
		}
	}
	close(inputs)
	wg.Wait()
	require.NoError(b, firstErr)
}

// awaitAllWaiting waits until the projection shows all n requests waiting
// for their approvers, reporting progress every 10s.
func awaitAllWaiting(b *testing.B, s *testkit.Stack, n int) {
	b.Helper()
	// A generous bound: 5 minutes plus 200 ms a request.
	deadline := time.Now().Add(5*time.Minute + time.Duration(n)*200*time.Millisecond)
	last := time.Now()
	for {
		var waiting int
		require.NoError(b, s.Store.DB().GetContext(context.Background(), &waiting, `SELECT count(*) FROM service_requests
			WHERE status = 'pending_approval' AND cardinality(pending_approvers) > 0`))
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d requests wait for their approvers by %s", waiting, n, deadline.Format(time.TimeOnly))
		}
		if time.Since(last) >= 10*time.Second {
			fmt.Fprintf(os.Stderr, "%d of %d requests wait for their approvers\n", waiting, n)
			last = time.Now()
		}
		time.Sleep(time.Second)
	}
}
