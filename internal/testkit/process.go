package testkit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/wiring"
)

// envWorkerProcess makes a test binary run `countersign worker` instead of
// its tests (Main checks it first), so that a test can kill a real worker
// process.
const envWorkerProcess = "COUNTERSIGN_TEST_WORKER_PROCESS"

// WorkerProcess prepares a worker process, configured as `countersign
// worker` is by env (DATABASE_URL, TEMPORAL_ADDRESS, PAYLOAD_KEYS…): the test
// binary itself, run again. It dies with the test binary.
func WorkerProcess(env map[string]string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envWorkerProcess+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// runWorkerProcess is the worker WorkerProcess starts.
func runWorkerProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := config.Load(config.Worker, nil, os.LookupEnv)
	if err == nil {
		err = wiring.Worker(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
