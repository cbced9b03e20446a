// Package slackapp is Countersign's Slack app. It runs in Socket Mode: the
// API process opens an outbound WebSocket to Slack (no public URL), acks
// every envelope, and reconnects when the connection drops. Approvers
// linked to a Slack user get a direct message for each stage that waits
// for them (Notifier, in the worker) with Approve, Reject (a dialog for the
// reason) and Open buttons; a click decides as the linked Countersign user
// through the request service (requests.Service.Decide) with channel
// slack, so the same rules and refusal codes hold as on every channel. A
// refusal is answered with an ephemeral message naming its code.
//
// Slack users are linked to Countersign users by the e-mail address Slack
// has confirmed (users.info), matched exactly and to one active user only,
// or by a one-time link: `/countersign link` answers with a short-lived,
// single-use portal URL the signed-in user confirms (LinkURL, and the
// portal's /ui/slack/link).
package slackapp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

// LinkTTL is how long a one-time link stays valid.
const LinkTTL = 15 * time.Minute

// Decider is what the app needs of the request service.
type Decider interface {
	DecideStage(ctx context.Context, a requests.Actor, r store.Request, action approval.Action, text string, stage int) (approval.Request, error)
	CheckDecision(ctx context.Context, a requests.Actor, r store.Request, action approval.Action) error
}

// Store is what the app needs of PostgreSQL.
type Store interface {
	NotifierStore
	SlackUser(ctx context.Context, slackID string) (store.User, error)
	UserByEmail(ctx context.Context, email string) (store.User, error)
	LinkSlackUser(ctx context.Context, slackID string, userID int64, by string) error
	UserRoles(ctx context.Context, userID int64) (store.Roles, error)
	CreateSlackLinkToken(ctx context.Context, hash []byte, slackID string, expires time.Time) error
}

// App handles what Slack sends over Socket Mode: button clicks, the reject
// dialog's submission and the /countersign command.
type App struct {
	Client   *slack.Client
	Requests Decider
	Store    Store
	// PortalURL is the portal's base URL (Open buttons, link URLs).
	PortalURL string
	Logger    *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Retry is the pause before reconnecting after Slack could not be
	// reached (5s when zero).
	Retry time.Duration

	// work tracks the actions handled after their ack.
	work sync.WaitGroup
}

// Run connects to Slack in Socket Mode and handles its envelopes until ctx
// ends, reconnecting whenever the connection is lost. It returns nil once
// ctx ends.
func (a *App) Run(ctx context.Context) error {
	sm := socketmode.New(a.Client)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.serve(ctx, sm)
	}()
	retry := a.Retry
	if retry <= 0 {
		retry = 5 * time.Second
	}
	for ctx.Err() == nil {
		if err := sm.RunContext(ctx); err != nil && ctx.Err() == nil {
			a.logger().Warn("Slack Socket Mode connection lost; reconnecting", "error", err, "in", retry)
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		}
	}
	<-done
	a.work.Wait()
	return nil
}

// serve reads the client's events until ctx ends. Every envelope is acked
// at once (Slack retries what is not acked within 3 seconds), with the
// answer Slack lets an ack carry where there is one; the work that may
// take longer runs after.
func (a *App) serve(ctx context.Context, sm *socketmode.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt, ok := <-sm.Events:
			if !ok {
				return
			}
			a.handle(ctx, sm, evt)
		}
	}
}

func (a *App) handle(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		a.logger().Info("connected to Slack in Socket Mode")
		return
	case socketmode.EventTypeInvalidAuth:
		a.logger().Error("Slack refused SLACK_APP_TOKEN")
		return
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			break
		}
		switch cb.Type {
		case slack.InteractionTypeBlockActions:
			ack(sm, evt, nil)
			a.work.Go(func() { a.onAction(ctx, cb) })
			return
		case slack.InteractionTypeViewSubmission:
			ack(sm, evt, a.onSubmission(ctx, cb))
			return
		}
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			break
		}
		ack(sm, evt, map[string]string{"response_type": "ephemeral", "text": a.onCommand(ctx, cmd)})
		return
	}
	ack(sm, evt, nil)
}

// ack acknowledges evt's envelope, when it has one (hello and disconnect
// have none).
func ack(sm *socketmode.Client, evt socketmode.Event, payload any) {
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	if payload == nil {
		sm.Ack(*evt.Request)
		return
	}
	sm.Ack(*evt.Request, payload)
}

// who is the Countersign user Slack user slackID acts as: the linked one,
// or, if none, the one active user whose e-mail address is the one Slack
// has confirmed for them (the link is then recorded). store.ErrNotFound
// when there is none.
func (a *App) who(ctx context.Context, slackID string) (requests.Actor, error) {
	u, err := a.Store.SlackUser(ctx, slackID)
	if errors.Is(err, store.ErrNotFound) {
		u, err = a.linkByEmail(ctx, slackID)
	}
	if err != nil {
		return requests.Actor{}, err
	}
	roles, err := a.Store.UserRoles(ctx, u.ID)
	if err != nil {
		return requests.Actor{}, err
	}
	// No interactive sign-in: a stage requiring a recent one refuses.
	return requests.Actor{Principal: requests.PrincipalOf(u, roles), Teams: roles.Teams, Channel: proof.ChannelSlack}, nil
}

func (a *App) linkByEmail(ctx context.Context, slackID string) (store.User, error) {
	su, err := a.Client.GetUserInfoContext(ctx, slackID)
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		// Slack does not show this user (user_not_found, a missing
		// users:read.email scope, …): nothing links them.
		a.logger().Warn("Slack users.info refused; the user is not linked by e-mail", "slack_user", slackID, "error", se.Err)
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("slack users.info: %w", err)
	}
	if !su.IsEmailConfirmed || su.Profile.Email == "" || su.Deleted || su.IsBot {
		return store.User{}, store.ErrNotFound
	}
	u, err := a.Store.UserByEmail(ctx, su.Profile.Email)
	if err != nil {
		return u, err
	}
	if err := a.Store.LinkSlackUser(ctx, slackID, u.ID, store.SlackLinkedByEmail); err != nil {
		return store.User{}, err
	}
	a.logger().Info("Slack user linked by verified e-mail", "slack_user", slackID, "user", u.Username)
	return u, nil
}

// onAction handles a click on Approve or Reject (Open is a link).
func (a *App) onAction(ctx context.Context, cb slack.InteractionCallback) {
	if len(cb.ActionCallback.BlockActions) != 1 {
		return
	}
	act := cb.ActionCallback.BlockActions[0]
	if act.ActionID != actionApprove && act.ActionID != actionReject {
		return
	}
	slackID, channel := cb.User.ID, cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	actor, r, stage, err := a.target(ctx, slackID, act.Value)
	if err != nil {
		a.refuse(ctx, channel, slackID, err)
		return
	}
	if act.ActionID == actionReject {
		a.openRejectDialog(ctx, cb, actor, r, act.Value, channel)
		return
	}
	st, err := a.Requests.DecideStage(ctx, actor, r, approval.ActionApprove, "", stage)
	if err != nil {
		a.refuse(ctx, channel, slackID, err)
		return
	}
	a.decided(ctx, r, actor, st, channel, cb.Container.MessageTs, "You approved")
}

// openRejectDialog opens the dialog that asks for a rejection's reason,
// then asks the rules whether actor may reject r at all. Slack's trigger
// expires 3 s after the click, and the rules' answer comes from the
// workflow, which may take longer: so the dialog opens first and, when
// the rules refuse, turns into the refusal (which also comes as an
// ephemeral message, as every refusal does).
func (a *App) openRejectDialog(ctx context.Context, cb slack.InteractionCallback, actor requests.Actor, r store.Request, value, channel string) {
	meta := value + "|" + channel + "|" + cb.Container.MessageTs
	opened, err := a.Client.OpenViewContext(ctx, cb.TriggerID, rejectDialog(r, meta))
	if err != nil {
		a.logger().Warn("opening the Slack reject dialog failed", "request_id", r.ID, "error", err)
	}
	refusal := a.Requests.CheckDecision(ctx, actor, r, approval.ActionReject)
	if refusal == nil {
		return
	}
	a.refuse(ctx, channel, cb.User.ID, refusal)
	if err != nil {
		return
	}
	if _, err := a.Client.UpdateViewContext(ctx, refusedDialog(r, a.refusalText(refusal)), "", opened.View.Hash, opened.View.ID); err != nil {
		a.logger().Warn("showing a refusal in the Slack reject dialog failed", "request_id", r.ID, "error", err)
	}
}

// onSubmission handles the reject dialog: its answer to Slack (the ack's
// payload) is nil to close the dialog, or the dialog's errors.
func (a *App) onSubmission(ctx context.Context, cb slack.InteractionCallback) any {
	if cb.View.CallbackID != rejectCallback {
		return nil
	}
	value, rest, _ := strings.Cut(cb.View.PrivateMetadata, "|")
	channel, ts, _ := strings.Cut(rest, "|")
	actor, r, stage, err := a.target(ctx, cb.User.ID, value)
	if err != nil {
		return a.dialogError(err)
	}
	reason := strings.TrimSpace(cb.View.State.Values[reasonBlock][reasonAction].Value)
	switch {
	case reason == "":
		return slack.NewErrorsViewSubmissionResponse(map[string]string{reasonBlock: "A reason is required."})
	case len(reason) > approval.MaxTextLength || !utf8.ValidString(reason):
		return slack.NewErrorsViewSubmissionResponse(map[string]string{reasonBlock: fmt.Sprintf("At most %d bytes.", approval.MaxTextLength)})
	}
	// Decide may take longer than Slack waits for the ack: the dialog
	// closes now and the outcome shows in the message or an ephemeral one.
	a.work.Go(func() {
		st, err := a.Requests.DecideStage(ctx, actor, r, approval.ActionReject, reason, stage)
		if err != nil {
			a.refuse(ctx, channel, cb.User.ID, err)
			return
		}
		a.decided(ctx, r, actor, st, channel, ts, "You rejected")
	})
	return nil
}

// target is who acts (slackID's user), on which request and for which
// stage (a button's value), checked in that order: an unlinked user
// learns nothing about the request, and a user who may not act on it
// learns only that it is not there for them. Whether the stage is still
// open is the workflow's to say, as for a mail's link (DecideStage).
func (a *App) target(ctx context.Context, slackID, value string) (requests.Actor, store.Request, int, error) {
	actor, err := a.who(ctx, slackID)
	if errors.Is(err, store.ErrNotFound) {
		return actor, store.Request{}, 0, errUnlinked
	}
	if err != nil {
		return actor, store.Request{}, 0, err
	}
	id, stage, ok := parseButtonValue(value)
	if !ok {
		return actor, store.Request{}, 0, errUnknownRequest
	}
	r, err := a.Store.GetRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && access.Check(actor.Principal, access.Act, requests.RequestObject(r)) != nil) {
		return actor, r, 0, errUnknownRequest
	}
	return actor, r, stage, err
}

var (
	errUnlinked       = errors.New("slack user not linked")
	errUnknownRequest = errors.New("no such request for this user")
)

// decided updates the message the decision was made from (and forgets
// it): its buttons give way to what was done.
func (a *App) decided(ctx context.Context, r store.Request, actor requests.Actor, st approval.Request, channel, ts, what string) {
	if channel == "" || ts == "" {
		return
	}
	// Forgotten first, so that the notifications of the request moving on
	// leave the message saying what this user did.
	if err := a.Store.DeleteSlackMessage(ctx, r.ID, actor.UserID); err != nil {
		a.logger().Warn("forgetting a closed Slack message failed", "request_id", r.ID, "error", err)
	}
	r.Status = string(st.Status)
	c := cardOf(r, a.PortalURL)
	c.Closed = fmt.Sprintf("%s this request at %s. It is now %s.", what, a.now().UTC().Format("2006-01-02 15:04 MST"), st.Status)
	if _, _, _, err := a.Client.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(c.Text(), false), slack.MsgOptionBlocks(c.Blocks()...)); err != nil {
		a.logger().Warn("updating a Slack message after a decision failed", "request_id", r.ID, "error", err)
	}
}

// refuse tells slackID, in an ephemeral message in channel, why their
// action did nothing.
func (a *App) refuse(ctx context.Context, channel, slackID string, err error) {
	text := a.refusalText(err)
	if _, perr := a.Client.PostEphemeralContext(ctx, channel, slackID, slack.MsgOptionText(text, false)); perr != nil {
		a.logger().Warn("posting an ephemeral Slack message failed", "error", perr)
	}
}

// refusalText says why an action was refused: a rule's message and code,
// and for a stage that needs a recent sign-in, where to decide instead.
func (a *App) refusalText(err error) string {
	var inflight *requests.InFlight
	var unavailable *requests.Unavailable
	switch {
	case errors.Is(err, errUnlinked):
		return "Your Slack account is not linked to a Countersign user. Type `/countersign link` to link it."
	case errors.Is(err, errUnknownRequest):
		return "There is no such request for you."
	case errors.As(err, &inflight):
		return "Your decision was sent but its outcome is not known yet; check the request in the portal."
	case errors.As(err, &unavailable):
		return escape(unavailable.Message) + " (code: unavailable)"
	}
	if ref := requests.RefusalOf(err); ref != nil {
		text := fmt.Sprintf("Refused: %s (code: %s)", escape(ref.Message), ref.Code)
		if ref.Code == approval.CodeRecentLoginRequired {
			text += "\nDecide in the portal: " + strings.TrimRight(a.PortalURL, "/") + "/ui/"
		}
		return text
	}
	a.logger().Error("a Slack action failed", "error", err)
	return "Something went wrong; the action was not taken. Try again in the portal."
}

// dialogError is a refusal shown in the reject dialog itself.
func (a *App) dialogError(err error) any {
	return slack.NewErrorsViewSubmissionResponse(map[string]string{reasonBlock: notify.Cut(a.refusalText(err), 300)})
}

// rejectDialog asks for the reason of rejecting r; meta carries the
// button's value and the message to update.
func rejectDialog(r store.Request, meta string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plain("Why is it rejected?"), reasonAction)
	input.Multiline = true
	input.MaxLength = approval.MaxTextLength
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      rejectCallback,
		Title:           plain("Reject request"),
		Submit:          plain("Reject"),
		Close:           plain("Cancel"),
		PrivateMetadata: meta,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(fmt.Sprintf("Reject request %d (%s) by %s.", r.ID, escape(notify.Cut(r.CatalogItemName, 100)), escape(r.RequesterUsername))), nil, nil),
			slack.NewInputBlock(reasonBlock, plain("Reason"), nil, input),
		}},
	}
}

// refusedDialog is the reject dialog once the rules refused: why, and no
// way to submit.
func refusedDialog(r store.Request, why string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: rejectCallback,
		Title:      plain("Reject request"),
		Close:      plain("Close"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(fmt.Sprintf("You cannot reject request %d. %s", r.ID, why)), nil, nil),
		}},
	}
}

// onCommand answers /countersign: "link" links the caller by confirmed
// e-mail when it can, else gives a one-time portal link.
func (a *App) onCommand(ctx context.Context, cmd slack.SlashCommand) string {
	if strings.TrimSpace(cmd.Text) != "link" {
		return "Usage: `/countersign link` links your Slack account to your Countersign user."
	}
	if u, err := a.Store.SlackUser(ctx, cmd.UserID); err == nil {
		return fmt.Sprintf("Your Slack account is linked to the Countersign user %s. To link another, open: %s", escape(u.Username), a.linkOrError(ctx, cmd.UserID))
	}
	if u, err := a.linkByEmail(ctx, cmd.UserID); err == nil {
		return fmt.Sprintf("Your Slack account is now linked to the Countersign user %s by its verified e-mail address.", escape(u.Username))
	}
	return "Open this link within 15 minutes, signed in to Countersign, and confirm: " + a.linkOrError(ctx, cmd.UserID)
}

func (a *App) linkOrError(ctx context.Context, slackID string) string {
	u, err := a.LinkURL(ctx, slackID)
	if err != nil {
		a.logger().Error("creating a Slack link token failed", "error", err)
		return "(no link could be made; try again)"
	}
	return u
}

// LinkURL makes a one-time link for Slack user slackID: the portal URL
// /ui/slack/link?t=<token>, valid LinkTTL, used once. Only the token's
// SHA-256 is stored.
func (a *App) LinkURL(ctx context.Context, slackID string) (string, error) {
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return "", err
	}
	t := base64.RawURLEncoding.EncodeToString(tok)
	if err := a.Store.CreateSlackLinkToken(ctx, HashLinkToken(t), slackID, a.now().Add(LinkTTL)); err != nil {
		return "", err
	}
	return strings.TrimRight(a.PortalURL, "/") + "/ui/slack/link?t=" + t, nil
}

// HashLinkToken is what the store keeps of a one-time link token.
func HashLinkToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

func (a *App) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *App) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}
