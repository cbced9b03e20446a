// Package notify delivers Countersign's notifications (a request waits for an
// approver, a reminder, a decision, a request for changes, an expiry, a finished request, a stage
// nobody can complete) to people
// through a Notifier: a generic JSON webhook or the process log.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what happened to a request.
type Kind string

// Notification kinds.
const (
	// KindPending: a stage opened and waits for the recipients' decision.
	KindPending Kind = "pending"
	// KindReminder: a stage still waits for the recipients.
	KindReminder Kind = "reminder"
	// KindDecided: the request was approved or rejected.
	KindDecided Kind = "decided"
	// KindChangesRequested: an approver asked the requester for changes;
	// the request ended changes_requested and may be resubmitted.
	KindChangesRequested Kind = "changes_requested"
	// KindExpired: a stage's deadline passed; the request expired.
	KindExpired Kind = "expired"
	// KindFinished: the request ended (its job finished, it failed to
	// launch, or it was canceled).
	KindFinished Kind = "finished"
	// KindUnreachable: the open stage cannot be completed by its approvers
	// (too few eligible approvers remain); sent once per stage to the
	// organization's admins, who can add members to its team or cancel
	// the request.
	KindUnreachable Kind = "unreachable"
	// KindExtended: the open stage's deadline was extended; sent to the
	// requester and the approvers who have not decided.
	KindExtended Kind = "extended"
	// KindDeadlineWarning: the open stage's deadline nears (its
	// warn_before); sent to the requester and the approvers who have not
	// decided, once per deadline.
	KindDeadlineWarning Kind = "deadline_warning"
)

// Recipient is a person to notify. Email is empty when unknown.
type Recipient struct {
	Username string `json:"username"`
	Email    string `json:"email,omitempty"`
}

// Notification is one message about one request. ID is stable across
// redeliveries of the same event, so receivers can drop duplicates: delivery
// is at least once.
type Notification struct {
	ID          string `json:"id"`
	Kind        Kind   `json:"kind"`
	RequestID   int64  `json:"request_id"`
	Status      string `json:"status"`
	CatalogItem string `json:"catalog_item"`
	Requester   string `json:"requester"`
	Stage       string `json:"stage,omitempty"`
	// StagePosition is the position of the stage the notification is
	// about, or -1; mail's decision links name it.
	StagePosition int         `json:"-"`
	Deadline      *time.Time  `json:"deadline,omitempty"`
	Recipients    []Recipient `json:"recipients"`
	Subject       string      `json:"subject"`
	Message       string      `json:"message"`
	Time          time.Time   `json:"time"`
}

// Notifier delivers notifications. Implementations return an error wrapping
// ErrPermanent when retrying cannot help (the receiver refused the message);
// any other error may succeed on a later attempt.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// RecipientNotifier is a Notifier that serves each recipient on its own
// (one mail each): NotifyRecipients says which recipients it served (by
// username; refused for good counts as served), so that a retry after a
// partial failure serves only the others. Its error is as Notify's: it
// wraps ErrPermanent only when no recipient is left to retry.
type RecipientNotifier interface {
	Notifier
	NotifyRecipients(ctx context.Context, n Notification) (served []string, err error)
}

// Channel is one way notifications reach people (the webhook or the log,
// mail, chat), named for logs and for remembering, across the retries of
// a publication, which deliveries went out. Names must be unique among the
// channels of one process and stable across releases.
type Channel struct {
	Name     string
	Notifier Notifier
}

// ChannelWebhook is the name of the webhook-or-log channel, the one every
// process has.
const ChannelWebhook = "webhook"

// ErrPermanent marks delivery failures that retrying cannot fix.
var ErrPermanent = errors.New("permanent notification failure")

// Log writes notifications to a structured log; it is the default when no
// webhook is configured.
type Log struct {
	Logger *slog.Logger
}

// Notify logs n at info level. It never fails.
func (l Log) Notify(ctx context.Context, n Notification) error {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	users := make([]string, len(n.Recipients))
	for i, r := range n.Recipients {
		users[i] = r.Username
	}
	logger.InfoContext(ctx, "notification",
		"id", n.ID, "kind", string(n.Kind), "request_id", n.RequestID, "status", n.Status,
		"recipients", users, "subject", n.Subject)
	return nil
}

// RequestPage is request id's page in the portal at portal (its base
// URL), for links in notifications: the portal is one page whose
// fragment routes, so a request is /ui/#/requests/<id>.
func RequestPage(portal string, id int64) string {
	return fmt.Sprintf("%s/ui/#/requests/%d", strings.TrimRight(portal, "/"), id)
}

// Cut keeps the first n runes of s, marking a cut with an ellipsis: how
// channels shorten what people typed to fit a message.
func Cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
