// Package config loads Countersign's configuration (SPEC 9) for every
// subcommand through one loader (Load): each setting is a flag with an
// environment variable, the flag wins, and each subcommand reads only its
// own settings. Each subcommand checks the settings it requires (the
// Require methods), once, at start.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/mail"
	"github.com/countersign/countersign/proof"
)

// Config is every setting of every subcommand. Load fills in the settings
// of one subcommand, from its defaults up; the others stay zero.
type Config struct {
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	AWXURL            string
	AWXToken          string
	HTTPAddr          string
	// MetricsAddr, when set, is where /metrics is served instead of on
	// HTTPAddr.
	MetricsAddr      string
	LogLevel         slog.Level
	NotifyWebhookURL string
	// NotifyWebhookSecret signs webhook deliveries (notify.SignatureHeader).
	NotifyWebhookSecret string
	// SMTPURL, when set, sends notifications as mail too
	// (smtp[s]://[user:password@]host[:port]); SMTPFrom is their sender.
	SMTPURL  string
	SMTPFrom string
	// MailLinkKey signs the decision links of pending and reminder mails
	// (worker) and verifies them (api); empty: mails carry no links.
	MailLinkKey string
	// PortalURL is the portal's address as users reach it
	// (https://countersign.example.com): mails link to it.
	PortalURL string
	// AWXPollInterval is how often a running AWX job is polled.
	AWXPollInterval time.Duration
	// WorkerStickyCacheSize is how many workflows the worker keeps in
	// memory between their tasks (the Temporal SDK's sticky cache, shared
	// by the process); zero leaves the SDK's default.
	WorkerStickyCacheSize int
	// WorkerPollers is how the worker polls for each kind of task
	// (workflow, activity); the zero value leaves the SDK's two pollers.
	WorkerPollers Pollers
	// PayloadKeys and PayloadKeysFile give the keys that encrypt Temporal
	// payloads (one of them; see package codec).
	PayloadKeys     string
	PayloadKeysFile string
	// Decisions is how the worker treats decisions sent through Temporal
	// rather than the API; empty means the subcommand's default.
	Decisions string
	// CodecTeam ("<organization>/<team>") may read decoded payloads through
	// the codec endpoint, besides superusers.
	CodecTeam string
	// CodecOrigins are the browser origins (the Temporal Web UI's) allowed
	// to call the codec endpoint, comma separated.
	CodecOrigins string
	// StageLimits bound the timeouts and reminder intervals of approval
	// stages (the API enforces them).
	StageLimits approval.StageLimits
	// SessionIdleTimeout ends a portal session unused for that long;
	// SessionMaxLifetime ends it that long after sign-in, however used.
	SessionIdleTimeout time.Duration
	SessionMaxLifetime time.Duration
	// OIDC configures sign-in through an OpenID provider (api).
	OIDC OIDCSettings
	// DecisionKey is a user's private decision key (DecisionKeyEnv), for
	// `countersign decision sign`; never logged.
	DecisionKey string
	// Slack configures the Slack app (api: Socket Mode and its
	// interactions; worker: direct messages).
	Slack SlackSettings
	// Dev holds the settings only `countersign dev` reads.
	Dev DevSettings
	// Sim holds the settings of `countersign awx-sim`.
	Sim SimSettings
	// IDP holds the settings of `countersign dev-idp`.
	IDP IDPSettings
}

// DevSettings are the settings of `countersign dev`, besides DatabaseURL,
// LogLevel and Decisions.
type DevSettings struct {
	// DataDir (absolute) is kept between runs: the PostgreSQL cluster, the
	// Temporal database, the payload keys, the log.
	DataDir string
	// AllowDatabaseURL accepts a DatabaseURL that dev did not prepare.
	AllowDatabaseURL bool
	// The ports dev listens on, on 127.0.0.1 (PGPort: unless DatabaseURL
	// is set; IDPPort: the local OpenID provider's).
	APIPort, TemporalPort, UIPort, AWXPort, PGPort, IDPPort int
	// MailPort serves the page of the mails the stack sent (its SMTP
	// catcher listens on a free port of its own).
	MailPort int
	// JobDuration is how long a simulated AWX job runs.
	JobDuration time.Duration
}

// SimSettings are the settings of `countersign awx-sim`.
type SimSettings struct {
	Addr string
	// Tokens are the bearer tokens accepted; none accepts any.
	Tokens   []string
	Username string
	// JobDuration is the time from a launch to the job's end.
	JobDuration time.Duration
}

// IDPSettings are the settings of `countersign dev-idp`, the local OpenID
// provider for development and tests.
type IDPSettings struct {
	Addr string
	// Issuer is the provider's URL as clients reach it; empty is
	// http://<Addr>.
	Issuer string
	// The one registered client.
	ClientID, ClientSecret string
	RedirectURLs           []string
	// UsersFile lists the users; empty means the demo users.
	UsersFile string
	// GroupsClaim names the claim of a user's groups.
	GroupsClaim string
	// KeyFile holds the RSA signing key; empty generates one at start.
	KeyFile string
}

// CodecOriginList is CodecOrigins split.
func (c Config) CodecOriginList() []string {
	var out []string
	for _, o := range strings.Split(c.CodecOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, strings.TrimSuffix(o, "/"))
		}
	}
	return out
}

// DecisionMode is Decisions parsed, def when unset.
func (c Config) DecisionMode(def proof.Mode) proof.Mode {
	m, err := proof.ParseMode(c.Decisions, def)
	if err != nil {
		return proof.ModeVerified // Load refused it already; never fall open
	}
	return m
}

// PayloadRing loads the payload keys from PAYLOAD_KEYS or
// PAYLOAD_KEYS_FILE; exactly one is required.
func (c Config) PayloadRing() (*codec.Ring, error) {
	switch {
	case c.PayloadKeys != "" && c.PayloadKeysFile != "":
		return nil, errors.New("set PAYLOAD_KEYS or PAYLOAD_KEYS_FILE, not both")
	case c.PayloadKeys != "":
		r, err := codec.ParseKeys(c.PayloadKeys)
		if err != nil {
			return nil, fmt.Errorf("PAYLOAD_KEYS: %w", err)
		}
		return r, nil
	case c.PayloadKeysFile != "":
		return codec.LoadKeyFile(c.PayloadKeysFile)
	}
	return nil, errors.New("PAYLOAD_KEYS or PAYLOAD_KEYS_FILE is required: the keys that encrypt Temporal payloads (make one with `countersign keys generate`)")
}

// RequirePayloadKeys checks that the payload keys load.
func (c Config) RequirePayloadKeys() error {
	_, err := c.PayloadRing()
	return err
}

// Check joins the failed checks into one error on one line, so bad
// configuration stops a process with one clear line.
func Check(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// RequireDatabase checks DATABASE_URL.
func (c Config) RequireDatabase() error {
	if c.DatabaseURL == "" {
		return errors.New("DATABASE_URL is required (e.g. postgres://user:pass@host:5432/countersign?sslmode=disable)")
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("DATABASE_URL must be a postgres:// URL")
	}
	return nil
}

// RequireAWX checks AWX_URL and AWX_TOKEN.
func (c Config) RequireAWX() error {
	if c.AWXURL == "" {
		return errors.New("AWX_URL is required (e.g. https://awx.example.com)")
	}
	u, err := url.Parse(c.AWXURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("AWX_URL %q must be an absolute http or https URL", c.AWXURL)
	}
	if c.AWXToken == "" {
		return errors.New("AWX_TOKEN is required (an AWX OAuth2 personal access token)")
	}
	return nil
}

// RequireMetrics checks METRICS_ADDR: a host:port other than HTTP_ADDR,
// or empty.
func (c Config) RequireMetrics() error {
	if c.MetricsAddr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
		return fmt.Errorf("METRICS_ADDR %q must be host:port, e.g. 127.0.0.1:9090", c.MetricsAddr)
	}
	if c.MetricsAddr == c.HTTPAddr {
		return errors.New("METRICS_ADDR must differ from HTTP_ADDR (leave it empty to serve /metrics with the API)")
	}
	return nil
}

// minWebhookSecret is the shortest webhook secret accepted: the HMAC is
// only as strong as its key, and anyone who sees one signed delivery can
// try guesses offline.
const minWebhookSecret = 32

// RequireNotify checks NOTIFY_WEBHOOK_URL and NOTIFY_WEBHOOK_SECRET: a
// webhook outside this host (not localhost nor a loopback address) must
// have a secret, so its receiver can tell Countersign's deliveries from
// anyone else's; a secret has at least 32 characters. Errors never repeat
// the URL nor the secret.
func (c Config) RequireNotify() error {
	if c.NotifyWebhookURL == "" {
		if c.NotifyWebhookSecret != "" {
			return errors.New("NOTIFY_WEBHOOK_SECRET is set but NOTIFY_WEBHOOK_URL is not")
		}
		return nil
	}
	u, err := url.Parse(c.NotifyWebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("NOTIFY_WEBHOOK_URL must be an absolute http or https URL")
	}
	if c.NotifyWebhookSecret == "" {
		if !c.WebhookOnLoopback() {
			return errors.New("NOTIFY_WEBHOOK_SECRET is required with a NOTIFY_WEBHOOK_URL outside this host: receivers verify deliveries with it (e.g. openssl rand -hex 32)")
		}
		return nil
	}
	if len(c.NotifyWebhookSecret) < minWebhookSecret {
		return fmt.Errorf("NOTIFY_WEBHOOK_SECRET must be at least %d characters (e.g. openssl rand -hex 32)", minWebhookSecret)
	}
	return nil
}

// MinMailLinkKey is the shortest MAIL_LINK_KEY accepted: the mail
// package's own bound, checked here so the configuration fails first.
const MinMailLinkKey = mail.MinLinkKey

// RequireMail checks SMTP_URL, SMTP_FROM, MAIL_LINK_KEY and PORTAL_URL
// for the worker: SMTP_FROM and PORTAL_URL come with SMTP_URL, a link key
// has at least 32 bytes and needs mail. Errors never repeat the URL's
// password nor the key.
func (c Config) RequireMail() error {
	if c.SMTPURL == "" {
		if c.SMTPFrom != "" {
			return errors.New("SMTP_FROM is set but SMTP_URL is not")
		}
		if c.MailLinkKey != "" {
			return errors.New("MAIL_LINK_KEY is set but SMTP_URL is not: only mails carry decision links")
		}
		return nil
	}
	u, err := url.Parse(c.SMTPURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return errors.New("SMTP_URL must be smtp://[user:password@]host[:port] or smtps://…")
	}
	if c.SMTPFrom == "" {
		return errors.New("SMTP_FROM is required with SMTP_URL (e.g. Countersign <countersign@example.com>)")
	}
	if err := c.requirePortalURL("SMTP_URL"); err != nil {
		return err
	}
	return c.requireMailLinkKey()
}

// RequireMailLinks checks MAIL_LINK_KEY for the API, which verifies the
// links: at least 32 bytes when set.
func (c Config) RequireMailLinks() error { return c.requireMailLinkKey() }

func (c Config) requireMailLinkKey() error {
	if c.MailLinkKey != "" && len(c.MailLinkKey) < MinMailLinkKey {
		return fmt.Errorf("MAIL_LINK_KEY must be at least %d bytes (e.g. openssl rand -hex 32)", MinMailLinkKey)
	}
	return nil
}

// requirePortalURL checks PORTAL_URL, which the setting named by with
// needs: mails and Slack messages link to the portal.
func (c Config) requirePortalURL(with string) error {
	u, err := url.Parse(c.PortalURL)
	if c.PortalURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("PORTAL_URL is required with %s: the portal's address as users reach it, e.g. https://countersign.example.com", with)
	}
	return nil
}

// checkSlack judges the Slack settings; api says whether the app token is
// read. Slack's messages link to the portal, at PORTAL_URL.
func (c Config) checkSlack(api bool) error {
	if err := c.Slack.check(api); err != nil || !c.Slack.Enabled() {
		return err
	}
	return c.requirePortalURL("SLACK_BOT_TOKEN")
}

// WebhookOnLoopback reports whether NOTIFY_WEBHOOK_URL names this host
// (localhost or a loopback address), where deliveries may go unsigned.
func (c Config) WebhookOnLoopback() bool {
	u, err := url.Parse(c.NotifyWebhookURL)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TemporalClientOptions builds the Temporal client options from the SDK's
// TEMPORAL_* conventions (TLS, API key, gRPC metadata, config profile) with
// the address and namespace of this configuration on top, and every
// payload encrypted with the payload keys.
func (c Config) TemporalClientOptions() (client.Options, error) {
	ring, err := c.PayloadRing()
	if err != nil {
		return client.Options{}, err
	}
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal client settings: %w", err)
	}
	opts.DataConverter = codec.DataConverter(ring)
	if c.TemporalAddress != "" {
		opts.HostPort = c.TemporalAddress
	}
	if c.TemporalNamespace != "" {
		opts.Namespace = c.TemporalNamespace
	}
	return opts, nil
}

// LogValue masks secrets when the configuration is logged.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.String("temporal_address", c.TemporalAddress),
		slog.String("temporal_namespace", c.TemporalNamespace),
		slog.String("task_queue", c.TaskQueue),
		slog.String("awx_url", maskURL(c.AWXURL)),
		slog.Bool("awx_token_set", c.AWXToken != ""),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("log_level", c.LogLevel.String()),
		// Webhook URLs often carry their token in the path or the host
		// name: no part of it is logged.
		slog.Bool("notify_webhook_set", c.NotifyWebhookURL != ""),
		slog.Bool("notify_webhook_secret_set", c.NotifyWebhookSecret != ""),
		slog.String("smtp_url", maskURL(c.SMTPURL)),
		slog.String("smtp_from", c.SMTPFrom),
		slog.Bool("mail_link_key_set", c.MailLinkKey != ""),
		slog.String("portal_url", c.PortalURL),
		slog.Duration("awx_poll_interval", c.AWXPollInterval),
		slog.Int("worker_sticky_cache_size", c.WorkerStickyCacheSize),
		slog.String("worker_pollers", c.WorkerPollers.String()),
		slog.Bool("payload_keys_set", c.PayloadKeys != ""),
		slog.String("payload_keys_file", c.PayloadKeysFile),
		slog.String("temporal_decisions", c.Decisions),
		slog.String("codec_team", c.CodecTeam),
		slog.String("codec_origins", c.CodecOrigins),
		slog.Duration("min_stage_timeout", c.StageLimits.MinTimeout),
		slog.Duration("max_stage_timeout", c.StageLimits.MaxTimeout),
		slog.Duration("min_reminder_interval", c.StageLimits.MinReminderInterval),
		slog.Duration("session_idle_timeout", c.SessionIdleTimeout),
		slog.Duration("session_max_lifetime", c.SessionMaxLifetime),
		slog.Any("oidc", c.OIDC),
		slog.Attr{Key: "slack", Value: c.Slack.LogValue()},
	)
}

// SlackSettings configure the Slack app. It is enabled by its bot token
// (both processes) and, in the API, its app-level token; neither is ever
// logged.
type SlackSettings struct {
	// AppToken (xapp-…) opens Socket Mode connections (api).
	AppToken string
	// BotToken (xoxb-…) calls the Web API.
	BotToken string
	// APIURL is Slack's Web API base URL (tests point it elsewhere).
	APIURL string
}

// Enabled reports whether the Slack app is configured.
func (s SlackSettings) Enabled() bool { return s.BotToken != "" }

// LogValue masks the tokens.
func (s SlackSettings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("app_token_set", s.AppToken != ""),
		slog.Bool("bot_token_set", s.BotToken != ""),
		slog.String("api_url", maskURL(s.APIURL)),
	)
}

// check judges the Slack settings together; api says whether the app
// token is read.
func (s SlackSettings) check(api bool) error {
	if s.BotToken == "" {
		if s.AppToken != "" {
			return errors.New("SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not")
		}
		return nil
	}
	if !strings.HasPrefix(s.BotToken, "xoxb-") {
		return errors.New("SLACK_BOT_TOKEN must be a bot token (xoxb-…)")
	}
	if api && !strings.HasPrefix(s.AppToken, "xapp-") {
		return errors.New("SLACK_APP_TOKEN must be an app-level token (xapp-…) with connections:write when SLACK_BOT_TOKEN is set")
	}
	if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("SLACK_API_URL must be an absolute http or https URL")
	}
	return nil
}

// maskURL hides a URL's password and query (which may hold tokens).
func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for key := range q {
		k := strings.ToLower(key)
		if strings.Contains(k, "pass") || strings.Contains(k, "token") || strings.Contains(k, "secret") || strings.Contains(k, "key") {
			q.Set(key, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
