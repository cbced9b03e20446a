package metrics_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/metrics"
)

func TestTemporalHandlerExportsToTheRegistry(t *testing.T) {
	reg := metrics.NewRegistry()
	h, err := metrics.TemporalHandler(reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	h.WithTags(map[string]string{"namespace": "default"}).Counter("temporal_request").Inc(3)
	h.Timer("temporal_request_latency").Record(1500)

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	assert.Contains(t, body, `temporal_request_total{namespace="default"`)
	assert.True(t, strings.Contains(body, "temporal_request_latency"), "timers are exported")
	assert.Contains(t, body, "go_goroutines", "runtime metrics too")
}
