// Package bench measures Countersign's cost and speed against real
// components. Nothing here runs without -bench:
//
//	go test ./bench -run '^$' -bench ServiceRequestActions -benchtime 1x
package bench

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/temporaltest"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/workflows"
)

// temporalServer is the dev server every benchmark uses.
var temporalServer *temporaltest.Server

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	os.Exit(testkit.MainServer(m, "bench", &temporalServer))
}

// jobDuration is how long the simulated AWX job runs (BENCH_JOB_DURATION,
// default 2m).
func jobDuration(b *testing.B) time.Duration {
	if v := os.Getenv("BENCH_JOB_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("BENCH_JOB_DURATION: %v", err)
		}
		return d
	}
	return 2 * time.Minute
}

// BenchmarkServiceRequestActions runs a two-stage request with two
// approvers per stage and a job of BENCH_JOB_DURATION, with production
// settings (5s AWX polling, 1m poll heartbeat timeout), and reports its
// billable Temporal actions and history length: side by side, in one run,
// as the API submits it (the first stage's roster at submission, the
// latest revision), as submitted without them (the CLI, or requests
// started before them), and at RevisionLean (publications as activities).
func BenchmarkServiceRequestActions(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s := testkit.NewStack(b, awxsim.Config{JobDuration: jobDuration(b)})
		s.Activities.PollInterval = activities.DefaultPollInterval
		s.AddUser(b, "eve", "security")
		var heartbeats [3]testkit.HeartbeatCounter
		c := testkit.Dial(b, temporalServer.HostPort)
		variants := []struct {
			name   string
			metric string
			queue  string
			in     workflows.Input
		}{{name: "as submitted by the API", metric: "actions/request"}, {name: "without the roster and RevisionLean", metric: "actions/request-original"},
			{name: "at RevisionLean (publications as activities)", metric: "actions/request-lean"}}
		for v := range variants {
			variants[v].queue = testkit.TaskQueue(b)
			testkit.StartWorker(b, testkit.Dial(b, temporalServer.HostPort, heartbeats[v].Interceptor()), variants[v].queue, s.Activities)
			in := s.Create(b, testkit.ProvisionEnvironment(
				s.Stage("SRE review", "sre", 2, 72*time.Hour, 24*time.Hour),
				s.Stage("Security review", "security", 2, 72*time.Hour, 24*time.Hour),
			))
			switch v {
			case 0:
				in = s.AsSubmitted(b, in)
			case 2:
				in = s.AsSubmitted(b, in)
				in.Revision = workflows.RevisionLean
			}
			variants[v].in = in
		}
		start := time.Now()
		runs := make([]client.WorkflowRun, len(variants))
		for v, vr := range variants {
			runs[v] = testkit.StartRequest(b, c, vr.queue, vr.in)
			for stage, users := range [][]string{{"bob", "carol"}, {"dave", "eve"}} {
				testkit.Eventually(b, 30*time.Second, "the stage to open", func() bool {
					return testkit.State(b, c, vr.in.RequestID).CurrentStage == stage
				})
				for _, u := range users {
					if _, err := testkit.Update(context.Background(), c, vr.in.RequestID, workflows.Approve, workflows.ApproveInput{User: u}); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		// Both jobs run at once: the second result is in by the first's.
		for v, vr := range variants {
			res := testkit.Result(b, runs[v], jobDuration(b)+5*time.Minute)
			if res.Status != approval.StatusSuccessful {
				b.Fatalf("request ended %s: %s", res.Status, res.FailureReason)
			}
			actions := testkit.CountActions(testkit.History(b, c, vr.in.RequestID))
			actions.Heartbeats = heartbeats[v].Count()
			b.Logf("%s, job %s, both requests took %s: %s", vr.name, jobDuration(b), time.Since(start).Round(time.Second), actions)
			b.ReportMetric(float64(actions.Total()), vr.metric)
			if v == 2 {
				b.ReportMetric(float64(actions.HistoryEvents), "events/request-lean")
			}
			if v == 0 {
				b.ReportMetric(float64(actions.HistoryEvents), "events/request")
				b.ReportMetric(float64(actions.Heartbeats), "heartbeats/request")
			}
		}
	}
}
