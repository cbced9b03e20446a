package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
)

// Serve is `countersign worker`: it checks the configuration, connects to
// PostgreSQL, AWX and Temporal, and runs the worker until ctx is canceled.
// Configuration errors (a missing setting, AWX refusing the token) are
// returned before anything runs; AWX being unreachable at start is only
// logged, since it may come back before a request needs it.
func Serve(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if err := config.Check(cfg.RequireDatabase(), cfg.RequireAWX(), cfg.RequirePayloadKeys(), cfg.RequireNotify()); err != nil {
		return err
	}
	acts, st, err := NewActivities(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	opts, err := cfg.TemporalClientOptions()
	if err != nil {
		return err
	}
	opts.Logger = log.NewStructuredLogger(logger)
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	defer c.Close()
	logger.Info("worker started", "config", cfg, "temporal_decisions", acts.Decisions)
	rec := &Reconciler{Store: st, Client: c, Logger: logger, TaskQueue: cfg.TaskQueue}
	go rec.Run(ctx)
	return Run(ctx, c, cfg.TaskQueue, acts, sdkworker.Options{WorkerStopTimeout: 10 * time.Second})
}

// NewActivities builds the activities' dependencies from the configuration.
// Close the returned store when done.
func NewActivities(ctx context.Context, cfg config.Config, logger *slog.Logger) (*activities.Activities, *store.Store, error) {
	ring, err := cfg.PayloadRing()
	if err != nil {
		return nil, nil, err
	}
	awxClient, err := awx.New(cfg.AWXURL, cfg.AWXToken)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckAWX(ctx, awxClient, logger); err != nil {
		return nil, nil, err
	}
	var notifier notify.Notifier = notify.Log{Logger: logger}
	if cfg.NotifyWebhookURL != "" {
		if notifier, err = notify.NewWebhook(cfg.NotifyWebhookURL, cfg.NotifyWebhookSecret, nil); err != nil {
			return nil, nil, err
		}
		if cfg.NotifyWebhookSecret == "" {
			logger.Warn("notification webhook deliveries are not signed: set NOTIFY_WEBHOOK_SECRET so the receiver can verify them")
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	acts := &activities.Activities{
		Store:        st,
		AWX:          awxClient,
		Notifier:     notifier,
		Logger:       logger,
		PollInterval: cfg.AWXPollInterval,
		Keys:         st,
		Decisions:    cfg.DecisionMode(proof.ModeVerified),
		APIKeys:      proof.ServiceKeysFrom(ring),
	}
	return acts, st, nil
}

// CheckAWX refuses credentials AWX rejects; anything transient is only
// worth a warning, since AWX may come back before it is needed.
func CheckAWX(ctx context.Context, c *awx.Client, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	me, err := c.Me(ctx)
	switch {
	case err == nil:
		logger.Info("connected to AWX", "url", c.BaseURL(), "user", me.Username)
		return nil
	case awx.IsTransient(err) || errors.Is(err, context.DeadlineExceeded):
		logger.Warn("AWX is not reachable yet; requests will wait for it", "url", c.BaseURL(), "error", err)
		return nil
	default:
		return fmt.Errorf("AWX at %s refused Countersign's token: %w", c.BaseURL(), err)
	}
}
