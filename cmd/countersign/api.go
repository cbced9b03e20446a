package main

import (
	"context"
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

// runAPI serves the REST API and /metrics (on METRICS_ADDR when it is set)
// until ctx is canceled.
func runAPI(ctx context.Context, args []string) error {
	cfg, logger, err := loadConfig(config.API, args)
	if err != nil {
		return err
	}
	if err := config.Check(cfg.RequireDatabase(), cfg.RequireAWX(), cfg.RequirePayloadKeys(), cfg.RequireMetrics()); err != nil {
		return err
	}
	srv, cleanup, err := newAPI(ctx, cfg, logger, api.Deps{})
	if err != nil {
		return err
	}
	defer cleanup()
	return serveHTTP(ctx, logger, apiEndpoints(cfg, srv)...)
}

// apiEndpoints are the servers of `countersign api`: the API, and /metrics
// alone on METRICS_ADDR when it is set (the API then does not serve it).
func apiEndpoints(cfg config.Config, srv *api.Server) []endpoint {
	eps := []endpoint{{name: "API", setting: "HTTP_ADDR", addr: cfg.HTTPAddr, path: "/api/v2/", handler: srv.Handler()}}
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		eps = append(eps, endpoint{name: "metrics", setting: "METRICS_ADDR", addr: cfg.MetricsAddr, path: "/metrics", handler: mux})
	}
	return eps
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
	deps.MetricsElsewhere = cfg.MetricsAddr != ""
	srv := api.New(deps)
	return srv, func() { srv.Close(); c.Close(); st.Close() }, nil
}

// endpoint is one HTTP server of a process.
type endpoint struct {
	name    string // what it serves, for the log: "API", "metrics"
	setting string // the setting that names addr, for errors
	addr    string
	path    string // logged with the address
	handler http.Handler
}

// serveHTTP serves every endpoint until ctx is canceled or one of them
// fails, then shuts them all down, letting calls in flight finish. It
// listens on every address before serving any, so a port in use stops it
// with nothing served.
func serveHTTP(ctx context.Context, logger *slog.Logger, eps ...endpoint) error {
	lns := make([]net.Listener, 0, len(eps))
	for _, ep := range eps {
		ln, err := net.Listen("tcp", ep.addr)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return fmt.Errorf("%s: listen on %s: %w (is the port already in use?)", ep.setting, ep.addr, err)
		}
		lns = append(lns, ln)
	}
	servers := make([]*http.Server, len(eps))
	errc := make(chan error, len(eps))
	for i, ep := range eps {
		servers[i] = &http.Server{Handler: ep.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 45 * time.Second, IdleTimeout: 2 * time.Minute}
		logger.Info(ep.name+" listening", "url", "http://"+lns[i].Addr().String()+ep.path)
		go func() { errc <- servers[i].Serve(lns[i]) }()
	}
	var failure error
	select {
	case err := <-errc:
		failure = fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdown); err != nil && failure == nil {
			failure = err
		}
	}
	return failure
}
