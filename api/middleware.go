package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// maxBody bounds request bodies (413 beyond).
const maxBody = 1 << 20

const requestIDHeader = "X-Request-Id"

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type ctxKey string

const (
	keyRequestID ctxKey = "request_id"
	keyPrincipal ctxKey = "principal"
	keyRoles     ctxKey = "roles"
	keyChannel   ctxKey = "channel"
	keySession   ctxKey = "session"
	keySignedIn  ctxKey = "signed_in_at"
)

// requestID tags each call with an id, the caller's if it sent a sane one,
// echoed in the answer and in every log line about it.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !validRequestID.MatchString(id) {
		id = randomToken()
	}
	c.Set(string(keyRequestID), id)
	c.Header(requestIDHeader, id)
	c.Next()
}

// randomToken is 16 random hex digits (crypto/rand never fails).
func randomToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// logFor is the logger for this call.
func (s *Server) logFor(c *gin.Context) *slog.Logger {
	l := s.log.With("request_id", c.GetString(string(keyRequestID)))
	if p, ok := principalOf(c); ok {
		l = l.With("user", p.Username)
	}
	return l
}

// logRequests logs one line per call (never bodies: they may hold
// passwords) and records its latency by route and status.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	took := time.Since(start)
	s.metrics.observe(c.Request.Method, route, status, took)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.logFor(c).Log(c.Request.Context(), level, "http request",
		"method", c.Request.Method, "route", route, "path", c.Request.URL.Path,
		"status", status, "duration_ms", float64(took.Microseconds())/1000)
}

// recoverPanics turns a panic into a logged 500 with a generic body.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.fail(c, fmt.Errorf("panic while serving: %v", r))
		}
	}()
	c.Next()
}

// limitBody caps request bodies (reading past the cap fails and binding
// answers 413) and bounds every call's work with a deadline, so that a slow
// dependency fails a call instead of holding it.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		limit := int64(maxBody)
		if strings.HasPrefix(c.Request.URL.Path, codecPath+"/") {
			limit = maxCodecBody
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), callDeadline)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// callDeadline bounds one API call.
const callDeadline = 30 * time.Second

// knownMethods keeps the method label of the latency metric bounded:
// anything else is "other".
var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// httpMetrics are the API's Prometheus metrics.
type httpMetrics struct {
	latency *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "countersign",
		Name:      "http_request_duration_seconds",
		Help:      "Latency of API calls by method, route and status.",
		Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "status"})}
	reg.MustRegister(m.latency)
	return m
}

func (m *httpMetrics) observe(method, route string, status int, took time.Duration) {
	if !knownMethods[method] {
		method = "other"
	}
	m.latency.WithLabelValues(method, route, strconv.Itoa(status)).Observe(took.Seconds())
}

// localhostOnly refuses calls addressed to any host but this machine's
// loopback names. With dev tokens anyone may act as anyone, so a web page
// must not reach the API through a name of its own that resolves here (DNS
// rebinding).
func localhostOnly(c *gin.Context) {
	host := c.Request.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	switch strings.Trim(host, "[]") {
	case "127.0.0.1", "localhost", "::1":
		c.Next()
		return
	}
	abort(c, refuse(wrongHost, "In dev mode Countersign answers only on 127.0.0.1 or localhost."))
}
