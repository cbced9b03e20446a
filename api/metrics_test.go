package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/internal/testkit"
)

// With METRICS_ADDR, /metrics is served apart from the API, and the API's
// handler no longer answers it.
func TestServer_MetricsElsewhere(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	get := func(h http.Handler, path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}

	apart := api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Logger: quiet, MetricsElsewhere: true})
	status, _ := get(apart.Handler(), "/api/v2/ping/")
	assert.Equal(t, http.StatusOK, status)
	status, body := get(apart.Handler(), "/metrics")
	assert.Equal(t, http.StatusNotFound, status)
	assert.NotContains(t, body, "countersign_http_request_duration_seconds")
	status, body = get(apart.MetricsHandler(), "/metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `countersign_http_request_duration_seconds_bucket{method="GET",route="/api/v2/ping/",status="200"`)

	together := api.New(api.Deps{PayloadKeys: testkit.PayloadRing(), Logger: quiet})
	get(together.Handler(), "/api/v2/ping/")
	status, body = get(together.Handler(), "/metrics")
	assert.Equal(t, http.StatusOK, status, "without METRICS_ADDR, /metrics stays on the API")
	assert.Contains(t, body, "countersign_http_request_duration_seconds")
}
