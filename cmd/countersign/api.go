package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/wiring"
)

// runAPI serves the REST API and /metrics (on METRICS_ADDR when it is set)
// until ctx is canceled.
func runAPI(ctx context.Context, args []string) error {
	cfg, logger, err := loadConfig(config.API, args)
	if err != nil {
		return err
	}
	srv, cleanup, err := wiring.API(ctx, cfg, logger, api.Deps{})
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
