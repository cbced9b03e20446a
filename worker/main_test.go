package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/worker"
)

// envWorkerProcess makes the test binary run `countersign worker` instead
// of the tests, so a test can kill a real worker process.
const envWorkerProcess = "COUNTERSIGN_TEST_WORKER_PROCESS"

// temporalAddr is the dev server every test of the package shares.
var temporalAddr string

func TestMain(m *testing.M) {
	if os.Getenv(envWorkerProcess) == "1" {
		os.Exit(workerProcess())
	}
	os.Exit(testkit.Main(m, "worker tests", &temporalAddr))
}

// workerProcess is the worker as `countersign worker` runs it, configured
// by the environment.
func workerProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := config.Load("worker", nil, os.LookupEnv)
	if err == nil {
		err = worker.Serve(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// workerCmd prepares a worker process with the given settings.
func workerCmd(env map[string]string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envWorkerProcess+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}
