package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/bench/load"
	"github.com/countersign/countersign/bench/scenario"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/workflows"
)

// apiJobDuration is how long the simulated AWX job of an approved request
// runs: short, so that launched requests finish while the run goes on.
const apiJobDuration = 2 * time.Second

// apiBenchSettings are the benchmark's knobs, from the environment:
// BENCH_DURATION per scenario (default 20s), BENCH_CONCURRENCY (8),
// BENCH_REQUESTS seeded (100000) and BENCH_APPROVALS prepared for the
// approve scenario (1000).
type apiBenchSettings struct {
	duration    time.Duration
	concurrency int
	requests    int
	approvals   int
	// scenarios run, from BENCH_SCENARIOS (a comma-separated subset of
	// submit, approve, approve-lean, inbox); all when unset.
	scenarios map[string]bool
	// workerInProcess, from BENCH_WORKER=inprocess, runs the worker in
	// this process beside the API rather than as `countersign worker` in
	// its own (BENCH_WORKER=process, the default, as deployed).
	workerInProcess bool
}

// apiScenarios are bench-api's scenarios, in the order they run.
var apiScenarios = []string{"submit", "approve", "approve-lean", "inbox"}

// runs reports whether the scenario named is to run.
func (s apiBenchSettings) runs(name string) bool { return s.scenarios == nil || s.scenarios[name] }

func apiSettings(b *testing.B) apiBenchSettings {
	b.Helper()
	set := apiBenchSettings{duration: 20 * time.Second, concurrency: 8, requests: 100_000, approvals: 1000}
	if v := os.Getenv("BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("BENCH_DURATION=%q: want a positive duration such as 20s", v)
		}
		set.duration = d
	}
	for name, dst := range map[string]*int{"BENCH_CONCURRENCY": &set.concurrency, "BENCH_REQUESTS": &set.requests, "BENCH_APPROVALS": &set.approvals} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				b.Fatalf("%s=%q: want a positive integer", name, v)
			}
			*dst = n
		}
	}
	switch v := os.Getenv("BENCH_WORKER"); v {
	case "", "process":
	case "inprocess":
		set.workerInProcess = true
	default:
		b.Fatalf("BENCH_WORKER=%q: want process (the default) or inprocess", v)
	}
	if v := os.Getenv("BENCH_SCENARIOS"); v != "" {
		set.scenarios = map[string]bool{}
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if !slices.Contains(apiScenarios, name) {
				b.Fatalf("BENCH_SCENARIOS=%q: %q is not one of %s", v, name, strings.Join(apiScenarios, ", "))
			}
			set.scenarios[name] = true
		}
	}
	return set
}

// BenchmarkAPILatency measures the latency of submitting a request,
// approving one and reading the approval inbox over HTTP, against the
// whole stack: a fresh PostgreSQL database holding BENCH_REQUESTS
// requests, the Temporal dev server, the AWX simulator and the API on a
// TCP port in this process, and one worker, `countersign worker` built
// from this tree in its own process as deployed (BENCH_WORKER=inprocess:
// in this process, sharing the API's heap and garbage collector, with the
// tests' notifier and settings). Each scenario runs BENCH_CONCURRENCY
// workers for BENCH_DURATION; approve decides BENCH_APPROVALS requests
// submitted beforehand and may end earlier. Each scenario starts once the
// work the previous one caused (workflows, AWX jobs) is done. It prints a
// table, then for each scenario the CPU time the dev server, the worker
// process, this process and PostgreSQL (when on this machine, the whole
// cluster) used while it ran, and reports <scenario>-p50-ms, -p99-ms and
// -rps, the number of seeded requests and the inbox's size when it was
// read. BENCH_SCENARIOS
// (comma-separated) runs only the scenarios named. BENCH_PPROF=dir writes
// dir/<scenario>.cpu.pprof, this process's CPU profile during each.
//
//	go test ./bench -run '^$' -bench APILatency -benchtime 1x -count 1
func BenchmarkAPILatency(b *testing.B) {
	set := apiSettings(b)
	ctx := context.Background()
	s := testkit.NewStack(b, awxsim.Config{JobDuration: apiJobDuration, PendingFor: 200 * time.Millisecond})
	// Production polling, so that the worker's load per running job is the
	// real one.
	s.Activities.PollInterval = activities.DefaultPollInterval

	item := seedCatalog(b, s)
	start := time.Now()
	firstSeeded, lastSeeded := seedRequests(b, s, set.requests)
	var inDB, inbox int
	require.NoError(b, s.Store.DB().GetContext(ctx, &inDB, `SELECT count(*) FROM service_requests`))
	_, inbox, err := s.Store.ListPendingFor(ctx, benchApprover, 1, 0)
	require.NoError(b, err)
	fmt.Fprintf(os.Stderr, "seeded %d requests (ids %d-%d) in %s; %s's inbox holds %d\n",
		inDB, firstSeeded, lastSeeded, time.Since(start).Round(time.Millisecond), benchApprover, inbox)

	queue := testkit.TaskQueue(b)
	worker := "its own process"
	watched := cpuWatch{processes: []watchedProcess{{"dev server", temporalServer.PID()}}}
	if set.workerInProcess {
		worker = "this process"
		testkit.StartWorker(b, testkit.Dial(b, temporalServer.HostPort), queue, s.Activities)
	} else {
		watched.processes = append(watched.processes, watchedProcess{"worker", runWorkerProcess(b, s, testkit.Dial(b, temporalServer.HostPort), queue, nil)})
	}
	watched.processes = append(watched.processes, watchedProcess{"this process", 0})
	// The API has its own Temporal connection, as it would in its own
	// process. Its per-call log lines are formatted, as in production, and
	// only warnings and errors are kept, to say why a call failed.
	logger := slog.New(slog.NewJSONHandler(warningsOnly{os.Stderr}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Store: s.Store, Temporal: testkit.Dial(b, temporalServer.HostPort), AWX: s.AWX, Logger: logger, TaskQueue: queue})
	baseURL := serve(b, srv.Handler())

	client := load.NewClient(set.concurrency)
	target := &scenario.Target{BaseURL: baseURL, Item: item.ID}
	target.Requesters = users(b, s, client, baseURL, benchRequester)
	target.Approvers = users(b, s, client, baseURL, benchApprover)
	// For comparison, approvals of requests started at RevisionLean
	// (publications as activities), through a second API.
	leanSrv := api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Store: s.Store, Temporal: testkit.Dial(b, temporalServer.HostPort), AWX: s.AWX, Logger: logger, TaskQueue: queue,
		WorkflowRevision: workflows.RevisionLean})
	leanTarget := &scenario.Target{BaseURL: serve(b, leanSrv.Handler()), Item: item.ID, Requesters: target.Requesters, Approvers: target.Approvers}
	opts := load.Options{Concurrency: set.concurrency, Duration: set.duration, Client: client}

	watched.postmaster = postmasterPID(b, s.Store)

	b.ResetTimer()
	for range b.N {
		var results []load.Result
		var cpu [][]load.CPU
		run := func(sc load.Scenario) {
			stop := profileCPU(b, os.Getenv("BENCH_PPROF"), sc.Name)
			var res load.Result
			var err error
			used := watched.during(b, func() { res, err = load.Run(ctx, opts, sc) })
			stop()
			require.NoError(b, err)
			results = append(results, res)
			cpu = append(cpu, used)
			// The next scenario starts once the work this one caused is
			// done, so that it is measured on a quiet system.
			awaitSettled(b, s, lastSeeded)
		}
		if set.runs("submit") {
			run(target.Submit())
		}
		if set.runs("approve") {
			approve, err := target.PrepareApprovals(ctx, client, set.approvals, set.concurrency, 5*time.Minute)
			require.NoError(b, err)
			awaitSettled(b, s, lastSeeded)
			run(approve)
		}
		if set.runs("approve-lean") {
			leanApprove, err := leanTarget.PrepareApprovals(ctx, client, set.approvals, set.concurrency, 5*time.Minute)
			require.NoError(b, err)
			awaitSettled(b, s, lastSeeded)
			leanApprove.Name = "approve-lean" // at RevisionLean; a metric name, without spaces
			run(leanApprove)
		}
		// Submissions so far wait for the approver too: the inbox is read
		// at this size.
		_, inboxNow, err := s.Store.ListPendingFor(ctx, benchApprover, 1, 0)
		require.NoError(b, err)
		if set.runs("inbox") {
			run(target.Inbox())
		}

		b.StopTimer()
		require.NoError(b, s.Store.DB().GetContext(ctx, &inDB, `SELECT count(*) FROM service_requests`))
		fmt.Printf("\nAPI latency, %d workers, %s per scenario, %d requests in the database at the start (%d at the end), "+
			"%d in %s's inbox at the start and %d during the inbox scenario, the Temporal worker in %s:\n",
			set.concurrency, set.duration, lastSeeded-firstSeeded+1, inDB, inbox, benchApprover, inboxNow, worker)
		require.NoError(b, load.WriteTable(os.Stdout, results))
		for i, r := range results {
			require.NoError(b, load.WriteCPU(os.Stdout, r, cpu[i]))
		}
		for _, r := range results {
			if r.Errors > 0 {
				b.Errorf("%s: %d of %d calls failed: %v", r.Scenario, r.Errors, r.Calls, r.ErrorSamples)
			}
			b.ReportMetric(msOf(r.Percentile(50)), r.Scenario+"-p50-ms")
			b.ReportMetric(msOf(r.Percentile(99)), r.Scenario+"-p99-ms")
			b.ReportMetric(r.RPS(), r.Scenario+"-rps")
		}
		b.ReportMetric(float64(lastSeeded-firstSeeded+1), "seeded-requests")
		b.ReportMetric(float64(inboxNow), "inbox-size")
		b.StartTimer()
	}
	// The wall time of a run says nothing about the API's speed.
	b.ReportMetric(0, "ns/op")
}

// warningsOnly passes on the JSON log lines at levels WARN and ERROR.
type warningsOnly struct{ w io.Writer }

func (f warningsOnly) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`"level":"WARN"`)) || bytes.Contains(p, []byte(`"level":"ERROR"`)) {
		return f.w.Write(p)
	}
	return len(p), nil
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// serve runs h on a free TCP port of the loopback interface until the
// benchmark ends, so calls go through the kernel's network stack as they
// would to a deployed API.
func serve(b *testing.B, h http.Handler) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			b.Errorf("API server: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// users issues an API token for each user and resolves it as the load
// tool does.
func users(b *testing.B, s *testkit.Stack, c *http.Client, baseURL string, names ...string) []scenario.User {
	b.Helper()
	ctx := context.Background()
	var tokens []string
	for _, name := range names {
		plain, _, err := s.Store.CreateToken(ctx, s.Identity.Users[name].ID, "load benchmark")
		require.NoError(b, err)
		tokens = append(tokens, plain)
	}
	out, err := scenario.Users(ctx, c, baseURL, tokens)
	require.NoError(b, err)
	return out
}

// awaitSettled waits until every request submitted during the benchmark
// (ids after lastSeeded) is at rest: pending ones wait with their
// workflow's first state recorded and approved ones have finished their
// AWX job.
func awaitSettled(b *testing.B, s *testkit.Stack, lastSeeded int64) {
	b.Helper()
	testkit.Eventually(b, 5*time.Minute, "submitted requests to settle", func() bool {
		var busy int
		require.NoError(b, s.Store.DB().GetContext(context.Background(), &busy, `SELECT count(*) FROM service_requests
			WHERE id > $1 AND (status IN ('approved', 'running')
				OR (status = 'pending_approval' AND (state_seq = 0 OR cardinality(pending_approvers) = 0)))`, lastSeeded))
		return busy == 0
	})
}
