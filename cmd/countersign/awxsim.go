package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/countersign/countersign/awx/awxsim"
)

// runAWXSim serves the AWX simulator until ctx is canceled.
func runAWXSim(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("countersign awx-sim", flag.ContinueOnError)
	addr := fs.String("addr", envOr("AWX_SIM_ADDR", "127.0.0.1:8052"), "listen address (env AWX_SIM_ADDR)")
	tokens := fs.String("tokens", envOr("AWX_SIM_TOKENS", ""), "comma-separated accepted bearer tokens; empty accepts any (env AWX_SIM_TOKENS)")
	username := fs.String("username", envOr("AWX_SIM_USERNAME", "countersign"), "AWX user the tokens belong to (env AWX_SIM_USERNAME)")
	duration := fs.Duration("job-duration", envDuration("AWX_SIM_JOB_DURATION", 10*time.Second), "time from launch to a job's end (env AWX_SIM_JOB_DURATION)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *duration <= 0 {
		return errors.New("-job-duration must be positive")
	}
	cfg := awxsim.Config{Username: *username, JobDuration: *duration}
	for _, t := range strings.Split(*tokens, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.Tokens = append(cfg.Tokens, t)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is the port already in use?)", *addr, err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv := &http.Server{Handler: awxsim.New(cfg), ReadHeaderTimeout: 10 * time.Second}
	logger.Info("AWX simulator listening", "url", "http://"+ln.Addr().String(), "job_duration", duration.String())
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

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}
