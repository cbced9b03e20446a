package config

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/proof"
)

// Command is a subcommand of countersign; Load reads the settings it uses.
type Command string

// The subcommands.
const (
	API      Command = "api"
	Worker   Command = "worker"
	Migrate  Command = "migrate"
	Token    Command = "token"
	Dev      Command = "dev"
	AWXSim   Command = "awx-sim"
	DevIDP   Command = "dev-idp"
	Keys     Command = "keys"
	Decision Command = "decision"
)

// DecisionKeyEnv holds a user's private decision key for `countersign
// decision sign`. It has no flag, so the key stays out of process lists
// and shell history.
const DecisionKeyEnv = "COUNTERSIGN_DECISION_KEY"

// Lookup reads an environment variable; os.LookupEnv in production.
type Lookup func(key string) (string, bool)

// Load reads cmd's settings from args (without the subcommand) over the
// environment. A flag given wins over its environment variable. The
// environment applies after parsing, so that its values (passwords in
// DATABASE_URL, tokens) never show in the help text: -h shows built-in
// defaults only, and returns flag.ErrHelp. A setting's bad value is an
// error naming its flag and its variable.
func Load(cmd Command, args []string, env Lookup) (Config, error) {
	return LoadFlags(flag.NewFlagSet("countersign "+string(cmd), flag.ContinueOnError), cmd, args, env)
}

// LoadFlags is Load for a command with arguments of its own (token's
// --user, decision's --request): fs holds their flags, and LoadFlags adds
// cmd's settings to it before parsing args.
func LoadFlags(fs *flag.FlagSet, cmd Command, args []string, env Lookup) (Config, error) {
	var c Config
	spec, err := c.command(cmd)
	if err != nil {
		return c, err
	}
	values := make([]string, len(spec.settings))
	for i, s := range spec.settings {
		values[i] = s.def
		switch {
		case s.flag == "": // environment only
		case s.boolean:
			fs.BoolFunc(s.flag, fmt.Sprintf("%s (env %s=true)", s.usage, s.env), func(v string) error { values[i] = v; return nil })
		default:
			fs.StringVar(&values[i], s.flag, s.def, fmt.Sprintf("%s (env %s)", s.usage, s.env))
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for i, s := range spec.settings {
		if v, ok := env(s.env); ok && v != "" && (s.flag == "" || !given[s.flag]) {
			values[i] = v
		}
	}
	for i, s := range spec.settings {
		if err := s.set(values[i]); err != nil {
			return c, s.refuse(values[i], err)
		}
	}
	if spec.check != nil {
		if err := spec.check(); err != nil {
			return c, err
		}
	}
	return c, nil
}

// setting is one setting of a command: a flag (none for a secret read
// from the environment only), its environment variable, its built-in
// default, and where its value goes.
type setting struct {
	flag, env, usage, def string
	// boolean settings take no value on the command line
	// (--allow-database-url).
	boolean bool
	// set stores a value: the default, the flag's or the environment's.
	// Its error says what to give instead.
	set func(v string) error
}

// refuse is the error for a bad value of s.
func (s setting) refuse(v string, err error) error {
	if s.flag == "" {
		return fmt.Errorf("%s: %w", s.env, err)
	}
	return fmt.Errorf("--%s (%s) %q: %w", s.flag, s.env, v, err)
}

// command is what Load reads for one subcommand.
type command struct {
	settings []setting
	// check judges settings together, once each one is read.
	check func() error
}

// command lists the settings of cmd, each storing its value in c. The
// README's configuration table says which command reads which.
func (c *Config) command(cmd Command) (command, error) {
	var (
		database          = setting{"database-url", "DATABASE_URL", "PostgreSQL URL", "", false, text(&c.DatabaseURL)}
		temporalAddress   = setting{"temporal-address", "TEMPORAL_ADDRESS", "Temporal frontend host:port (default: the Temporal config profile's, else localhost:7233)", "", false, text(&c.TemporalAddress)}
		temporalNamespace = setting{"temporal-namespace", "TEMPORAL_NAMESPACE", "Temporal namespace (default: the Temporal config profile's, else default)", "", false, text(&c.TemporalNamespace)}
		taskQueue         = setting{"task-queue", "TASK_QUEUE", "Temporal task queue", "countersign", false, text(&c.TaskQueue)}
		awxURL            = setting{"awx-url", "AWX_URL", "AWX base URL, e.g. https://awx.example.com", "", false, text(&c.AWXURL)}
		awxToken          = setting{"awx-token", "AWX_TOKEN", "AWX OAuth2 bearer token", "", false, text(&c.AWXToken)}
		logLevel          = setting{"log-level", "LOG_LEVEL", "debug, info, warn or error", "info", false, c.setLogLevel}
		payloadKeys       = setting{"payload-keys", "PAYLOAD_KEYS", "keys encrypting Temporal payloads, <id>:<base64 32 bytes>, newest first, comma separated (or PAYLOAD_KEYS_FILE)", "", false, text(&c.PayloadKeys)}
		payloadKeysFile   = setting{"payload-keys-file", "PAYLOAD_KEYS_FILE", "file of payload keys, one <id>:<base64> a line, newest first, mode 0600", "", false, text(&c.PayloadKeysFile)}
		decisions         = setting{"temporal-decisions", "TEMPORAL_DECISIONS", "decisions sent through Temporal rather than the API: verified (a decision key's proof), trusted or off (default verified)", "", false, c.setDecisions}
		slackBot          = setting{"", "SLACK_BOT_TOKEN", "", "", false, text(&c.Slack.BotToken)}
		slackAPI          = setting{"slack-api-url", "SLACK_API_URL", "Slack's Web API base URL", "https://slack.com/api/", false, text(&c.Slack.APIURL)}
		stickyCache       = setting{"worker-sticky-cache-size", "WORKER_STICKY_CACHE_SIZE", "workflows kept in memory between their tasks; more are replayed from their history when they next run", strconv.Itoa(DefaultWorkerStickyCacheSize), false, c.setStickyCacheSize}
		portalURL         = setting{"portal-url", "PORTAL_URL", "the portal's address as users reach it, for links in mails and Slack messages", "", false, text(&c.PortalURL)}
		// Environment only, like every key.
		mailLinkKey = setting{"", "MAIL_LINK_KEY", "", "", false, text(&c.MailLinkKey)}
		// The settings every process that talks to Temporal and AWX reads.
		connections = []setting{database, temporalAddress, temporalNamespace, taskQueue, awxURL, awxToken, payloadKeys, payloadKeysFile, logLevel}
	)
	switch cmd {
	case API:
		return command{settings: append(append(connections,
			setting{"http-addr", "HTTP_ADDR", "address the HTTP server listens on", "127.0.0.1:8080", false, text(&c.HTTPAddr)},
			setting{"metrics-addr", "METRICS_ADDR", "address /metrics listens on, apart from the API (empty: on HTTP_ADDR)", "", false, text(&c.MetricsAddr)},
			setting{"codec-team", "CODEC_TEAM", "team (<organization>/<team>) whose members may decode payloads through the codec endpoint, besides superusers", "", false, c.setCodecTeam},
			setting{"codec-origins", "CODEC_ORIGINS", "origins of the Temporal Web UI allowed to call the codec endpoint, comma separated (e.g. https://temporal.example.com)", "", false, c.setCodecOrigins},
			setting{"min-stage-timeout", "MIN_STAGE_TIMEOUT", "shortest timeout of an approval stage", approval.ShortDuration(approval.DefaultStageLimits.MinTimeout), false, stageLimit(&c.StageLimits.MinTimeout)},
			setting{"max-stage-timeout", "MAX_STAGE_TIMEOUT", "longest timeout of an approval stage", approval.ShortDuration(approval.DefaultStageLimits.MaxTimeout), false, stageLimit(&c.StageLimits.MaxTimeout)},
			setting{"min-reminder-interval", "MIN_REMINDER_INTERVAL", "shortest interval between reminders of an approval stage", approval.ShortDuration(approval.DefaultStageLimits.MinReminderInterval), false, stageLimit(&c.StageLimits.MinReminderInterval)},
			setting{"session-idle-timeout", "SESSION_IDLE_TIMEOUT", "a portal session unused this long ends", "8h", false, sessionLimit(&c.SessionIdleTimeout)},
			setting{"session-max-lifetime", "SESSION_MAX_LIFETIME", "a portal session ends this long after sign-in, however used", "24h", false, sessionLimit(&c.SessionMaxLifetime)},
			setting{"", "SLACK_APP_TOKEN", "", "", false, text(&c.Slack.AppToken)},
			slackBot, slackAPI, portalURL,
			mailLinkKey,
		), oidcSettings(&c.OIDC)...), check: func() error {
			if err := c.checkSlack(true); err != nil {
				return err
			}
			if err := c.StageLimits.Validate(); err != nil {
				return fmt.Errorf("MIN_STAGE_TIMEOUT, MAX_STAGE_TIMEOUT, MIN_REMINDER_INTERVAL: %w", err)
			}
			if c.SessionIdleTimeout > c.SessionMaxLifetime {
				return fmt.Errorf("SESSION_IDLE_TIMEOUT (%s) is longer than SESSION_MAX_LIFETIME (%s): make it at most as long", c.SessionIdleTimeout, c.SessionMaxLifetime)
			}
			return c.OIDC.check()
		}}, nil
	case Worker:
		return command{settings: append(connections, decisions,
			setting{"awx-poll-interval", "AWX_POLL_INTERVAL", "how often a running AWX job is polled", "5s", false, c.setPollInterval},
			stickyCache,
			setting{"worker-pollers", "WORKER_POLLERS", "pollers per kind of task (workflow, activity): a number of at least 2, or autoscaling", strconv.Itoa(DefaultWorkerPollers), false, c.setPollers},
			setting{"notify-webhook-url", "NOTIFY_WEBHOOK_URL", "URL notifications are POSTed to as JSON (empty: log them)", "", false, text(&c.NotifyWebhookURL)},
			setting{"notify-webhook-secret", "NOTIFY_WEBHOOK_SECRET", "secret that signs webhook deliveries (X-Countersign-Signature); at least 32 characters", "", false, text(&c.NotifyWebhookSecret)},
			slackBot, slackAPI,
			// Environment only: a flag would show the password to ps.
			setting{"", "SMTP_URL", "", "", false, text(&c.SMTPURL)},
			setting{"smtp-from", "SMTP_FROM", "sender of notification mails, e.g. Countersign <countersign@example.com>", "", false, text(&c.SMTPFrom)},
			portalURL,
			mailLinkKey,
		), check: func() error { return c.checkSlack(false) }}, nil
	case Migrate:
		return command{settings: []setting{database, logLevel}}, nil
	case Token:
		return command{settings: []setting{database}}, nil
	case Dev:
		database.usage = "PostgreSQL URL to use instead of a local cluster (see --allow-database-url)"
		logLevel.usage = "level of the log file: debug, info, warn or error"
		decisions.usage = "decisions sent with the temporal CLI: trusted (as anyone, recorded unverified), verified (with a decision key's proof) or off"
		decisions.def = string(proof.ModeTrusted)
		return command{settings: []setting{database, logLevel, decisions, stickyCache,
			setting{"data-dir", "DEV_DATA_DIR", "directory kept between runs: PostgreSQL cluster, Temporal database, log", ".data", false, c.setDataDir},
			setting{"allow-database-url", "DEV_ALLOW_DATABASE_URL", "use --database-url even if countersign dev did not prepare that database: it gets demo users with well-known tokens", "", true, boolean(&c.Dev.AllowDatabaseURL)},
			setting{"api-port", "DEV_API_PORT", "`port` of the API and portal", "8080", false, port(&c.Dev.APIPort)},
			setting{"temporal-port", "DEV_TEMPORAL_PORT", "gRPC `port` of the Temporal dev server", "7233", false, port(&c.Dev.TemporalPort)},
			setting{"ui-port", "DEV_UI_PORT", "`port` of the Temporal Web UI", "8233", false, port(&c.Dev.UIPort)},
			setting{"awx-port", "DEV_AWX_PORT", "`port` of the AWX simulator", "8052", false, port(&c.Dev.AWXPort)},
			setting{"pg-port", "DEV_PG_PORT", "`port` of the local PostgreSQL cluster", "15432", false, port(&c.Dev.PGPort)},
			setting{"idp-port", "DEV_IDP_PORT", "`port` of the local OpenID provider the portal signs in through", "5556", false, port(&c.Dev.IDPPort)},
			setting{"mail-port", "DEV_MAIL_PORT", "`port` of the page listing the mails the stack sent", "8025", false, port(&c.Dev.MailPort)},
			setting{"job-duration", "DEV_JOB_DURATION", "how long a simulated AWX job runs", "20s", false, duration(&c.Dev.JobDuration, time.Second, "use a duration of at least 1s, e.g. 20s")},
		}}, nil
	case AWXSim:
		return command{settings: []setting{
			setting{"addr", "AWX_SIM_ADDR", "listen address", "127.0.0.1:8052", false, text(&c.Sim.Addr)},
			setting{"tokens", "AWX_SIM_TOKENS", "comma-separated accepted bearer tokens; empty accepts any", "", false, c.setSimTokens},
			setting{"username", "AWX_SIM_USERNAME", "AWX user the tokens belong to", "countersign", false, text(&c.Sim.Username)},
			setting{"job-duration", "AWX_SIM_JOB_DURATION", "time from launch to a job's end", "10s", false, duration(&c.Sim.JobDuration, time.Nanosecond, "use a positive duration, e.g. 10s")},
		}}, nil
	case DevIDP:
		return command{settings: []setting{
			setting{"addr", "DEV_IDP_ADDR", "listen address", "127.0.0.1:5556", false, text(&c.IDP.Addr)},
			setting{"issuer", "DEV_IDP_ISSUER", "issuer URL as clients reach it (default http://<addr>)", "", false, text(&c.IDP.Issuer)},
			setting{"client-id", "DEV_IDP_CLIENT_ID", "the registered client's id", "countersign", false, text(&c.IDP.ClientID)},
			setting{"client-secret", "DEV_IDP_CLIENT_SECRET", "the registered client's secret", "countersign-dev-secret", false, text(&c.IDP.ClientSecret)},
			setting{"redirect-url", "DEV_IDP_REDIRECT_URL", "the client's redirect URLs, comma separated",
				"http://127.0.0.1:8080" + OIDCCallbackPath + ",http://localhost:8080" + OIDCCallbackPath, false, list(&c.IDP.RedirectURLs)},
			setting{"users-file", "DEV_IDP_USERS_FILE", "JSON file of the users (default: the demo users)", "", false, text(&c.IDP.UsersFile)},
			setting{"groups-claim", "DEV_IDP_GROUPS_CLAIM", "name of the claim listing a user's groups", "groups", false, text(&c.IDP.GroupsClaim)},
			setting{"key-file", "DEV_IDP_KEY_FILE", "PEM file of the RSA key signing ID tokens (default: a new key at each start)", "", false, text(&c.IDP.KeyFile)},
		}}, nil
	case Keys:
		return command{}, nil
	case Decision:
		return command{settings: []setting{{"", DecisionKeyEnv, "", "", false, text(&c.DecisionKey)}}}, nil
	}
	return command{}, fmt.Errorf("config: no settings for command %q", cmd)
}

func text(p *string) func(string) error {
	return func(v string) error { *p = v; return nil }
}

// list reads comma-separated values, blanks dropped.
func list(p *[]string) func(string) error {
	return func(v string) error {
		*p = nil
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*p = append(*p, item)
			}
		}
		return nil
	}
}

func boolean(p *bool) func(string) error {
	return func(v string) error {
		if v == "" {
			*p = false
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("use true or false")
		}
		*p = b
		return nil
	}
}

func port(p *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return errors.New("use a port number from 1 to 65535")
		}
		*p = n
		return nil
	}
}

// duration reads a duration of at least least; hint says what to give.
func duration(p *time.Duration, least time.Duration, hint string) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < least {
			return errors.New(hint)
		}
		*p = d
		return nil
	}
}

// Session limits are at least minSession, because a session records its
// use at most once a minute: a shorter idle timeout would end sessions in
// use. At most a year, like the stage limits.
const (
	minSession = 5 * time.Minute
	maxSession = 8760 * time.Hour
)

func sessionLimit(p *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < minSession || d > maxSession {
			return errors.New("use a duration from 5m to 8760h, e.g. 8h")
		}
		*p = d
		return nil
	}
}

// stageLimit reads one of the stage limits; Validate checks their range
// together.
func stageLimit(p *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("use a duration such as 1m or 720h")
		}
		*p = d
		return nil
	}
}

func (c *Config) setLogLevel(v string) error {
	if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
		return errors.New("use debug, info, warn or error")
	}
	return nil
}

func (c *Config) setPollInterval(v string) error {
	return duration(&c.AWXPollInterval, 100*time.Millisecond, "use a duration of at least 100ms, e.g. 5s")(v)
}

// DefaultWorkerStickyCacheSize bounds the worker's memory for cached
// workflows (see the README's Throughput section for what one costs): a
// waiting request needs no memory at all, and one evicted is replayed from
// its history when its next decision or timer arrives.
const DefaultWorkerStickyCacheSize = 2048

func (c *Config) setStickyCacheSize(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return errors.New("use a number of workflows of at least 1, e.g. 2048")
	}
	c.WorkerStickyCacheSize = n
	return nil
}

// DefaultWorkerPollers is the Temporal SDK's own default.
const DefaultWorkerPollers = 2

// Pollers is how a worker polls for each kind of task: Fixed pollers, or
// as many as the server's answers call for when Autoscaling. A worker's
// pollers bound how fast it picks up tasks under load (see the README's
// Throughput).
type Pollers struct {
	Fixed       int
	Autoscaling bool
}

func (p Pollers) String() string {
	switch {
	case p.Autoscaling:
		return "autoscaling"
	case p.Fixed == 0:
		return strconv.Itoa(DefaultWorkerPollers)
	}
	return strconv.Itoa(p.Fixed)
}

func (c *Config) setPollers(v string) error {
	if v == "autoscaling" {
		c.WorkerPollers = Pollers{Autoscaling: true}
		return nil
	}
	// The SDK alternates a worker's workflow task pollers between its
	// sticky and normal queues, and refuses one alone.
	n, err := strconv.Atoi(v)
	if err != nil || n < 2 {
		return errors.New("use a number of pollers of at least 2, or autoscaling")
	}
	c.WorkerPollers = Pollers{Fixed: n}
	return nil
}

func (c *Config) setDecisions(v string) error {
	if _, err := proof.ParseMode(v, proof.ModeVerified); err != nil {
		return errors.New("use verified, trusted or off")
	}
	c.Decisions = v
	return nil
}

func (c *Config) setCodecTeam(v string) error {
	if v != "" {
		if org, team, ok := strings.Cut(v, "/"); !ok || org == "" || team == "" {
			return errors.New("use <organization>/<team>, e.g. acme/sre")
		}
	}
	c.CodecTeam = v
	return nil
}

func (c *Config) setCodecOrigins(v string) error {
	c.CodecOrigins = v
	for _, o := range c.CodecOriginList() {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return errors.New("give origins such as https://temporal.example.com (scheme and host, no path)")
		}
	}
	return nil
}

func (c *Config) setDataDir(v string) error {
	abs, err := filepath.Abs(v)
	if err != nil {
		return err
	}
	c.Dev.DataDir = abs
	return nil
}

func (c *Config) setSimTokens(v string) error {
	c.Sim.Tokens = nil
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Sim.Tokens = append(c.Sim.Tokens, t)
		}
	}
	return nil
}
