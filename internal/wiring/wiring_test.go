package wiring

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/config"
)

// AWX refusing the token stops a process at start; AWX not answering yet
// does not, since it may come back before a request needs it.
func TestConnectAWX(t *testing.T) {
	sim := httptest.NewServer(awxsim.New(awxsim.Config{Tokens: []string{"the-right-token"}}))
	defer sim.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))

	c, err := connectAWX(context.Background(), config.Config{AWXURL: sim.URL, AWXToken: "the-right-token"}, logger)
	require.NoError(t, err)
	assert.Equal(t, sim.URL, c.BaseURL())
	assert.Contains(t, logs.String(), "connected to AWX")

	_, err = connectAWX(context.Background(), config.Config{AWXURL: sim.URL, AWXToken: "a-wrong-token"}, logger)
	require.ErrorContains(t, err, "refused Countersign's token")
	assert.NotContains(t, err.Error(), "a-wrong-token")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	logs.Reset()
	c, err = connectAWX(context.Background(), config.Config{AWXURL: down, AWXToken: "t"}, logger)
	require.NoError(t, err, "AWX down at start is no configuration error")
	assert.NotNil(t, c)
	assert.Contains(t, logs.String(), "AWX is not reachable yet")
}

// Both processes check their configuration before connecting to anything,
// and say everything that is wrong on one line.
func TestRequirements(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	err := Worker(context.Background(), config.Config{}, quiet)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\n")
	for _, want := range []string{"DATABASE_URL is required", "AWX_URL is required", "PAYLOAD_KEYS or PAYLOAD_KEYS_FILE is required"} {
		assert.Contains(t, err.Error(), want)
	}

	_, _, err = API(context.Background(), config.Config{HTTPAddr: "127.0.0.1:8080", MetricsAddr: "127.0.0.1:8080"}, quiet, api.Deps{})
	require.Error(t, err)
	assert.False(t, strings.Contains(err.Error(), "\n"))
	for _, want := range []string{"DATABASE_URL is required", "AWX_URL is required", "PAYLOAD_KEYS", "METRICS_ADDR must differ from HTTP_ADDR"} {
		assert.Contains(t, err.Error(), want)
	}
}

// The channel list: the webhook (or the log) always, mail with SMTP_URL,
// Slack with SLACK_BOT_TOKEN.
func TestNewChannels(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	names := func(cfg config.Config) []string {
		chs, err := newChannels(cfg, quiet, nil)
		require.NoError(t, err)
		var out []string
		for _, ch := range chs {
			out = append(out, ch.Name)
		}
		return out
	}
	assert.Equal(t, []string{"webhook"}, names(config.Config{}))
	assert.Equal(t, []string{"webhook", "mail"}, names(config.Config{SMTPURL: "smtp://mail.example", SMTPFrom: "cs@example.com",
		PortalURL: "https://countersign.example.com"}))
	assert.Equal(t, []string{"webhook", "slack"}, names(config.Config{Slack: config.SlackSettings{BotToken: "xoxb-1",
		APIURL: "https://slack.com/api/"}, PortalURL: "https://countersign.example.com"}))
}

// WORKER_POLLERS reaches the SDK: a number for both kinds of task,
// autoscaling for both, and the SDK's own default untouched.
func TestWorkerOptions_Pollers(t *testing.T) {
	fixed := WorkerOptions(config.Config{WorkerPollers: config.Pollers{Fixed: 8}})
	assert.Equal(t, 8, fixed.MaxConcurrentWorkflowTaskPollers)
	assert.Equal(t, 8, fixed.MaxConcurrentActivityTaskPollers)
	assert.Nil(t, fixed.WorkflowTaskPollerBehavior)

	auto := WorkerOptions(config.Config{WorkerPollers: config.Pollers{Autoscaling: true}})
	assert.NotNil(t, auto.WorkflowTaskPollerBehavior)
	assert.NotNil(t, auto.ActivityTaskPollerBehavior)
	assert.Zero(t, auto.MaxConcurrentWorkflowTaskPollers, "the SDK refuses both ways at once")

	none := WorkerOptions(config.Config{})
	assert.Zero(t, none.MaxConcurrentWorkflowTaskPollers)
	assert.Nil(t, none.WorkflowTaskPollerBehavior)
	assert.Equal(t, 10*time.Second, none.WorkerStopTimeout)
}
