package config_test

import (
	"bytes"
	"encoding/base64"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/proof"
)

func env(m map[string]string) config.Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoad_DefaultsEnvAndFlags(t *testing.T) {
	c, err := config.Load(config.Worker, nil, env(nil))
	require.NoError(t, err)
	assert.Empty(t, c.TemporalAddress, "left to the Temporal SDK's configuration")
	assert.Equal(t, "countersign", c.TaskQueue)
	assert.Equal(t, slog.LevelInfo, c.LogLevel)
	assert.Equal(t, 5*time.Second, c.AWXPollInterval)
	assert.Equal(t, config.DefaultWorkerStickyCacheSize, c.WorkerStickyCacheSize)
	c, err = config.Load(config.API, nil, env(nil))
	require.NoError(t, err)
	assert.Equal(t, approval.DefaultStageLimits, c.StageLimits)
	assert.Equal(t, 8*time.Hour, c.SessionIdleTimeout)
	assert.Equal(t, 24*time.Hour, c.SessionMaxLifetime)
	c, err = config.Load(config.API, []string{"--session-max-lifetime", "12h"}, env(map[string]string{"SESSION_IDLE_TIMEOUT": "30m"}))
	require.NoError(t, err)
	assert.Equal(t, 30*time.Minute, c.SessionIdleTimeout)
	assert.Equal(t, 12*time.Hour, c.SessionMaxLifetime)

	c, err = config.Load(config.Worker, []string{"--task-queue", "from-flag"}, env(map[string]string{
		"TASK_QUEUE": "from-env", "AWX_URL": "https://awx.example", "LOG_LEVEL": "debug", "AWX_POLL_INTERVAL": "2s",
		"WORKER_STICKY_CACHE_SIZE": "500", "WORKER_POLLERS": "8",
	}))
	require.NoError(t, err)
	assert.Equal(t, "from-flag", c.TaskQueue, "flags win over the environment")
	assert.Equal(t, "https://awx.example", c.AWXURL)
	assert.Equal(t, slog.LevelDebug, c.LogLevel)
	assert.Equal(t, 2*time.Second, c.AWXPollInterval)
	assert.Equal(t, 500, c.WorkerStickyCacheSize)
	assert.Equal(t, config.Pollers{Fixed: 8}, c.WorkerPollers)
	c, err = config.Load(config.Worker, []string{"--worker-pollers", "autoscaling"}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, config.Pollers{Autoscaling: true}, c.WorkerPollers)
	c, err = config.Load(config.Worker, nil, env(nil))
	require.NoError(t, err)
	assert.Equal(t, config.Pollers{Fixed: config.DefaultWorkerPollers}, c.WorkerPollers, "the SDK's two unless told")

	// countersign dev runs a worker too, bounded alike.
	c, err = config.Load(config.Dev, nil, env(nil))
	require.NoError(t, err)
	assert.Equal(t, config.DefaultWorkerStickyCacheSize, c.WorkerStickyCacheSize)
	c, err = config.Load(config.Dev, nil, env(map[string]string{"WORKER_STICKY_CACHE_SIZE": "100"}))
	require.NoError(t, err)
	assert.Equal(t, 100, c.WorkerStickyCacheSize)

	// Tests and demos lower the stage limits through the same settings.
	c, err = config.Load(config.API, []string{"--min-reminder-interval", "1s"}, env(map[string]string{
		"MIN_STAGE_TIMEOUT": "2s", "MAX_STAGE_TIMEOUT": "48h", "MIN_REMINDER_INTERVAL": "1m",
	}))
	require.NoError(t, err)
	assert.Equal(t, approval.StageLimits{MinTimeout: 2 * time.Second, MaxTimeout: 48 * time.Hour, MinReminderInterval: time.Second}, c.StageLimits)
}

func TestLoad_RefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		cmd     config.Command
		env     map[string]string
		args    []string
		wantErr string
	}{
		{cmd: config.Worker, env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: "LOG_LEVEL"},
		{cmd: config.Worker, env: map[string]string{"AWX_POLL_INTERVAL": "soon"}, wantErr: "AWX_POLL_INTERVAL"},
		{cmd: config.Worker, env: map[string]string{"AWX_POLL_INTERVAL": "1ms"}, wantErr: "at least 100ms"},
		{cmd: config.Worker, env: map[string]string{"WORKER_STICKY_CACHE_SIZE": "0"}, wantErr: "(WORKER_STICKY_CACHE_SIZE) \"0\": use a number of workflows of at least 1"},
		{cmd: config.Worker, args: []string{"--worker-sticky-cache-size", "lots"}, wantErr: "WORKER_STICKY_CACHE_SIZE"},
		{cmd: config.Worker, env: map[string]string{"WORKER_POLLERS": "1"}, wantErr: "(WORKER_POLLERS) \"1\": use a number of pollers of at least 2, or autoscaling"},
		{cmd: config.Worker, env: map[string]string{"WORKER_POLLERS": "auto"}, wantErr: "WORKER_POLLERS"},
		{cmd: config.API, env: map[string]string{"MIN_REMINDER_INTERVAL": "hourly"}, wantErr: "MIN_REMINDER_INTERVAL"},
		{cmd: config.API, env: map[string]string{"MIN_REMINDER_INTERVAL": "0s"}, wantErr: "minimum reminder interval must be between 1s and 8760h"},
		{cmd: config.API, env: map[string]string{"MIN_STAGE_TIMEOUT": "2h", "MAX_STAGE_TIMEOUT": "1h"}, wantErr: "above the maximum"},
		{cmd: config.API, args: []string{"--max-stage-timeout", "9000h"}, wantErr: "maximum stage timeout must be between"},
		{cmd: config.API, env: map[string]string{"SESSION_IDLE_TIMEOUT": "a while"}, wantErr: `(SESSION_IDLE_TIMEOUT) "a while": use a duration from 5m to 8760h`},
		{cmd: config.API, env: map[string]string{"SESSION_IDLE_TIMEOUT": "30s"}, wantErr: `(SESSION_IDLE_TIMEOUT) "30s": use a duration from 5m`},
		{cmd: config.API, args: []string{"--session-max-lifetime", "9000h"}, wantErr: "--session-max-lifetime (SESSION_MAX_LIFETIME) \"9000h\": use a duration from 5m to 8760h"},
		{cmd: config.API, env: map[string]string{"SESSION_IDLE_TIMEOUT": "48h"}, wantErr: "SESSION_IDLE_TIMEOUT (48h0m0s) is longer than SESSION_MAX_LIFETIME (24h0m0s)"},
		{cmd: config.API, args: []string{"--no-such-flag"}, wantErr: "no-such-flag"},
		{cmd: config.Worker, args: []string{"stray"}, wantErr: "unexpected argument"},
	} {
		_, err := config.Load(tc.cmd, tc.args, env(tc.env))
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.wantErr)
	}
}

func TestRequirements(t *testing.T) {
	var c config.Config
	err := config.Check(c.RequireDatabase(), c.RequireAWX())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\n", "one line")
	assert.Contains(t, err.Error(), "DATABASE_URL is required")
	assert.Contains(t, err.Error(), "AWX_URL is required")

	c = config.Config{DatabaseURL: "mysql://x", AWXURL: "awx.example", AWXToken: "t"}
	assert.ErrorContains(t, c.RequireDatabase(), "postgres://")
	assert.ErrorContains(t, c.RequireAWX(), "absolute http or https URL")
	c = config.Config{DatabaseURL: "postgres://u:p@h/db", AWXURL: "https://awx.example"}
	assert.NoError(t, c.RequireDatabase())
	assert.ErrorContains(t, c.RequireAWX(), "AWX_TOKEN is required")
	assert.NoError(t, config.Check(nil, nil))
}

func TestConfig_LogValueHidesSecrets(t *testing.T) {
	c := config.Config{
		DatabaseURL:         "postgres://app:hunter2@db:5432/cs?sslmode=disable&password=hunter3",
		AWXURL:              "https://awx.example",
		AWXToken:            "awx-secret-token",
		NotifyWebhookURL:    "https://hooks.example/services/path-secret?token=hook-secret",
		NotifyWebhookSecret: "webhook-signing-secret-0123456789abcdef",
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	out := buf.String()
	for _, secret := range []string{"hunter2", "hunter3", "awx-secret-token", "hook-secret", "path-secret", "hooks.example", "webhook-signing-secret"} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, `"notify_webhook_set":true`, "the webhook URL may hold a secret anywhere: none of it is logged")
	assert.Contains(t, out, "sslmode=disable")
	assert.Contains(t, out, `"awx_token_set":true`)
	assert.Contains(t, out, `"notify_webhook_secret_set":true`)
}

func TestRequireMetrics(t *testing.T) {
	assert.NoError(t, config.Config{HTTPAddr: "127.0.0.1:8080"}.RequireMetrics())
	assert.NoError(t, config.Config{HTTPAddr: "127.0.0.1:8080", MetricsAddr: "127.0.0.1:9090"}.RequireMetrics())
	assert.NoError(t, config.Config{HTTPAddr: "0.0.0.0:8080", MetricsAddr: ":9090"}.RequireMetrics())
	assert.ErrorContains(t, config.Config{HTTPAddr: "127.0.0.1:8080", MetricsAddr: "127.0.0.1:8080"}.RequireMetrics(), "must differ from HTTP_ADDR")
	assert.ErrorContains(t, config.Config{HTTPAddr: "127.0.0.1:8080", MetricsAddr: "9090"}.RequireMetrics(), "host:port")
}

func TestRequireNotify(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		url, secret string
		wantErr     string // "" for none
	}{
		{"", "", ""},
		{"", secret, "NOTIFY_WEBHOOK_SECRET is set but NOTIFY_WEBHOOK_URL is not"},
		{"https://hooks.example/services/path-secret", secret, ""},
		{"https://hooks.example/services/path-secret", "", "NOTIFY_WEBHOOK_SECRET is required"},
		{"http://10.0.0.7:9000/hook", "", "NOTIFY_WEBHOOK_SECRET is required"},
		{"http://localhost.example/hook", "", "NOTIFY_WEBHOOK_SECRET is required"},
		{"http://127.0.0.1:9000/hook", "", ""},
		{"http://localhost:9000/hook", "", ""},
		{"http://[::1]:9000/hook", "", ""},
		{"https://hooks.example/hook", "too-short", "at least 32 characters"},
		{"ftp://user:pw@hooks.example/path-secret", secret, "NOTIFY_WEBHOOK_URL must be an absolute http or https URL"},
	} {
		err := config.Config{NotifyWebhookURL: tc.url, NotifyWebhookSecret: tc.secret}.RequireNotify()
		if tc.wantErr == "" {
			assert.NoError(t, err, tc.url)
			continue
		}
		require.Error(t, err, tc.url)
		assert.Contains(t, err.Error(), tc.wantErr, tc.url)
		for _, leak := range []string{"path-secret", "pw@", tc.secret} {
			if leak != "" {
				assert.NotContains(t, err.Error(), leak, "the error repeats neither the URL nor the secret")
			}
		}
	}
}

func TestLoad_HelpNeverShowsSecrets(t *testing.T) {
	// flag writes usage to stderr; capture it.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	_, loadErr := config.Load(config.Worker, []string{"-h"}, env(map[string]string{
		"AWX_TOKEN": "awx-secret-token", "DATABASE_URL": "postgres://u:hunter2@db/x",
		"NOTIFY_WEBHOOK_URL": "https://hooks.example/path-secret", "NOTIFY_WEBHOOK_SECRET": "signing-secret-0123456789abcdef0123",
	}))
	os.Stderr = stderr
	require.NoError(t, w.Close())
	help, err := io.ReadAll(r)
	require.NoError(t, err)

	require.ErrorIs(t, loadErr, flag.ErrHelp)
	assert.Contains(t, string(help), "-awx-token")
	assert.NotContains(t, string(help), "awx-secret-token")
	assert.NotContains(t, string(help), "hunter2")
	assert.NotContains(t, string(help), "path-secret")
	assert.NotContains(t, string(help), "signing-secret")
	assert.Contains(t, string(help), "NOTIFY_WEBHOOK_SECRET")

	c, err := config.Load(config.Worker, nil, env(map[string]string{"AWX_TOKEN": "awx-secret-token"}))
	require.NoError(t, err)
	assert.Equal(t, "awx-secret-token", c.AWXToken, "the environment still applies")
	c, err = config.Load(config.Worker, []string{"--awx-token", "from-flag"}, env(map[string]string{"AWX_TOKEN": "awx-secret-token"}))
	require.NoError(t, err)
	assert.Equal(t, "from-flag", c.AWXToken)
}

func TestTemporalClientOptions(t *testing.T) {
	c := config.Config{TemporalAddress: "temporal.example:7233", TemporalNamespace: "prod"}
	_, err := c.TemporalClientOptions()
	require.ErrorContains(t, err, "PAYLOAD_KEYS or PAYLOAD_KEYS_FILE is required", "no Temporal client without the codec")

	c.PayloadKeys = "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	opts, err := c.TemporalClientOptions()
	require.NoError(t, err)
	assert.Equal(t, "temporal.example:7233", opts.HostPort)
	assert.Equal(t, "prod", opts.Namespace)
	p, err := opts.DataConverter.ToPayload(map[string]string{"db_password": "hunter2hunter2"})
	require.NoError(t, err)
	assert.Equal(t, "binary/encrypted", string(p.Metadata["encoding"]), "the client encrypts its payloads")
	assert.NotContains(t, string(p.Data), "hunter2")
}

func TestPayloadKeys(t *testing.T) {
	key := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(file, []byte(key+"\n"), 0o600))

	r, err := config.Config{PayloadKeysFile: file}.PayloadRing()
	require.NoError(t, err)
	assert.Equal(t, "k1", r.Current())
	_, err = config.Config{PayloadKeys: key, PayloadKeysFile: file}.PayloadRing()
	assert.ErrorContains(t, err, "not both")
	_, err = config.Config{PayloadKeys: "k1:short"}.PayloadRing()
	assert.ErrorContains(t, err, "PAYLOAD_KEYS")
	require.NoError(t, os.Chmod(file, 0o640))
	_, err = config.Config{PayloadKeysFile: file}.PayloadRing()
	assert.ErrorContains(t, err, "readable by others")

	c := config.Config{PayloadKeys: key}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c)
	assert.NotContains(t, logged.String(), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)), "keys are never logged")
	assert.Contains(t, logged.String(), `"payload_keys_set":true`)
}

func TestLoad_DecisionAndCodecSettings(t *testing.T) {
	c, err := config.Load(config.Worker, nil, env(map[string]string{"TEMPORAL_DECISIONS": "off"}))
	require.NoError(t, err)
	assert.Equal(t, proof.ModeOff, c.DecisionMode(proof.ModeVerified))
	c, err = config.Load(config.API, nil, env(map[string]string{
		"CODEC_TEAM": "acme/sre", "CODEC_ORIGINS": "https://temporal.example.com/, http://127.0.0.1:8233",
	}))
	require.NoError(t, err)
	assert.Equal(t, []string{"https://temporal.example.com", "http://127.0.0.1:8233"}, c.CodecOriginList())
	c, err = config.Load(config.Worker, nil, env(nil))
	require.NoError(t, err)
	assert.Equal(t, proof.ModeVerified, c.DecisionMode(proof.ModeVerified), "the worker's default")
	assert.Equal(t, proof.ModeTrusted, c.DecisionMode(proof.ModeTrusted), "the default the caller gives")

	for _, tc := range []struct {
		cmd        config.Command
		key, value string
	}{
		{config.Worker, "TEMPORAL_DECISIONS", "sometimes"}, {config.API, "CODEC_TEAM", "sre"}, {config.API, "CODEC_ORIGINS", "temporal.example.com/ui"},
	} {
		_, err := config.Load(tc.cmd, nil, env(map[string]string{tc.key: tc.value}))
		assert.ErrorContains(t, err, tc.key)
	}
}

func TestRequireMail(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	const portal = "https://countersign.example.com"
	for _, tc := range []struct {
		name                   string
		url, from, key, portal string
		wantErr                string // "" for none
	}{
		{"no mail", "", "", "", "", ""},
		{"mail without links", "smtp://u:smtp-secret@mail.example", "cs@example.com", "", portal, ""},
		{"smtps with links", "smtps://u:smtp-secret@mail.example:465", "cs@example.com", key, portal, ""},
		{"a sender without a server", "", "cs@example.com", "", "", "SMTP_FROM is set but SMTP_URL is not"},
		{"a link key without mail", "", "", key, "", "MAIL_LINK_KEY is set but SMTP_URL is not"},
		{"not smtp", "https://u:smtp-secret@mail.example", "cs@example.com", "", portal, "SMTP_URL must be"},
		{"no sender", "smtp://u:smtp-secret@mail.example", "", "", portal, "SMTP_FROM is required"},
		{"no portal", "smtp://u:smtp-secret@mail.example", "cs@example.com", "", "", "PORTAL_URL is required"},
		{"a portal that is no URL", "smtp://u:smtp-secret@mail.example", "cs@example.com", "", "countersign.example.com", "PORTAL_URL is required"},
		{"a short key", "smtp://u:smtp-secret@mail.example", "cs@example.com", "short-key-secret", portal, "at least 32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := config.Config{SMTPURL: tc.url, SMTPFrom: tc.from, MailLinkKey: tc.key, PortalURL: tc.portal}.RequireMail()
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			assert.NotContains(t, err.Error(), "smtp-secret")
			assert.NotContains(t, err.Error(), "short-key-secret")
		})
	}
	t.Run("the API checks the key alone", func(t *testing.T) {
		assert.NoError(t, config.Config{MailLinkKey: key}.RequireMailLinks())
		assert.ErrorContains(t, config.Config{MailLinkKey: "short"}.RequireMailLinks(), "at least 32 bytes")
	})
	t.Run("the SMTP password is masked in the log", func(t *testing.T) {
		var b strings.Builder
		slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", config.Config{SMTPURL: "smtp://u:smtp-secret@mail.example", MailLinkKey: key})
		assert.NotContains(t, b.String(), "smtp-secret")
		assert.NotContains(t, b.String(), key)
		assert.Contains(t, b.String(), "mail.example")
	})
}
