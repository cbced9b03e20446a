package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/store"
)

// Publish records a request's state in PostgreSQL (the projection lists are
// served from) and then delivers the notifications of the transition; with
// NotifyOnly it only delivers them.
//
// Recording is idempotent and monotonic: the store keeps a state only if its
// Seq is newer than the one it has, so a late retry never overwrites a newer
// state. Notifications are delivered at least once (each has a stable id for
// receivers to drop duplicates); deliveries that succeeded are remembered
// across attempts, and after NotifyMaxAttempts attempts the rest are given up
// and logged, so a broken notifier never holds the projection back.
func (a *Activities) Publish(ctx context.Context, in PublishInput) error {
	if err := a.record(ctx, in); err != nil {
		return err
	}
	return a.deliver(ctx, in)
}

// PublishOutcome is what a local publication (PublishLocally) did once it
// recorded the state: Delivered are the deliveries that went out, and
// Pending says some did not, so that a Publish activity retries them.
// Why they did not is logged, never returned: a receiver's error may name
// what must not reach the workflow's history.
type PublishOutcome struct {
	Delivered map[string]bool `json:"delivered,omitempty"`
	Pending   bool            `json:"pending,omitempty"`
}

// PublishLocally is Publish as a local activity, the publication's fast
// path: it records the state and tries each delivery once, within its
// attempt's deadline. Recording failed: the error, and the workflow
// publishes through Publish instead. A delivery failed: the outcome says
// so and which went out, and the workflow retries the rest through
// Publish (PublishInput.Delivered).
func (a *Activities) PublishLocally(ctx context.Context, in PublishInput) (PublishOutcome, error) {
	if err := a.record(ctx, in); err != nil {
		return PublishOutcome{}, err
	}
	if len(in.Events) == 0 {
		return PublishOutcome{}, nil
	}
	delivered := deliveries{}
	if err := a.deliverOnce(ctx, in, delivered, localDeliveryMargin); err != nil {
		a.logger().WarnContext(ctx, "notifications not delivered yet; retrying them in an activity", "request_id", in.Request.ID, "seq", in.Seq, "error", err)
		return PublishOutcome{Delivered: delivered, Pending: true}, nil
	}
	return PublishOutcome{}, nil
}

// record writes the publication's state (or, NotifyOnly, only who its
// notifications make participants).
func (a *Activities) record(ctx context.Context, in PublishInput) error {
	if in.NotifyOnly {
		return a.Store.AddRequestParticipants(ctx, in.Request.ID, participants(in.Request, in.Events))
	}
	st := Projection(in.Request, in.Seq)
	st.Participants = participants(in.Request, in.Events)
	_, err := a.Store.RecordRequestState(ctx, st)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The request was deleted (only possible before launch); there is
		// nobody left to show it to.
		a.logger().WarnContext(ctx, "request no longer exists; state not recorded", "request_id", in.Request.ID, "seq", in.Seq)
		return nil
	case errors.Is(err, store.ErrConflict):
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("request %d: its AWX job is recorded for another request", in.Request.ID), "ProjectionConflict", err)
	}
	return err
}

// participants are who a publication of r with events shows was asked
// about the request: the open stage's approvers, whoever decided, and the
// recipients of its notifications. They keep seeing the request.
func participants(r approval.Request, events []Event) []string {
	out := slices.Clone(r.EligibleApprovers)
	for _, st := range r.Stages {
		for _, resp := range st.Responses {
			out = append(out, resp.User)
		}
	}
	for _, ev := range events {
		out = append(out, ev.Recipients...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Recorded is r as the store records it, with who was asked about it: what
// a publication without notifications writes. The API records the state
// its decisions answer with this way.
func Recorded(r approval.Request) store.RequestState {
	st := Projection(r, r.Seq)
	st.Participants = participants(r, nil)
	return st
}

func (a *Activities) deliver(ctx context.Context, in PublishInput) error {
	if len(in.Events) == 0 {
		return nil
	}
	delivered := deliveries{}
	maps.Copy(delivered, in.Delivered)
	if activity.HasHeartbeatDetails(ctx) {
		maps.Copy(delivered, readDeliveries(ctx))
	}
	retryable := a.deliverOnce(ctx, in, delivered, deliveryMargin)
	if retryable == nil {
		return nil
	}
	attempt := activity.GetInfo(ctx).Attempt
	if max := a.notifyMaxAttempts(); attempt >= max {
		a.logger().ErrorContext(ctx, "giving up on notifications", "request_id", in.Request.ID, "attempts", attempt, "error", retryable)
		return nil
	}
	// Sent with the failure, so the next attempt skips what went out.
	activity.RecordHeartbeat(ctx, delivered)
	return retryable
}

// deliverOnce tries once each delivery of in not in delivered, adding
// those that went out (or were refused for good) to it, and says why
// some did not. It stops margin short of ctx's deadline, so that a
// hanging receiver leaves time to report what was delivered instead of
// timing the attempt out with nothing noted, again and again.
func (a *Activities) deliverOnce(ctx context.Context, in PublishInput, delivered deliveries, margin time.Duration) error {
	contacts, err := a.contacts(ctx, in.Events)
	if err != nil {
		return err
	}
	dctx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(ctx, deadline.Add(-margin))
		defer cancel()
	}
	var retryable error
	channels := a.channels()
events:
	for i, ev := range in.Events {
		n := notification(in.Request, ev, contacts, a.now())
		for _, ch := range channels {
			key := deliveryKey(ch.Name, i)
			if delivered[key] {
				continue
			}
			if dctx.Err() != nil {
				retryable = fmt.Errorf("no time left in this attempt for notification %d: %w", i, dctx.Err())
				break events
			}
			err := a.notify(dctx, ch, n, delivered, key)
			switch {
			case err == nil:
				delivered[key] = true
			case errors.Is(err, notify.ErrPermanent):
				delivered[key] = true
				a.logger().ErrorContext(ctx, "notification refused", "id", n.ID, "channel", ch.Name, "error", err)
			default:
				retryable = fmt.Errorf("%s: %w", ch.Name, err)
			}
		}
	}
	return retryable
}

// notify delivers n through ch. A channel that serves each recipient on
// its own (notify.RecipientNotifier: mail) is given only the recipients
// it has not served in an earlier attempt, and each it serves is noted in
// delivered under key + "/" + username, so that a retry after a partial
// failure reaches only the others.
func (a *Activities) notify(ctx context.Context, ch notify.Channel, n notify.Notification, delivered deliveries, key string) error {
	rn, ok := ch.Notifier.(notify.RecipientNotifier)
	if !ok {
		return ch.Notifier.Notify(ctx, n)
	}
	rest := make([]notify.Recipient, 0, len(n.Recipients))
	for _, r := range n.Recipients {
		if !delivered[key+"/"+r.Username] {
			rest = append(rest, r)
		}
	}
	n.Recipients = rest
	served, err := rn.NotifyRecipients(ctx, n)
	for _, u := range served {
		delivered[key+"/"+u] = true
	}
	if err == nil || errors.Is(err, notify.ErrPermanent) {
		// The event is delivered (key): who was served no longer matters,
		// and need not ride along in heartbeats and history.
		for k := range delivered {
			if strings.HasPrefix(k, key+"/") {
				delete(delivered, k)
			}
		}
	}
	return err
}

// deliveries are the notifications of a publication that went out, as
// deliveryKey names them; attempts record them in their heartbeat.
type deliveries map[string]bool

// deliveryKey names the delivery of a publication's i-th event through a
// channel; with "/" and a username appended, its delivery to that
// recipient, for channels that serve recipients one by one.
func deliveryKey(channel string, i int) string {
	return channel + "/" + strconv.Itoa(i)
}

// readDeliveries reads what earlier attempts delivered. Attempts from
// before channels recorded event positions alone ({"0": true}), for the
// one channel there was then: the webhook (or the log).
func readDeliveries(ctx context.Context) deliveries {
	var raw json.RawMessage
	if err := activity.GetHeartbeatDetails(ctx, &raw); err != nil {
		return nil
	}
	var byKey map[string]bool
	if json.Unmarshal(raw, &byKey) != nil {
		return nil
	}
	out := deliveries{}
	for k, ok := range byKey {
		if !ok {
			continue
		}
		if i, err := strconv.Atoi(k); err == nil {
			k = deliveryKey(notify.ChannelWebhook, i)
		}
		out[k] = true
	}
	return out
}

// deliveryMargin is kept free at the end of a publication attempt to report
// what was delivered; localDeliveryMargin, likewise in a local one, which
// only returns it.
const (
	deliveryMargin      = 3 * time.Second
	localDeliveryMargin = 250 * time.Millisecond
)

func (a *Activities) notifyMaxAttempts() int32 {
	if a.NotifyMaxAttempts > 0 {
		return a.NotifyMaxAttempts
	}
	return DefaultNotifyMaxAttempts
}

func (a *Activities) contacts(ctx context.Context, events []Event) (map[string]notify.Recipient, error) {
	seen := map[string]bool{}
	var users []string
	for _, ev := range events {
		for _, u := range ev.Recipients {
			if !seen[u] {
				seen[u] = true
				users = append(users, u)
			}
		}
	}
	found, err := a.Store.UserContacts(ctx, users)
	if err != nil {
		return nil, err
	}
	out := make(map[string]notify.Recipient, len(users))
	for _, u := range users {
		out[u] = notify.Recipient{Username: u}
	}
	for _, c := range found {
		out[c.Username] = notify.Recipient{Username: c.Username, Email: c.Email}
	}
	return out, nil
}

// Projection maps the workflow's view of a request, as of seq, onto the
// store's rows; the worker's reconciler uses it too.
func Projection(r approval.Request, seq int64) store.RequestState {
	st := store.RequestState{
		ID:               r.ID,
		Seq:              seq,
		Status:           string(r.Status),
		PendingApprovers: r.EligibleApprovers,
		ExtendableUntil:  r.ExtendableUntil(),
		FailureReason:    r.FailureReason,
		Modified:         r.Modified,
		Finished:         r.Finished,
	}
	if st.PendingApprovers == nil {
		st.PendingApprovers = []string{}
	}
	if r.Current() != nil {
		pos := r.CurrentStage
		st.CurrentStage = &pos
	}
	if r.Denial != nil {
		st.Denial, _ = json.Marshal(r.Denial)
	}
	if r.ChangesRequested != nil {
		st.ChangesRequested, _ = json.Marshal(r.ChangesRequested)
	}
	if r.Job != nil {
		st.Job = &store.JobRef{Type: r.Job.Type, ID: r.Job.ID, Status: r.Job.Status, URL: r.Job.URL}
	}
	for i, s := range r.Stages {
		row := store.StageState{
			Position:           i,
			Name:               s.Name,
			MinApprovers:       s.MinApprovers,
			DenialMessage:      s.DenialMessage,
			Timeout:            s.Timeout.Std(),
			ReminderInterval:   s.ReminderInterval.Std(),
			RequireRecentLogin: s.RequireRecentLogin.Std(),
			EscalationTeamIDs:  s.EscalationTeams(),
			Status:             string(s.Status),
			OpenedAt:           s.OpenedAt,
			Deadline:           s.Deadline,
			DecidedAt:          s.DecidedAt,
		}
		if s.ApproverTeam != nil {
			id := s.ApproverTeam.ID
			row.ApproverTeamID = &id
			row.ApproverTeamName = s.ApproverTeam.Name
		}
		st.Stages = append(st.Stages, row)
		for _, resp := range s.Responses {
			pos := i
			st.Responses = append(st.Responses, store.Response{
				StagePosition: &pos, Username: resp.User, Kind: string(resp.Decision), Text: resp.Comment, Created: resp.At,
				Channel: resp.Channel, Unverified: resp.Unverified, SignedInAt: resp.SignedInAt, OnBehalfOf: resp.OnBehalfOf,
			})
		}
	}
	for _, c := range r.Comments {
		st.Responses = append(st.Responses, store.Response{
			StagePosition: c.Stage, Username: c.User, Kind: "comment", Text: c.Text, Created: c.At,
			Channel: c.Channel, Unverified: c.Unverified,
		})
	}
	sort.SliceStable(st.Responses, func(i, j int) bool { return st.Responses[i].Created.Before(st.Responses[j].Created) })
	return st
}

// notification words an event for people.
func notification(r approval.Request, ev Event, contacts map[string]notify.Recipient, now time.Time) notify.Notification {
	n := notify.Notification{
		ID:          fmt.Sprintf("service-request-%d/%s/%d/%d", r.ID, ev.Kind, ev.Stage, ev.Seq),
		Kind:        ev.Kind,
		RequestID:   r.ID,
		Status:      string(r.Status),
		CatalogItem: r.CatalogItem.Name,
		Requester:   r.Requester,
		Time:        now,
		// The stage the event names; an unknown one stays -1.
		StagePosition: -1,
	}
	for _, u := range ev.Recipients {
		n.Recipients = append(n.Recipients, contacts[u])
	}
	var stage *approval.StageState
	if ev.Stage >= 0 && ev.Stage < len(r.Stages) {
		stage = &r.Stages[ev.Stage]
		n.Stage, n.StagePosition = stage.Name, ev.Stage
		n.Deadline = stage.Deadline
	}
	what := fmt.Sprintf("Request %d (%s)", r.ID, r.CatalogItem.Name)
	switch ev.Kind {
	case notify.KindPending, notify.KindReminder:
		n.Subject = fmt.Sprintf("%s needs your approval", what)
		if ev.Kind == notify.KindReminder {
			n.Subject = "Reminder: " + n.Subject
		}
		n.Message = fmt.Sprintf("%s requests %s: %q.", r.Requester, r.CatalogItem.Name, r.Justification)
		if stage != nil {
			n.Message += fmt.Sprintf(" Stage %d of %d (%s) needs %d approval(s), %d so far; deadline %s.",
				ev.Stage+1, len(r.Stages), stage.Name, stage.MinApprovers, stage.Approvals, stage.Deadline.UTC().Format(time.RFC3339))
		}
	case notify.KindDecided:
		n.Subject = fmt.Sprintf("%s was %s", what, r.Status)
		if r.Status == approval.StatusRejected && r.Denial != nil {
			n.Message = fmt.Sprintf("Stage %s rejected it. %s Reason from %s: %s", r.Denial.Stage, r.Denial.Message, r.Denial.User, r.Denial.Reason)
		} else {
			n.Message = "All approval stages approved it; it launches now."
		}
	case notify.KindChangesRequested:
		n.Subject = fmt.Sprintf("%s: changes requested", what)
		if c := r.ChangesRequested; c != nil {
			n.Message = fmt.Sprintf("%s asked for changes at stage %s: %s. Resubmit the request with the changes.", c.User, c.Stage, c.Reason)
		}
	case notify.KindExpired:
		n.Subject = fmt.Sprintf("%s expired", what)
		if stage != nil {
			n.Message = fmt.Sprintf("Stage %s was not decided before its deadline (%s).", stage.Name, stage.Deadline.UTC().Format(time.RFC3339))
		}
	case notify.KindUnreachable:
		n.Subject = fmt.Sprintf("%s cannot be approved as things stand", what)
		if stage != nil {
			n.Message = fmt.Sprintf("Stage %d of %d (%s), requested by %s, %s.", ev.Stage+1, len(r.Stages), stage.Name, r.Requester,
				unreachableReason(stage))
			n.Message += " " + unreachableRemedy(stage)
			n.Message += fmt.Sprintf(" Otherwise it expires at %s.", stage.Deadline.UTC().Format(time.RFC3339))
		}
	case notify.KindExtended:
		n.Subject = fmt.Sprintf("%s: deadline extended", what)
		if stage != nil && len(stage.Extensions) > 0 {
			e := stage.Extensions[len(stage.Extensions)-1]
			n.Message = fmt.Sprintf("Stage %d of %d (%s): %s.", ev.Stage+1, len(r.Stages), stage.Name, e)
			if e.Reason != "" {
				n.Message += " Reason: " + e.Reason
			}
		}
	case notify.KindDeadlineWarning:
		n.Subject = fmt.Sprintf("%s: approval deadline nears", what)
		if stage != nil {
			n.Message = fmt.Sprintf("Stage %d of %d (%s) needs %d approval(s), %d so far; it expires at %s unless decided.",
				ev.Stage+1, len(r.Stages), stage.Name, stage.MinApprovers, stage.Approvals, stage.Deadline.UTC().Format(time.RFC3339))
		}
	case notify.KindFinished:
		n.Subject = fmt.Sprintf("%s finished: %s", what, r.Status)
		switch {
		case r.FailureReason != "":
			n.Message = r.FailureReason
		case r.Cancellation != nil:
			n.Message = fmt.Sprintf("Canceled by %s. %s", r.Cancellation.User, r.Cancellation.Reason)
		case r.Job != nil:
			n.Message = fmt.Sprintf("AWX %s %d ended %s: %s", r.Job.Type, r.Job.ID, r.Job.Status, r.Job.URL)
		}
	}
	return n
}

// unreachableReason is why a stage cannot be completed, as the state says.
func unreachableReason(st *approval.StageState) string {
	if st.Unreachable == nil {
		return "cannot be completed by its approvers"
	}
	return "cannot be completed: it " + st.Unreachable.Reason
}

// unreachableRemedy says what the organization's admins can do about a
// stage that cannot be completed.
func unreachableRemedy(st *approval.StageState) string {
	if st.ApproverTeam != nil {
		return fmt.Sprintf("Add members to team %s or escalate the stage to another team (the request then asks them), or cancel the request; "+
			"a superuser may also approve it.", st.ApproverTeam.Name)
	}
	return "Make more people admins of the organization or escalate the stage to a team (the request then asks them), or cancel the request; " +
		"a superuser may also approve it."
}
