package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/bench/load"
	"github.com/countersign/countersign/bench/proc"
	"github.com/countersign/countersign/bench/scenario"
	"github.com/countersign/countersign/bench/throughput"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/wiring"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// Throughput settings: the simulated job is short and the worker polls it
// at the shortest interval AWX_POLL_INTERVAL accepts, so that a lifecycle
// is limited by the server's work, not by waits.
const (
	throughputJobDuration  = 200 * time.Millisecond
	throughputPollInterval = 100 * time.Millisecond
	// throughputWarmUp runs before each phase, unmeasured: connections,
	// caches and the server's task queues settle.
	throughputWarmUp = 5 * time.Second
	// defaultThroughputConcurrency saturates the dev server on 2 cores
	// in both phases: with autoscaling pollers neither rate grew from 32
	// to 64 while each one's latency doubled (see the README's
	// Throughput).
	defaultThroughputConcurrency = 32
)

type throughputSettings struct {
	duration    time.Duration
	concurrency int
	// pprofDir, when set, receives a CPU profile of this process during
	// the lifecycle phase.
	pprofDir string
	// pollers is how both workers poll for tasks, from BENCH_POLLERS.
	pollers pollerSetting
}

// pollerSetting is how the benchmark's workers poll their task queues:
// "autoscaling" (the default), as many pollers as the server's answers
// call for, so that the server and not the worker's pickup of tasks limits
// the rates; "fixed", the SDK's default of two pollers each for workflow
// and activity tasks, as `countersign worker` runs.
type pollerSetting string

// options are the worker options of s, as WORKER_POLLERS would give them.
func (s pollerSetting) options() sdkworker.Options {
	p := config.Pollers{Autoscaling: true}
	if s == "fixed" {
		p = config.Pollers{}
	}
	return wiring.WorkerOptions(config.Config{WorkerPollers: p})
}

func throughputSettingsFromEnv(b *testing.B) throughputSettings {
	b.Helper()
	set := throughputSettings{duration: 20 * time.Second, concurrency: defaultThroughputConcurrency, pprofDir: os.Getenv("BENCH_PPROF"), pollers: "autoscaling"}
	switch v := os.Getenv("BENCH_POLLERS"); v {
	case "", "autoscaling":
	case "fixed":
		set.pollers = "fixed"
	default:
		b.Fatalf("BENCH_POLLERS=%q: want autoscaling (the default) or fixed", v)
	}
	if v := os.Getenv("BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("BENCH_DURATION=%q: want a positive duration such as 20s", v)
		}
		set.duration = d
	}
	if v := os.Getenv("BENCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_CONCURRENCY=%q: want a positive integer", v)
		}
		set.concurrency = n
	}
	return set
}

// trivialWorkflow is the least a workflow can do on a server: one
// activity that does nothing.
func trivialWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	return workflow.ExecuteActivity(ctx, noopActivity).Get(ctx, nil)
}

func noopActivity(context.Context) error { return nil }

// BenchmarkThroughput measures, on the package's one Temporal dev server,
// how many workflows complete per second with BENCH_CONCURRENCY clients
// each starting one and waiting for its end, BENCH_DURATION per phase:
// first a trivial workflow (one no-op activity, on a task queue of its
// own), then whole requests through the API over HTTP (submit, two
// approvals by two SRE members, launch, polls, success against the AWX
// simulator with 200 ms jobs), each awaited through the Temporal client.
// One worker process (this one) runs both, with the worker's production
// wiring, polling with the SDK's poller autoscaling (BENCH_POLLERS=fixed:
// the SDK's two pollers, as `countersign worker`). It prints both rates, the CPU time the dev server and this
// process used in each phase, and "lifecycle/trivial ratio: 0.NN"; then,
// for comparison, the lifecycle of requests started at RevisionLean.
// BENCH_PPROF=dir writes dir/lifecycle.cpu.pprof, this process's CPU
// profile during the lifecycle phase.
//
//	go test ./bench -run '^$' -bench Throughput -benchtime 1x -count 1
func BenchmarkThroughput(b *testing.B) {
	set := throughputSettingsFromEnv(b)
	serverPID := temporalServer.PID()

	s := testkit.NewStack(b, awxsim.Config{JobDuration: throughputJobDuration})
	s.Activities.PollInterval = throughputPollInterval
	item := seedTwoApprovals(b, s)

	workerClient := testkit.Dial(b, temporalServer.HostPort)
	queue := testkit.TaskQueue(b)
	testkit.StartWorkerWithOptions(b, workerClient, queue, s.Activities, set.pollers.options())
	// The trivial workflow runs in the same worker process, on a task
	// queue of its own, only during its phase, polling the same way.
	trivialQueue := testkit.TaskQueue(b)
	trivial := sdkworker.New(workerClient, trivialQueue, set.pollers.options())
	trivial.RegisterWorkflow(trivialWorkflow)
	trivial.RegisterActivity(noopActivity)
	require.NoError(b, trivial.Start())
	stopTrivial := sync.OnceFunc(trivial.Stop)
	b.Cleanup(stopTrivial)

	// Callers and the API have their own connections, as in their own
	// processes.
	callers := testkit.Dial(b, temporalServer.HostPort)
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	apiClient := testkit.Dial(b, temporalServer.HostPort)
	// The API also has its own database pool: sharing the worker's would
	// halve the connections each has in production.
	apiStore, err := store.Open(context.Background(), s.DatabaseURL)
	require.NoError(b, err)
	b.Cleanup(func() { _ = apiStore.Close() })
	watched := cpuWatch{processes: []watchedProcess{{"Temporal server", serverPID}, {"this process", 0}}, postmaster: postmasterPID(b, apiStore)}
	srv := api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Store: apiStore, Temporal: apiClient, AWX: s.AWX, Logger: logger, TaskQueue: queue})
	baseURL := serve(b, srv.Handler())
	httpClient := load.NewClient(set.concurrency)
	target := &scenario.Target{BaseURL: baseURL, Item: item.ID}
	target.Requesters = users(b, s, httpClient, baseURL, benchRequester)
	target.Approvers = users(b, s, httpClient, baseURL, "bob", "carol")

	var n atomic.Int64
	startTrivial := load.Scenario{Name: "trivial", Call: func(ctx context.Context, _ *http.Client) error {
		id := fmt.Sprintf("%s-%d", trivialQueue, n.Add(1))
		run, err := callers.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: trivialQueue}, trivialWorkflow)
		if err != nil {
			return err
		}
		return run.Get(ctx, nil)
	}}
	awaitSuccess := func(ctx context.Context, id int64) error {
		var res workflows.Result
		if err := callers.GetWorkflow(ctx, workflows.WorkflowID(id), "").Get(ctx, &res); err != nil {
			return err
		}
		if res.Status != approval.StatusSuccessful {
			return fmt.Errorf("request %d ended %s: %s", id, res.Status, res.FailureReason)
		}
		return nil
	}
	lifecycle := target.Lifecycle(awaitSuccess)
	// The same lifecycle as an API starting requests at RevisionLean
	// would (publications as activities), through a second API on the
	// same database, server and worker.
	leanSrv := api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Store: apiStore, Temporal: apiClient, AWX: s.AWX, Logger: logger, TaskQueue: queue,
		WorkflowRevision: workflows.RevisionLean})
	leanTarget := &scenario.Target{BaseURL: serve(b, leanSrv.Handler()), Item: item.ID, Requesters: target.Requesters, Approvers: target.Approvers}
	leanLifecycle := leanTarget.Lifecycle(awaitSuccess)

	b.ResetTimer()
	for range b.N {
		report := throughput.Report{Concurrency: set.concurrency, Duration: set.duration, Pollers: string(set.pollers)}
		report.Trivial = measurePhase(b, "trivial workflow", set, httpClient, watched, startTrivial, "")
		stopTrivial()
		report.Lifecycle = measurePhase(b, "request lifecycle", set, httpClient, watched, lifecycle, set.pprofDir)
		report.Compared = append(report.Compared,
			measurePhase(b, "lifecycle at RevisionLean", set, httpClient, watched, leanLifecycle, ""))

		b.StopTimer()
		fmt.Println()
		require.NoError(b, report.Write(os.Stdout))
		for _, p := range append([]throughput.Phase{report.Trivial, report.Lifecycle}, report.Compared...) {
			if p.Result.Errors > 0 {
				b.Errorf("%s: %d of %d failed: %v", p.Name, p.Result.Errors, p.Result.Calls, p.Result.ErrorSamples)
			}
		}
		b.ReportMetric(report.Trivial.Rate(), "trivial/s")
		b.ReportMetric(report.Lifecycle.Rate(), "lifecycles/s")
		b.ReportMetric(report.Ratio(), "ratio")
		b.ReportMetric(report.Compared[0].Rate(), "lean-lifecycles/s")
		b.ReportMetric(float64(set.concurrency), "concurrency")
		b.StartTimer()
	}
	b.ReportMetric(0, "ns/op")
}

// watchedProcess is a process whose CPU time a benchmark reports; pid 0
// is this one.
type watchedProcess struct {
	who string
	pid int
}

// cpuWatch is what a benchmark measures the CPU time of: its processes,
// and PostgreSQL's postmaster with its connections (0: not on this
// machine, not measured).
type cpuWatch struct {
	processes  []watchedProcess
	postmaster int
}

// during runs f and returns the CPU time each process used meanwhile, in
// their order, then PostgreSQL's when measured.
func (w cpuWatch) during(b *testing.B, f func()) []load.CPU {
	b.Helper()
	before := w.used(b)
	f()
	after := w.used(b)
	for i := range after {
		after[i].Time -= before[i].Time
	}
	return after
}

func (w cpuWatch) used(b *testing.B) []load.CPU {
	b.Helper()
	used := make([]load.CPU, 0, len(w.processes)+1)
	for _, p := range w.processes {
		used = append(used, load.CPU{Who: p.who, Time: readUsage(b, p.pid).CPU})
	}
	if w.postmaster != 0 {
		used = append(used, load.CPU{Who: "PostgreSQL", Time: postgresCPU(b, w.postmaster)})
	}
	return used
}

// measurePhase warms sc up, then runs it for the phase's duration and
// measures the CPU time the dev server, PostgreSQL and this process use
// meanwhile; with pprofDir set it profiles this process over the measured
// run.
func measurePhase(b *testing.B, name string, set throughputSettings, c *http.Client, watched cpuWatch, sc load.Scenario, pprofDir string) throughput.Phase {
	b.Helper()
	ctx := context.Background()
	warm, err := load.Run(ctx, load.Options{Concurrency: set.concurrency, Duration: throughputWarmUp, Client: c}, sc)
	require.NoError(b, err)
	if warm.Errors > 0 {
		b.Fatalf("%s warm-up: %d of %d failed: %v", name, warm.Errors, warm.Calls, warm.ErrorSamples)
	}
	stop := profileCPU(b, pprofDir, "lifecycle")
	defer stop()
	var res load.Result
	cpu := watched.during(b, func() {
		res, err = load.Run(ctx, load.Options{Concurrency: set.concurrency, Duration: set.duration, Client: c}, sc)
	})
	require.NoError(b, err)
	phase := throughput.Phase{Name: name, Result: res, ServerCPU: cpu[0].Time, ProcessCPU: cpu[1].Time, DatabaseMeasured: watched.postmaster != 0}
	if phase.DatabaseMeasured {
		phase.DatabaseCPU = cpu[2].Time
	}
	return phase
}

// postmasterPID finds PostgreSQL's postmaster, the parent of the
// connection's backend, when it runs on this machine; else it says so and
// returns 0. A backend seen through another process namespace (a
// container) would name some other process: both must be "postgres".
func postmasterPID(b *testing.B, st *store.Store) int {
	b.Helper()
	var backend int
	require.NoError(b, st.DB().Get(&backend, `SELECT pg_backend_pid()`))
	if stat, err := proc.ReadStat(backend); err == nil && stat.Name == "postgres" {
		if parent, err := proc.ReadStat(stat.Parent); err == nil && parent.Name == "postgres" {
			return stat.Parent
		}
	}
	fmt.Printf("bench: PostgreSQL does not run on this machine (backend %d not found in /proc): its CPU is not measured\n", backend)
	return 0
}

// postgresCPU is the CPU time PostgreSQL's processes used so far, every
// database's, connections closed meanwhile included; 0 when not measured.
func postgresCPU(b *testing.B, postmaster int) time.Duration {
	b.Helper()
	if postmaster == 0 {
		return 0
	}
	cpu, err := proc.FamilyCPU(postmaster)
	if err != nil {
		b.Fatalf("reading PostgreSQL's CPU time from /proc: %v", err)
	}
	return cpu
}

func readUsage(b *testing.B, pid int) proc.Usage {
	b.Helper()
	u, err := proc.Read(pid)
	if err != nil {
		b.Fatalf("reading process %d's CPU time and memory from /proc (Linux only): %v", pid, err)
	}
	return u
}

// seedTwoApprovals creates the catalog item the lifecycle submits,
// "Restart service" in its own category, and the policy that puts it
// behind one stage needing two approvals by team sre (bob and carol).
func seedTwoApprovals(b *testing.B, s *testkit.Stack) store.CatalogItem {
	b.Helper()
	ctx := context.Background()
	org := s.Identity.Org.ID
	sre := s.Identity.Teams["sre"].ID
	job := int64(awxsim.DemoRestartServiceID)
	item, err := s.Store.CreateCatalogItem(ctx, store.NewCatalogItem{OrganizationID: org, Name: "Restart service", Category: "throughput",
		JobTemplateID: &job, RequiresApproval: true, ApproverTeamID: &sre})
	require.NoError(b, err)
	_, err = s.Store.CreatePolicy(ctx, store.NewPolicy{
		OrganizationID: org, Name: "throughput: two SRE approvals", Priority: 10,
		Condition: `item.category == "throughput"`,
		Stages: []store.PolicyStage{{Name: "SRE review", ApproverTeamID: &sre, MinApprovers: 2,
			DenialMessage: "SRE declined the change.", Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour}},
	})
	require.NoError(b, err)
	return item
}
