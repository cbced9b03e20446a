package config_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/proof"
)

// readBy is the environment variables each command reads: the README's
// configuration table, and docker-compose.yml's services.
var readBy = map[config.Command][]string{
	config.API: {"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TASK_QUEUE", "AWX_URL", "AWX_TOKEN",
		"PAYLOAD_KEYS", "PAYLOAD_KEYS_FILE", "LOG_LEVEL", "HTTP_ADDR", "METRICS_ADDR", "CODEC_TEAM", "CODEC_ORIGINS",
		"MIN_STAGE_TIMEOUT", "MAX_STAGE_TIMEOUT", "MIN_REMINDER_INTERVAL", "SESSION_IDLE_TIMEOUT", "SESSION_MAX_LIFETIME",
		"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_REDIRECT_URL", "OIDC_SCOPES",
		"OIDC_USERNAME_CLAIM", "OIDC_GROUPS_CLAIM", "OIDC_GROUP_MAP", "OIDC_PROVIDER_NAME", "PORTAL_TOKEN_SIGNIN",
		"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL", "PORTAL_URL", "MAIL_LINK_KEY"},
	config.Worker: {"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TASK_QUEUE", "AWX_URL", "AWX_TOKEN",
		"PAYLOAD_KEYS", "PAYLOAD_KEYS_FILE", "LOG_LEVEL", "TEMPORAL_DECISIONS", "AWX_POLL_INTERVAL",
		"WORKER_STICKY_CACHE_SIZE", "WORKER_POLLERS", "NOTIFY_WEBHOOK_URL", "NOTIFY_WEBHOOK_SECRET",
		"SLACK_BOT_TOKEN", "SLACK_API_URL", "SMTP_URL", "SMTP_FROM", "PORTAL_URL", "MAIL_LINK_KEY"},
	config.Migrate: {"DATABASE_URL", "LOG_LEVEL"},
	config.Token:   {"DATABASE_URL"},
	config.Dev: {"DATABASE_URL", "LOG_LEVEL", "TEMPORAL_DECISIONS", "WORKER_STICKY_CACHE_SIZE", "DEV_DATA_DIR", "DEV_ALLOW_DATABASE_URL",
		"DEV_API_PORT", "DEV_TEMPORAL_PORT", "DEV_UI_PORT", "DEV_AWX_PORT", "DEV_PG_PORT", "DEV_IDP_PORT", "DEV_MAIL_PORT", "DEV_JOB_DURATION"},
	config.AWXSim: {"AWX_SIM_ADDR", "AWX_SIM_TOKENS", "AWX_SIM_USERNAME", "AWX_SIM_JOB_DURATION"},
	config.DevIDP: {"DEV_IDP_ADDR", "DEV_IDP_ISSUER", "DEV_IDP_CLIENT_ID", "DEV_IDP_CLIENT_SECRET", "DEV_IDP_REDIRECT_URL",
		"DEV_IDP_USERS_FILE", "DEV_IDP_GROUPS_CLAIM", "DEV_IDP_KEY_FILE"},
	config.Keys:     nil,
	config.Decision: {config.DecisionKeyEnv},
}

func TestLoad_EachCommandReadsItsOwnSettings(t *testing.T) {
	for cmd, want := range readBy {
		var read []string
		_, err := config.Load(cmd, nil, func(key string) (string, bool) {
			read = append(read, key)
			return "", false
		})
		require.NoError(t, err, cmd)
		slices.Sort(read)
		want = slices.Sorted(slices.Values(want))
		assert.Equal(t, want, read, cmd)
	}
	_, err := config.Load("frobnicate", nil, env(nil))
	assert.ErrorContains(t, err, `no settings for command "frobnicate"`)
}

// A flag of another command is refused like any unknown flag: `migrate
// --awx-url` has no effect, so it is a mistake.
func TestLoad_RefusesAnotherCommandsFlag(t *testing.T) {
	for cmd, args := range map[config.Command][]string{
		config.Migrate: {"--awx-url", "https://awx.example"},
		config.API:     {"--notify-webhook-url", "https://hooks.example/x"},
		config.Worker:  {"--http-addr", "127.0.0.1:9999"},
		config.Token:   {"--log-level", "debug"},
		config.Dev:     {"--awx-url", "https://awx.example"},
	} {
		fs := flag.NewFlagSet(string(cmd), flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		_, err := config.LoadFlags(fs, cmd, args, env(nil))
		assert.ErrorContains(t, err, "flag provided but not defined: "+args[0][1:], cmd)
	}
}

// LoadFlags parses the command's own arguments with its settings; the
// environment never fills an argument, and a secret read from the
// environment only has no flag.
func TestLoadFlags_CommandArguments(t *testing.T) {
	fs := flag.NewFlagSet("countersign decision sign", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	user := fs.String("user", "", "the user deciding")
	c, err := config.LoadFlags(fs, config.Decision, []string{"--user", "bob"}, env(map[string]string{
		config.DecisionKeyEnv: "csdk_private", "USER": "mallory",
	}))
	require.NoError(t, err)
	assert.Equal(t, "bob", *user)
	assert.Equal(t, "csdk_private", c.DecisionKey)
	assert.Nil(t, fs.Lookup("decision-key"), "the key is never a flag: it would show in process lists")

	fs = flag.NewFlagSet("countersign decision sign", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err = config.LoadFlags(fs, config.Decision, []string{"stray"}, env(nil))
	assert.ErrorContains(t, err, `unexpected argument "stray"`)
}

func TestLoad_AWXSim(t *testing.T) {
	c, err := config.Load(config.AWXSim, nil, env(nil))
	require.NoError(t, err)
	assert.Equal(t, config.SimSettings{Addr: "127.0.0.1:8052", Username: "countersign", JobDuration: 10 * time.Second}, c.Sim)

	c, err = config.Load(config.AWXSim, []string{"--job-duration", "3s"}, env(map[string]string{
		"AWX_SIM_TOKENS": " a, b ,,", "AWX_SIM_JOB_DURATION": "1h", "AWX_SIM_ADDR": "0.0.0.0:8052",
	}))
	require.NoError(t, err)
	assert.Equal(t, config.SimSettings{Addr: "0.0.0.0:8052", Tokens: []string{"a", "b"}, Username: "countersign", JobDuration: 3 * time.Second}, c.Sim)

	for _, bad := range []string{"soon", "0s", "-1s"} {
		_, err := config.Load(config.AWXSim, nil, env(map[string]string{"AWX_SIM_JOB_DURATION": bad}))
		assert.ErrorContains(t, err, "AWX_SIM_JOB_DURATION", bad)
	}
}

func TestLoad_Dev(t *testing.T) {
	c, err := config.Load(config.Dev, nil, env(nil))
	require.NoError(t, err)
	abs, err := filepath.Abs(".data")
	require.NoError(t, err)
	assert.Equal(t, config.DevSettings{DataDir: abs, APIPort: 8080, TemporalPort: 7233, UIPort: 8233, AWXPort: 8052, PGPort: 15432,
		IDPPort: 5556, MailPort: 8025, JobDuration: 20 * time.Second}, c.Dev)
	assert.Equal(t, proof.ModeTrusted, c.DecisionMode(proof.ModeVerified), "dev trusts the temporal CLI by default")

	c, err = config.Load(config.Dev, []string{"--allow-database-url"}, env(nil))
	require.NoError(t, err)
	assert.True(t, c.Dev.AllowDatabaseURL)
	c, err = config.Load(config.Dev, nil, env(map[string]string{"DEV_ALLOW_DATABASE_URL": "true", "TEMPORAL_DECISIONS": "verified"}))
	require.NoError(t, err)
	assert.True(t, c.Dev.AllowDatabaseURL)
	assert.Equal(t, proof.ModeVerified, c.DecisionMode(proof.ModeTrusted))
	_, err = config.Load(config.Dev, nil, env(map[string]string{"DEV_ALLOW_DATABASE_URL": "maybe"}))
	assert.ErrorContains(t, err, `--allow-database-url (DEV_ALLOW_DATABASE_URL) "maybe": use true or false`)
}

func TestLoad_DevBadFlags(t *testing.T) {
	_, err := config.Load(config.Dev, []string{"--job-duration", "0s"}, func(string) (string, bool) { return "", false })
	assert.ErrorContains(t, err, "--job-duration")
	_, err = config.Load(config.Dev, nil, func(k string) (string, bool) { return map[string]string{"DEV_API_PORT": "http"}[k], true })
	assert.ErrorContains(t, err, "--api-port")
	o, err := config.Load(config.Dev, []string{"--api-port", "9090"}, func(k string) (string, bool) {
		return map[string]string{"DEV_API_PORT": "9999", "DEV_AWX_PORT": "9052"}[k], true
	})
	require.NoError(t, err)
	assert.Equal(t, 9090, o.Dev.APIPort, "a flag wins over the environment")
	assert.Equal(t, 9052, o.Dev.AWXPort)
	assert.Equal(t, 8233, o.Dev.UIPort)
}

// `countersign dev -h` shows the flags' built-in defaults: values from the
// environment, such as DATABASE_URL's password, stay out of it.
func TestLoad_DevHelpHidesTheEnvironment(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	_, parseErr := config.Load(config.Dev, []string{"-h"}, func(k string) (string, bool) {
		v, ok := map[string]string{"DATABASE_URL": "postgres://u:hunter2@db.example/x", "DEV_DATA_DIR": "/srv/secret-dir"}[k]
		return v, ok
	})
	os.Stderr = stderr
	require.NoError(t, w.Close())
	help, err := io.ReadAll(r)
	require.NoError(t, err)
	require.ErrorIs(t, parseErr, flag.ErrHelp)
	assert.Contains(t, string(help), "-database-url")
	assert.Contains(t, string(help), "DATABASE_URL")
	assert.NotContains(t, string(help), "hunter2")
	assert.NotContains(t, string(help), "db.example")
	assert.NotContains(t, string(help), "secret-dir")

	o, err := config.Load(config.Dev, nil, func(k string) (string, bool) {
		v, ok := map[string]string{"DATABASE_URL": "postgres://u:hunter2@db.example/x"}[k]
		return v, ok
	})
	require.NoError(t, err)
	assert.Equal(t, "postgres://u:hunter2@db.example/x", o.DatabaseURL, "the environment still applies")
	o, err = config.Load(config.Dev, []string{"--database-url", "postgres://flag/x"}, func(k string) (string, bool) {
		v, ok := map[string]string{"DATABASE_URL": "postgres://env/x"}[k]
		return v, ok
	})
	require.NoError(t, err)
	assert.Equal(t, "postgres://flag/x", o.DatabaseURL, "a flag wins over the environment")
}

func TestLoad_DevIDP(t *testing.T) {
	c, err := config.Load(config.DevIDP, nil, env(nil))
	require.NoError(t, err)
	assert.Equal(t, config.IDPSettings{Addr: "127.0.0.1:5556", ClientID: "countersign", ClientSecret: "countersign-dev-secret",
		RedirectURLs: []string{"http://127.0.0.1:8080/oidc/callback", "http://localhost:8080/oidc/callback"}, GroupsClaim: "groups"}, c.IDP)

	c, err = config.Load(config.DevIDP, []string{"--client-id", "portal"}, env(map[string]string{
		"DEV_IDP_CLIENT_ID": "ignored", "DEV_IDP_REDIRECT_URL": " http://a/cb, ,http://b/cb", "DEV_IDP_GROUPS_CLAIM": "roles",
	}))
	require.NoError(t, err)
	assert.Equal(t, "portal", c.IDP.ClientID)
	assert.Equal(t, []string{"http://a/cb", "http://b/cb"}, c.IDP.RedirectURLs)
	assert.Equal(t, "roles", c.IDP.GroupsClaim)
}

func TestLoad_Slack(t *testing.T) {
	const portal = "https://countersign.example.com"
	for _, tc := range []struct {
		name string
		cmd  config.Command
		env  map[string]string
		err  string
	}{
		{"off", config.API, nil, ""},
		{"api", config.API, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "PORTAL_URL": portal}, ""},
		{"worker needs no app token", config.Worker, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "PORTAL_URL": portal}, ""},
		{"api needs the app token", config.API, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN must be an app-level token"},
		{"app token alone", config.API, map[string]string{"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not"},
		{"a user token is not a bot token", config.Worker, map[string]string{"SLACK_BOT_TOKEN": "xoxp-1"}, "SLACK_BOT_TOKEN must be a bot token"},
		{"the portal's address", config.Worker, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, "PORTAL_URL is required with SLACK_BOT_TOKEN"},
		{"an absolute portal address", config.API, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "PORTAL_URL": "/ui"},
			"PORTAL_URL is required with SLACK_BOT_TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(tc.cmd, nil, env(tc.env))
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.env["SLACK_BOT_TOKEN"] != "", c.Slack.Enabled())
		})
	}
	c, err := config.Load(config.API, nil, env(map[string]string{"SLACK_BOT_TOKEN": "xoxb-bot-secret", "SLACK_APP_TOKEN": "xapp-app-secret",
		"PORTAL_URL": portal}))
	require.NoError(t, err)
	logged := c.LogValue().String()
	assert.NotContains(t, logged, "bot-secret")
	assert.NotContains(t, logged, "app-secret")
	assert.Contains(t, logged, "bot_token_set=true")
}
