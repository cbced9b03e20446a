// Package wiring builds Countersign's processes from a config.Config: it
// connects the AWX client (checked against AWX), PostgreSQL, the Temporal
// client (with the payload codec), the notifier and the activities, and
// hands them to the worker (Worker) or to the API (API). `countersign
// worker`, `countersign api`, `countersign dev` and the tests that run real
// worker processes all start through it, so they are wired alike.
package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/metrics"
	"github.com/countersign/countersign/mail"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/slackapp"
	"github.com/countersign/countersign/sso"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/worker"
)

// Worker is `countersign worker`: it checks the configuration, connects to
// PostgreSQL, AWX and Temporal, and runs the worker and the projection
// reconciler until ctx is canceled. Configuration errors (a missing
// setting, AWX refusing the token) are returned before anything runs; AWX
// being unreachable at start is only logged, since it may come back before
// a request needs it.
func Worker(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if err := config.Check(cfg.RequireDatabase(), cfg.RequireAWX(), cfg.RequirePayloadKeys(), cfg.RequireNotify(), cfg.RequireMail()); err != nil {
		return err
	}
	acts, st, err := newActivities(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := dialTemporal(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	logger.Info("worker started", "config", cfg, "temporal_decisions", acts.Decisions)
	rec := &worker.Reconciler{Store: st, Client: c, Logger: logger, TaskQueue: cfg.TaskQueue}
	go rec.Run(ctx)
	if cfg.WorkerStickyCacheSize > 0 {
		// The SDK's cache is one per process and sized when its first
		// worker starts; left alone it holds 10,000 workflows, whatever
		// they weigh.
		sdkworker.SetStickyWorkflowCacheSize(cfg.WorkerStickyCacheSize)
	}
	return worker.Run(ctx, c, cfg.TaskQueue, acts, WorkerOptions(cfg))
}

// WorkerOptions are the SDK's options for the worker cfg describes (the
// benchmarks run their workers with them too).
func WorkerOptions(cfg config.Config) sdkworker.Options {
	opts := sdkworker.Options{WorkerStopTimeout: 10 * time.Second}
	switch p := cfg.WorkerPollers; {
	case p.Autoscaling:
		opts.WorkflowTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
		opts.ActivityTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
	case p.Fixed > 0:
		opts.MaxConcurrentWorkflowTaskPollers = p.Fixed
		opts.MaxConcurrentActivityTaskPollers = p.Fixed
	}
	return opts
}

// API builds the API server of `countersign api` and `countersign dev`
// after checking the configuration; deps carries settings the
// configuration does not hold (DevTokens). The server's clean-up of ended
// sessions runs from the start (api.Server.RunSessionCleanup). Call the
// returned func to stop it and close the server and its connections once
// the server no longer serves.
func API(ctx context.Context, cfg config.Config, logger *slog.Logger, deps api.Deps) (*api.Server, func(), error) {
	if err := config.Check(cfg.RequireDatabase(), cfg.RequireAWX(), cfg.RequirePayloadKeys(), cfg.RequireMetrics(), cfg.RequireMailLinks()); err != nil {
		return nil, nil, err
	}
	ring, err := cfg.PayloadRing()
	if err != nil {
		return nil, nil, err
	}
	awxClient, err := connectAWX(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	reg := metrics.NewRegistry()
	handler, err := metrics.TemporalHandler(reg, logger)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	c, err := dialTemporal(ctx, cfg, logger, handler)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	deps.Store, deps.Temporal, deps.AWX, deps.Logger = st, c, awxClient, logger
	deps.TaskQueue, deps.Registry, deps.StageLimits = cfg.TaskQueue, reg, cfg.StageLimits
	deps.PayloadKeys, deps.CodecTeam = ring, cfg.CodecTeam
	deps.SessionIdleTimeout, deps.SessionMaxLifetime = cfg.SessionIdleTimeout, cfg.SessionMaxLifetime
	deps.CodecOrigins = append(deps.CodecOrigins, cfg.CodecOriginList()...)
	deps.MetricsElsewhere = cfg.MetricsAddr != ""
	if cfg.MailLinkKey != "" {
		if deps.MailLinkKey, err = mail.NewLinkKey(cfg.MailLinkKey); err != nil {
			c.Close()
			st.Close()
			return nil, nil, err
		}
		deps.MailLinks = st
	}
	// `countersign dev` signs its demo users in with their dev tokens.
	deps.NoTokenSignIn = !deps.DevTokens && !cfg.OIDC.TokenSignIn()
	if cfg.Slack.Enabled() {
		deps.SlackLinks = st
	}
	if cfg.OIDC.Enabled() {
		deps.OIDC, err = discoverOIDC(ctx, cfg.OIDC, st)
		if err != nil {
			c.Close()
			st.Close()
			return nil, nil, err
		}
	}
	srv := api.New(deps)
	// The API owns the portal's sessions, so it deletes those that ended;
	// closing stops the clean-up before the store it uses.
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	cleanupDone := make(chan struct{})
	go func() {
		defer close(cleanupDone)
		srv.RunSessionCleanup(cleanupCtx)
	}()
	// The Slack app decides through the API's request service, so it runs
	// here; it connects out to Slack (Socket Mode) and needs no route.
	slackDone := make(chan struct{})
	if cfg.Slack.Enabled() {
		app := &slackapp.App{Client: slackClient(cfg.Slack), Requests: srv.Requests(), Store: st,
			PortalURL: cfg.PortalURL, Logger: logger}
		go func() {
			defer close(slackDone)
			_ = app.Run(cleanupCtx)
		}()
	} else {
		close(slackDone)
	}
	return srv, func() {
		stopCleanup()
		<-cleanupDone
		<-slackDone
		srv.Close()
		c.Close()
		st.Close()
	}, nil
}

// newActivities builds the activities' dependencies. Close the returned
// store when done.
func newActivities(ctx context.Context, cfg config.Config, logger *slog.Logger) (*activities.Activities, *store.Store, error) {
	ring, err := cfg.PayloadRing()
	if err != nil {
		return nil, nil, err
	}
	awxClient, err := connectAWX(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	channels, err := newChannels(cfg, logger, st)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	acts := &activities.Activities{
		Store:        st,
		AWX:          awxClient,
		Channels:     channels,
		Logger:       logger,
		PollInterval: cfg.AWXPollInterval,
		Keys:         st,
		Decisions:    cfg.DecisionMode(proof.ModeVerified),
		APIKeys:      proof.ServiceKeysFrom(ring),
	}
	return acts, st, nil
}

// connectAWX makes the AWX client and checks its credentials: AWX refusing
// them is an error; anything transient is only worth a warning, since AWX
// may come back before it is needed.
func connectAWX(ctx context.Context, cfg config.Config, logger *slog.Logger) (*awx.Client, error) {
	c, err := awx.New(cfg.AWXURL, cfg.AWXToken)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	me, err := c.Me(ctx)
	switch {
	case err == nil:
		logger.Info("connected to AWX", "url", c.BaseURL(), "user", me.Username)
		return c, nil
	case awx.IsTransient(err) || errors.Is(err, context.DeadlineExceeded):
		logger.Warn("AWX is not reachable yet; requests will wait for it", "url", c.BaseURL(), "error", err)
		return c, nil
	default:
		return nil, fmt.Errorf("AWX at %s refused Countersign's token: %w", c.BaseURL(), err)
	}
}

// newChannels are the channels notifications go out through: the webhook
// (or the log) always, mail when SMTP_URL is set, Slack's direct messages
// when SLACK_BOT_TOKEN is. Each is delivered to and retried on its own.
func newChannels(cfg config.Config, logger *slog.Logger, st slackapp.NotifierStore) ([]notify.Channel, error) {
	hook, err := newNotifier(cfg, logger)
	if err != nil {
		return nil, err
	}
	channels := []notify.Channel{{Name: notify.ChannelWebhook, Notifier: hook}}
	if cfg.SMTPURL != "" {
		m, err := newMailer(cfg)
		if err != nil {
			return nil, err
		}
		channels = append(channels, notify.Channel{Name: "mail", Notifier: m})
	}
	if cfg.Slack.Enabled() {
		channels = append(channels, notify.Channel{Name: "slack",
			Notifier: &slackapp.Notifier{Client: slackClient(cfg.Slack), Store: st, PortalURL: cfg.PortalURL, Logger: logger}})
	}
	return channels, nil
}

// newMailer sends mail through SMTP_URL.
func newMailer(cfg config.Config) (*mail.Sender, error) {
	m, err := mail.New(cfg.SMTPURL, cfg.SMTPFrom)
	if err != nil {
		return nil, err
	}
	m.PortalURL = cfg.PortalURL
	if cfg.MailLinkKey != "" {
		key, err := mail.NewLinkKey(cfg.MailLinkKey)
		if err != nil {
			return nil, err
		}
		m.Links = key.Links(cfg.PortalURL)
	}
	return m, nil
}

// newNotifier is the webhook when one is configured, else the log.
func newNotifier(cfg config.Config, logger *slog.Logger) (notify.Notifier, error) {
	if cfg.NotifyWebhookURL == "" {
		return notify.Log{Logger: logger}, nil
	}
	n, err := notify.NewWebhook(cfg.NotifyWebhookURL, cfg.NotifyWebhookSecret, nil)
	if err != nil {
		return nil, err
	}
	if cfg.NotifyWebhookSecret == "" {
		logger.Warn("notification webhook deliveries are not signed: set NOTIFY_WEBHOOK_SECRET so the receiver can verify them")
	}
	return n, nil
}

// slackClient is the Slack Web API client of the bot and app tokens.
func slackClient(s config.SlackSettings) *slack.Client {
	return slack.New(s.BotToken, slack.OptionAppLevelToken(s.AppToken), slack.OptionAPIURL(s.APIURL))
}

func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return st, nil
}

// dialTemporal connects to Temporal with the SDK's settings from the
// environment, every payload encrypted with the payload keys, and metrics
// to m (none when nil).
func dialTemporal(ctx context.Context, cfg config.Config, logger *slog.Logger, m client.MetricsHandler) (client.Client, error) {
	opts, err := cfg.TemporalClientOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = log.NewStructuredLogger(logger)
	opts.MetricsHandler = m
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	return c, nil
}

// discoverOIDC loads the group map and discovers the provider.
func discoverOIDC(ctx context.Context, o config.OIDCSettings, st *store.Store) (*api.OIDC, error) {
	gm, err := sso.LoadGroupMap(o.GroupMapFile)
	if err != nil {
		return nil, fmt.Errorf("OIDC_GROUP_MAP: %w", err)
	}
	return api.DiscoverOIDC(ctx, api.OIDCConfig{
		Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL,
		Scopes: o.Scopes, UsernameClaim: o.UsernameClaim, GroupsClaim: o.GroupsClaim, GroupMap: gm,
		ProviderName: o.ProviderName,
	}, st)
}
