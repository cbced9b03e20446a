package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/metrics"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/worker"
)

// runAPI serves the REST API (and /metrics) until ctx is canceled.
func runAPI(ctx context.Context, args []string) error {
	cfg, logger, err := loadConfig("countersign api", args)
	if err != nil {
		return err
	}
	if err := config.Check(cfg.RequireDatabase(), cfg.RequireAWX(), cfg.RequirePayloadKeys()); err != nil {
		return err
	}
	srv, cleanup, err := newAPI(ctx, cfg, logger, api.Deps{})
	if err != nil {
		return err
	}
	defer cleanup()
	return serveHTTP(ctx, cfg.HTTPAddr, srv.Handler(), logger)
}

// newAPI connects the API's dependencies; deps carries extra settings.
func newAPI(ctx context.Context, cfg config.Config, logger *slog.Logger, deps api.Deps) (*api.Server, func(), error) {
	ring, err := cfg.PayloadRing()
	if err != nil {
		return nil, nil, err
	}
	awxClient, err := awx.New(cfg.AWXURL, cfg.AWXToken)
	if err != nil {
		return nil, nil, err
	}
	if err := worker.CheckAWX(ctx, awxClient, logger); err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	reg := metrics.NewRegistry()
	handler, err := metrics.TemporalHandler(reg, logger)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	opts, err := cfg.TemporalClientOptions()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	opts.Logger = log.NewStructuredLogger(logger)
	opts.MetricsHandler = handler
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	deps.Store, deps.Temporal, deps.AWX, deps.Logger = st, c, awxClient, logger
	deps.TaskQueue, deps.Registry, deps.StageLimits = cfg.TaskQueue, reg, cfg.StageLimits
	deps.PayloadKeys, deps.CodecTeam = ring, cfg.CodecTeam
	deps.CodecOrigins = append(deps.CodecOrigins, cfg.CodecOriginList()...)
	srv := api.New(deps)
	return srv, func() { srv.Close(); c.Close(); st.Close() }, nil
}

// serveHTTP serves h on addr until ctx is canceled, then lets calls in
// flight finish.
func serveHTTP(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is the port already in use?)", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 45 * time.Second, IdleTimeout: 2 * time.Minute}
	logger.Info("API listening", "url", "http://"+ln.Addr().String()+"/api/v2/")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}
