package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/store"
)

// NotifierStore is what the Notifier needs of PostgreSQL.
type NotifierStore interface {
	GetRequest(ctx context.Context, id int64) (store.Request, error)
	SlackRecipients(ctx context.Context, usernames []string) ([]store.SlackRecipient, error)
	SlackMessages(ctx context.Context, requestID int64) ([]store.SlackMessage, error)
	SaveSlackMessage(ctx context.Context, m store.SlackMessage) error
	DeleteSlackMessage(ctx context.Context, requestID, userID int64) error
}

// Notifier is the Slack app's notify.Notifier. For a pending, reminder or
// deadline warning notification each recipient who may decide the open
// stage and is linked to a Slack user gets a direct message with the
// request and Approve / Reject / Open buttons (the message they had about
// the request before is closed); an extension shows the new deadline in
// the messages in place; when the request moves on (decided, changes
// requested, expired, finished) the messages about it are updated in place
// so that their buttons disappear. Other kinds send nothing. Recipients
// who are not linked get nothing here.
//
// Delivery is at least once: a redelivered notification posts no second
// message to who already got one.
type Notifier struct {
	Client *slack.Client
	Store  NotifierStore
	// PortalURL is the portal's base URL (Open buttons).
	PortalURL string
	Logger    *slog.Logger
}

// Notify delivers n. An error wraps notify.ErrPermanent when Slack refused
// a call for a reason retrying cannot fix.
func (n *Notifier) Notify(ctx context.Context, no notify.Notification) error {
	// What the kind asks for is settled first: a kind nothing in Slack
	// shows costs no reads. Asking posts new messages; the other kinds
	// change each message posted (update).
	var update func(r store.Request, m store.SlackMessage) error
	switch no.Kind {
	case notify.KindPending, notify.KindReminder, notify.KindDeadlineWarning:
	case notify.KindExtended:
		// The new deadline shows in the messages in place.
		update = func(r store.Request, m store.SlackMessage) error { return n.refresh(ctx, r, m) }
	case notify.KindDecided, notify.KindChangesRequested, notify.KindExpired, notify.KindFinished:
		update = func(r store.Request, m store.SlackMessage) error { return n.close(ctx, r, m, statusLine(r)) }
	default:
		return nil
	}
	r, err := n.Store.GetRequest(ctx, no.RequestID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted: there is nothing left to show
	}
	if err != nil {
		return err
	}
	msgs, err := n.Store.SlackMessages(ctx, r.ID)
	if err != nil {
		return err
	}
	if update == nil {
		return n.ask(ctx, no, r, msgs)
	}
	var errs []error
	for _, m := range msgs {
		errs = append(errs, update(r, m))
	}
	return errors.Join(errs...)
}

// ask posts the open stage's card to each linked recipient of no who may
// decide it, and closes the messages of who may no longer decide.
func (n *Notifier) ask(ctx context.Context, no notify.Notification, r store.Request, msgs []store.SlackMessage) error {
	// Only who may decide now gets buttons: a deadline warning also goes
	// to the requester.
	var usernames []string
	for _, rc := range no.Recipients {
		if slices.Contains(r.PendingApprovers, rc.Username) {
			usernames = append(usernames, rc.Username)
		}
	}
	recipients, err := n.Store.SlackRecipients(ctx, usernames)
	if err != nil {
		return err
	}
	c := cardOf(r, n.PortalURL)
	var errs []error
	for _, rc := range recipients {
		i := slices.IndexFunc(msgs, func(m store.SlackMessage) bool { return m.UserID == rc.UserID })
		if i >= 0 && msgs[i].NotificationID == no.ID {
			continue // a redelivery: this message was posted
		}
		ch, _, _, err := n.Client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{rc.SlackUserID}})
		if err != nil {
			errs = append(errs, classify("conversations.open", err))
			continue
		}
		_, ts, err := n.Client.PostMessageContext(ctx, ch.ID, slack.MsgOptionText(c.Text(), false), slack.MsgOptionBlocks(c.Blocks()...))
		if err != nil {
			errs = append(errs, classify("chat.postMessage", err))
			continue
		}
		if err := n.Store.SaveSlackMessage(ctx, store.SlackMessage{RequestID: r.ID, UserID: rc.UserID, Channel: ch.ID, TS: ts, NotificationID: no.ID}); err != nil {
			errs = append(errs, err)
			continue
		}
		if i >= 0 {
			n.update(ctx, r, msgs[i], "A newer message about this request follows.")
		}
	}
	// Who may no longer decide loses the buttons; who still may (the
	// stage's approvers when it is escalated to a team) keeps them.
	for _, m := range msgs {
		if !slices.Contains(r.PendingApprovers, m.Username) {
			errs = append(errs, n.close(ctx, r, m, "The request no longer waits for you. "+statusLine(r)))
		}
	}
	return errors.Join(errs...)
}

// close updates message m to say why it takes no more decisions, and
// forgets it.
func (n *Notifier) close(ctx context.Context, r store.Request, m store.SlackMessage, why string) error {
	if err := n.update(ctx, r, m, why); err != nil {
		return err
	}
	return n.Store.DeleteSlackMessage(ctx, m.RequestID, m.UserID)
}

// refresh shows request r as it stands in message m, buttons kept.
func (n *Notifier) refresh(ctx context.Context, r store.Request, m store.SlackMessage) error {
	return n.put(ctx, r, m, cardOf(r, n.PortalURL))
}

// update replaces message m's buttons by why. A message Slack no longer
// has is not an error.
func (n *Notifier) update(ctx context.Context, r store.Request, m store.SlackMessage, why string) error {
	c := cardOf(r, n.PortalURL)
	c.Closed = why
	return n.put(ctx, r, m, c)
}

// put replaces message m by card c.
func (n *Notifier) put(ctx context.Context, r store.Request, m store.SlackMessage, c card) error {
	_, _, _, err := n.Client.UpdateMessageContext(ctx, m.Channel, m.TS, slack.MsgOptionText(c.Text(), false), slack.MsgOptionBlocks(c.Blocks()...))
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && (se.Err == "message_not_found" || se.Err == "channel_not_found" || se.Err == "cant_update_message") {
		n.logger().WarnContext(ctx, "a Slack message about a request could not be updated", "request_id", r.ID, "error", se.Err)
		return nil
	}
	return classify("chat.update", err)
}

func (n *Notifier) logger() *slog.Logger {
	if n.Logger == nil {
		return slog.Default()
	}
	return n.Logger
}

// cardOf is request r's card at its current stage, per the projection.
func cardOf(r store.Request, portal string) card {
	var name string
	var deadline *time.Time
	if r.CurrentStage != nil {
		for _, st := range r.Stages {
			if st.Position == *r.CurrentStage {
				name, deadline = st.Name, st.Deadline
			}
		}
	}
	return newCard(r, name, deadline, portal)
}

// statusLine says where request r stands.
func statusLine(r store.Request) string {
	switch approval.Status(r.Status) {
	case approval.StatusPendingApproval:
		return "It waits for other approvers."
	case approval.StatusChangesRequested:
		return "Changes were requested."
	}
	return "The request is " + r.Status + "."
}

// classify wraps a Web API error: Slack refusing the call (ok:false) is
// permanent unless Slack says it is passing; rate limits and transport
// errors may pass.
func classify(method string, err error) error {
	if err == nil {
		return nil
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return fmt.Errorf("slack %s: %w", method, err)
		}
		return fmt.Errorf("slack %s: %w: %w", method, notify.ErrPermanent, err)
	}
	return fmt.Errorf("slack %s: %w", method, err)
}
