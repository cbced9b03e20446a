// Package activities holds the ServiceRequest workflow's activities: thin,
// idempotent adapters between the workflow and PostgreSQL, AWX and the
// notifier. Each is a method on Activities, which carries the dependencies.
package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
)

// Store is the part of the store the activities use.
type Store interface {
	Roster(ctx context.Context, orgID int64, teamID *int64) (store.Roster, error)
	UserContacts(ctx context.Context, usernames []string) ([]store.Contact, error)
	RecordRequestState(ctx context.Context, st store.RequestState) (bool, error)
	AddRequestParticipants(ctx context.Context, id int64, users []string) error
	ClaimJob(ctx context.Context, requestID int64, jobType string, jobID int64) error
	RequestJob(ctx context.Context, requestID int64) (*store.JobRef, error)
	JobOwner(ctx context.Context, jobType string, jobID int64) (int64, error)
	MarkLaunchAttempted(ctx context.Context, requestID int64) (time.Time, error)
	LaunchAttemptedAt(ctx context.Context, requestID int64) (*time.Time, error)
}

// Defaults for the zero values of Activities' settings.
const (
	DefaultPollInterval      = 5 * time.Second
	DefaultPollOutageBudget  = 24 * time.Hour
	DefaultNotifyMaxAttempts = 5
	DefaultLaunchSettleTime  = 3 * time.Second
)

// Activities carries what the activities need. The zero values of the
// settings mean their defaults.
type Activities struct {
	Store Store
	AWX   *awx.Client
	// Channels deliver every notification, each on its own: a channel
	// failing is retried without delivering again through the others.
	Channels []notify.Channel
	// Notifier, when Channels is empty, is the only channel (named
	// notify.ChannelWebhook).
	Notifier notify.Notifier
	Logger   *slog.Logger
	// Now is the clock used for notification timestamps.
	Now func() time.Time
	// PollInterval is how often a running AWX job is polled.
	PollInterval time.Duration
	// PollOutageBudget is how long AWX may stay unreachable while a job is
	// followed before the request fails for having lost track of it.
	PollOutageBudget time.Duration
	// NotifyMaxAttempts bounds how many times one publication retries a
	// failing notifier before giving up on those notifications, so a broken
	// webhook never holds back the request's projection.
	NotifyMaxAttempts int32
	// LaunchSettleTime is how long a retried launch waits for a job an
	// earlier attempt may still be creating before it launches again.
	LaunchSettleTime time.Duration
	// Keys looks up users' decision keys.
	Keys DecisionKeys
	// Decisions is how decisions sent through Temporal rather than the API
	// are treated (TEMPORAL_DECISIONS); empty means verified.
	Decisions proof.Mode
	// APIKeys verify the API's proofs.
	APIKeys *proof.ServiceKeys

	awxUser awxUserCache
}

// RosterInput names whose members may act on a stage: the organization and
// the stage's approver team (nil: the organization's admins).
type RosterInput struct {
	OrganizationID int64  `json:"organization_id"`
	TeamID         *int64 `json:"team_id"`
	// EscalationTeams are the teams the stage was escalated to; their
	// active members are the roster's Escalated.
	EscalationTeams []int64 `json:"escalation_teams,omitempty"`
}

// Event is a notification the workflow asks for; Publish turns it into a
// notify.Notification addressed to the named users.
type Event struct {
	Kind       notify.Kind `json:"kind"`
	Recipients []string    `json:"recipients"`
	// Stage is the position of the stage the event is about, or -1.
	Stage int `json:"stage"`
	// Seq tells apart events of the same kind on the same stage, e.g. the
	// first and the second reminder.
	Seq int `json:"seq"`
}

// PublishInput is a request's state after a transition, with the
// notifications that transition causes. Seq grows with every transition.
//
// NotifyOnly marks a transition the projection does not show (reminders
// went out): Publish then only delivers the notifications, and Request
// holds only what they need (see workflows), so that such publications
// stay small in the workflow's history.
type PublishInput struct {
	Seq        int64            `json:"seq"`
	Request    approval.Request `json:"request"`
	Events     []Event          `json:"events"`
	NotifyOnly bool             `json:"notify_only,omitempty"`
	// Delivered are deliveries (by channel and event) a local attempt
	// made already (PublishLocally): Publish skips them.
	Delivered map[string]bool `json:"delivered,omitempty"`
}

// LaunchInput says what to launch for a request.
type LaunchInput struct {
	RequestID      int64                     `json:"request_id"`
	TemplateKind   awx.TemplateKind          `json:"template_kind"`
	TemplateID     int64                     `json:"template_id"`
	ExtraVars      map[string]any            `json:"extra_vars"`
	NodeSurveyData map[string]map[string]any `json:"node_survey_data"`
	// SecretVariables name the password answers, never to be shown.
	SecretVariables []string `json:"secret_variables,omitempty"`
}

// UnmarshalJSON decodes in keeping the answers' numbers as json.Number, so
// they reach AWX exactly as the requester wrote them: a float64 would
// change integers beyond 2^53 and turn 2.0 into 2.
func (in *LaunchInput) UnmarshalJSON(data []byte) error {
	type plain LaunchInput // without this method
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode((*plain)(in))
}

// LaunchResult is the AWX job a request launched (or had launched already).
type LaunchResult struct {
	Job approval.Job `json:"job"`
	// Recovered is true when the job was created by an earlier attempt whose
	// answer was lost.
	Recovered bool `json:"recovered"`
}

// RecoverResult is the job a launch that did not complete created anyway,
// if Found.
type RecoverResult struct {
	Found bool         `json:"found"`
	Job   approval.Job `json:"job"`
}

// PollInput names the job to follow. With UntilRunning, Poll also returns
// as soon as the job is running, so the request can show it; with
// RunningWithin too, at the latest that long into the attempt, whatever
// the job's status, so that a job AWX keeps queued is shown all the same.
type PollInput struct {
	Job           approval.Job      `json:"job"`
	UntilRunning  bool              `json:"until_running"`
	RunningWithin approval.Duration `json:"running_within,omitempty"`
}

// PollResult is the job's AWX status when Poll returned.
type PollResult struct {
	Status      string `json:"status"`
	Explanation string `json:"explanation"`
}

// CancelJobInput names the job to cancel.
type CancelJobInput struct {
	Job approval.Job `json:"job"`
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// channels are the channels notifications go out through.
func (a *Activities) channels() []notify.Channel {
	if len(a.Channels) > 0 {
		return a.Channels
	}
	return []notify.Channel{{Name: notify.ChannelWebhook, Notifier: a.Notifier}}
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Clone is a deep copy of in, as an activity receives it: a local
// activity is handed its input itself, which the workflow goes on
// changing.
func (in PublishInput) Clone() PublishInput {
	raw, err := json.Marshal(in)
	var out PublishInput
	if err == nil {
		err = json.Unmarshal(raw, &out)
	}
	if err != nil {
		// Only what a data converter could not encode either: the
		// workflow task fails and is retried, as it would then.
		panic(fmt.Sprintf("copying a publication: %v", err))
	}
	return out
}
