package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/pgcluster"
	"github.com/countersign/countersign/internal/testkit"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := pgcluster.FreePort()
	require.NoError(t, err)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// With METRICS_ADDR, /metrics is served there only, and stops with the API.
func TestServeHTTP_MetricsAddr(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Config{HTTPAddr: freeAddr(t), MetricsAddr: freeAddr(t)}
	srv := api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Logger: quiet, MetricsElsewhere: cfg.MetricsAddr != ""})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, quiet, apiEndpoints(cfg, srv)...) }()
	apiURL, metricsURL := "http://"+cfg.HTTPAddr, "http://"+cfg.MetricsAddr
	require.Eventually(t, func() bool {
		r, err := http.Get(metricsURL + "/metrics")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)

	status, _ := getStatus(t, apiURL+"/api/v2/ping/")
	assert.Equal(t, http.StatusOK, status)
	status, _ = getStatus(t, apiURL+"/metrics")
	assert.Equal(t, http.StatusNotFound, status, "not on the API's port")
	status, body := getStatus(t, metricsURL+"/metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `route="/api/v2/ping/"`)
	status, _ = getStatus(t, metricsURL+"/api/v2/ping/")
	assert.Equal(t, http.StatusNotFound, status, "only /metrics there")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("serveHTTP did not stop")
	}
	for _, addr := range []string{cfg.HTTPAddr, cfg.MetricsAddr} {
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err, "%s is released", addr)
		ln.Close()
	}
}

// A metrics port in use stops the API before it serves anything.
func TestServeHTTP_MetricsPortInUse(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cfg := config.Config{HTTPAddr: freeAddr(t), MetricsAddr: busy.Addr().String()}
	srv := api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Logger: quiet, MetricsElsewhere: true})
	err = serveHTTP(context.Background(), quiet, apiEndpoints(cfg, srv)...)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "METRICS_ADDR: listen on "+cfg.MetricsAddr)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	require.NoError(t, err, "the API's port is not held")
	ln.Close()
}

// Without METRICS_ADDR, /metrics stays on the API's port.
func TestAPIEndpoints_Default(t *testing.T) {
	eps := apiEndpoints(config.Config{HTTPAddr: "127.0.0.1:8080"}, api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	require.Len(t, eps, 1)
	assert.Equal(t, "127.0.0.1:8080", eps[0].addr)
}
