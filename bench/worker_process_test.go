package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/internal/testkit"
)

// runWorkerProcess runs `countersign worker`, built from this tree, as its
// own process serving queue for s (its database and AWX simulator) with
// the production defaults, env on top, and returns its pid once it polls
// the queue through c. It is stopped when the benchmark ends.
func runWorkerProcess(b *testing.B, s *testkit.Stack, c client.Client, queue string, env map[string]string) int {
	b.Helper()
	all := map[string]string{
		"DATABASE_URL": s.DatabaseURL, "TEMPORAL_ADDRESS": temporalServer.HostPort, "TASK_QUEUE": queue,
		"AWX_URL": s.SimURL, "AWX_TOKEN": testkit.AWXToken, "PAYLOAD_KEYS": testkit.PayloadKeys(),
		"LOG_LEVEL": "warn",
	}
	for k, v := range env {
		all[k] = v
	}
	pid := startWorkerProcess(b, buildCountersign(b), all)
	testkit.Eventually(b, time.Minute, "the worker process to poll its task queue", func() bool {
		resp, err := c.DescribeTaskQueue(context.Background(), queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		return err == nil && len(resp.GetPollers()) > 0
	})
	return pid
}

// buildCountersign builds cmd/countersign into a temporary directory, so
// that the worker measured is the binary operators run.
func buildCountersign(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "countersign")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/countersign").CombinedOutput()
	if err != nil {
		b.Fatalf("building countersign (needs the go command on PATH): %v\n%s", err, out)
	}
	return bin
}

// startWorkerProcess runs `countersign worker` with env on top of this
// process's environment and returns its pid; it is stopped (SIGTERM) when
// the benchmark ends and dies with it.
func startWorkerProcess(b *testing.B, bin string, env map[string]string) int {
	b.Helper()
	cmd := exec.Command(bin, "worker")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(b, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	select {
	case err := <-done:
		b.Fatalf("countersign worker exited at start: %v", err)
	case <-time.After(time.Second):
	}
	return cmd.Process.Pid
}
