package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/config"
)

// runAWXSim serves the AWX simulator until ctx is canceled.
func runAWXSim(ctx context.Context, args []string) error {
	cfg, err := config.Load(config.AWXSim, args, os.LookupEnv)
	if err != nil {
		return err
	}
	sim := cfg.Sim
	ln, err := net.Listen("tcp", sim.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is the port already in use?)", sim.Addr, err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv := &http.Server{Handler: awxsim.New(awxsim.Config{Tokens: sim.Tokens, Username: sim.Username, JobDuration: sim.JobDuration}),
		ReadHeaderTimeout: 10 * time.Second}
	logger.Info("AWX simulator listening", "url", "http://"+ln.Addr().String(), "job_duration", sim.JobDuration.String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}
