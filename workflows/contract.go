// Package workflows holds the ServiceRequest workflow and its published
// contract: the task queue, the workflow type, the workflow ID of a request,
// the names and payloads of its updates, signals and query, and its search
// attributes (SPEC 4). Callers (the REST API, the `temporal` CLI, tests) need
// only this file.
package workflows

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/proof"
)

// DefaultTaskQueue is the task queue workers poll unless configured otherwise.
const DefaultTaskQueue = "countersign"

// WorkflowType is the registered name of the ServiceRequest workflow.
const WorkflowType = "ServiceRequest"

// Message names. Each action is both an update (synchronous, used by the
// API; a refused update is rejected by its validator and leaves no trace in
// history) and a signal (asynchronous, for the `temporal` CLI and for use
// while workers are down; a refused signal is recorded in the state).
const (
	Approve = string(approval.ActionApprove)
	Reject  = string(approval.ActionReject)
	Comment = string(approval.ActionComment)
	Cancel  = string(approval.ActionCancel)
	// RequestChanges ends the request changes_requested, asking its
	// requester for changes; like reject it needs a reason.
	RequestChanges = string(approval.ActionRequestChanges)
	// Extend extends the open stage's deadline, up to its max_extension.
	Extend = string(approval.ActionExtend)
	// Escalate makes another team's members eligible on the open stage
	// (org admins only).
	Escalate = string(approval.ActionEscalate)
	// RefreshApprovers is a signal telling a waiting request that the
	// membership of a team or of the organization's admins changed, or a
	// delegation of one of its approvers, so it resolves who may decide
	// its open stage again.
	RefreshApprovers = "refresh_approvers"
	// StateQuery returns the request as an approval.Request.
	StateQuery = "state"
)

// WorkflowIDPrefix begins every request's workflow ID, followed by the
// request id (for shell commands that build one).
const WorkflowIDPrefix = "service-request-"

// WorkflowID is the workflow ID of request id.
func WorkflowID(requestID int64) string {
	return WorkflowIDPrefix + strconv.FormatInt(requestID, 10)
}

// RequestID parses a workflow ID made by WorkflowID.
func RequestID(workflowID string) (int64, error) {
	rest, ok := strings.CutPrefix(workflowID, WorkflowIDPrefix)
	if !ok {
		return 0, fmt.Errorf("%q is not a service request workflow ID", workflowID)
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a service request workflow ID", workflowID)
	}
	return id, nil
}

// StartOptions are the options to start the workflow of a request with: its
// workflow ID, refused if the request was ever started before (running or
// not), and the search attributes known at submission (set at start, they
// cost no action).
func StartOptions(in Input, taskQueue string) client.StartWorkflowOptions {
	if taskQueue == "" {
		taskQueue = DefaultTaskQueue
	}
	attrs := []temporal.SearchAttributeUpdate{
		RequestStatusKey.ValueSet(string(approval.StatusPendingApproval)),
		RequesterKey.ValueSet(in.Requester),
		CatalogItemKey.ValueSet(in.CatalogItem.Name),
		OrganizationKey.ValueSet(in.Organization.Name),
	}
	if in.Roster != nil {
		attrs = append(attrs, PendingApproversKey.ValueSet(in.startingApprovers()))
	}
	return client.StartWorkflowOptions{
		ID:                                       WorkflowID(in.RequestID),
		TaskQueue:                                taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{SubmissionMemo: codec.Plain{Value: in.Submission}},
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
	}
}

// RevisionLean: the API records in PostgreSQL the state each of its
// decisions answers with (activities.Recorded), so the workflow publishes
// such a change only when it has notifications to deliver or another
// change follows; a request approved through the API is published again
// once its job is launched and running (or has waited RunningWithin to
// run), with the approval's notification, rather than once approved, once
// launched and once running. It costs a typical request four publications
// and two search-attribute upserts less. Requests started before it, or
// without it, publish every change.
const RevisionLean = 1

// RevisionLocalPublish: publications run as a local activity
// (activities.PublishLocally) in the workflow task that asks for them,
// and only what that could not do (PostgreSQL unavailable, a receiver
// failing) goes to the Publish activity. The same billable actions as a
// Publish activity each, and for the server no activity task to match,
// start and complete and no workflow task to hear of it. Includes
// RevisionLean.
const RevisionLocalPublish = 2

// LatestRevision is the revision the API starts requests with.
const LatestRevision = RevisionLocalPublish

// runningWithin bounds how long a launched job may wait in AWX's queue
// before the request shows it anyway (RevisionLean).
const runningWithin = approval.Duration(30 * time.Second)

// Starting is the request as its workflow starts at now: with Roster, its
// first stage open (or, without stages, its roster known). Its
// EligibleApprovers are the request's first pending approvers, which the
// API records with the request and in its search attributes.
func (in Input) Starting(now time.Time) *approval.Request {
	r := approval.NewRequest(in.RequestID, in.Organization, in.CatalogItem, in.Requester, in.Justification, in.Plan, now)
	if in.Roster == nil {
		return r
	}
	if r.Status == approval.StatusApproved {
		r.SetRoster(*in.Roster, now)
	} else if i, ok := r.NextStage(); ok {
		r.OpenStage(i, *in.Roster, now)
	}
	return r
}

// startingApprovers are the pending approvers the request starts with
// when the API resolved its roster: what StartOptions sets.
func (in Input) startingApprovers() []string {
	pending := in.Starting(time.Time{}).EligibleApprovers
	if pending == nil {
		pending = []string{}
	}
	return pending
}

// SubmissionMemo is the memo field holding Input.Submission.
const SubmissionMemo = "submission"

// Search attributes of a ServiceRequest, upserted on every transition.
var (
	RequestStatusKey    = temporal.NewSearchAttributeKeyKeyword("RequestStatus")
	RequesterKey        = temporal.NewSearchAttributeKeyKeyword("Requester")
	CatalogItemKey      = temporal.NewSearchAttributeKeyKeyword("CatalogItem")
	OrganizationKey     = temporal.NewSearchAttributeKeyKeyword("Organization")
	PendingApproversKey = temporal.NewSearchAttributeKeyKeywordList("PendingApprovers")
)

// SearchAttributes maps each search attribute's name to its type, as the
// Temporal server must register them (`temporal operator search-attribute
// create`, or `--search-attribute` of the dev server).
var SearchAttributes = map[string]string{
	RequestStatusKey.GetName():    "Keyword",
	RequesterKey.GetName():        "Keyword",
	CatalogItemKey.GetName():      "Keyword",
	OrganizationKey.GetName():     "Keyword",
	PendingApproversKey.GetName(): "KeywordList",
}

// Every action's payload may carry a proof of its user (package proof).
// The API signs what it sends; a person deciding from the `temporal` CLI
// signs with their decision key (`countersign decision sign` prints the
// whole --input). How a worker treats a payload without a proof is its
// TEMPORAL_DECISIONS setting: verified refuses it (proof_required),
// trusted applies it recorded as unverified, off refuses every decision
// that did not come through the API.

//
// An approval or rejection the API sends also carries signed_in_at, when
// its user last signed in interactively (the portal session's sign-in),
// under the API's proof: a stage that requires a recent sign-in judges by
// it. Nothing else vouches for one, so from the CLI such a stage refuses
// (recent_login_required).

// ApproveInput is the payload of approve: {"user","comment"}.
type ApproveInput struct {
	User       string       `json:"user"`
	Comment    string       `json:"comment"`
	Proof      *proof.Proof `json:"proof,omitempty"`
	Roster     *StageRoster `json:"roster,omitempty"`
	SignedInAt *time.Time   `json:"signed_in_at,omitempty"`
	// Stage, when set, is the position of the stage the decision is
	// meant for: it is refused (stage_not_open) unless that stage is the
	// open one. A mail's decision link sets it.
	Stage *int `json:"stage,omitempty"`
}

// RejectInput is the payload of reject: {"user","reason"}; reason is required.
type RejectInput struct {
	User       string       `json:"user"`
	Reason     string       `json:"reason"`
	Proof      *proof.Proof `json:"proof,omitempty"`
	Roster     *StageRoster `json:"roster,omitempty"`
	SignedInAt *time.Time   `json:"signed_in_at,omitempty"`
	// Stage, when set, is the position of the stage the decision is
	// meant for: it is refused (stage_not_open) unless that stage is the
	// open one. A mail's decision link sets it.
	Stage *int `json:"stage,omitempty"`
}

// RequestChangesInput is the payload of request_changes: {"user","reason"};
// reason is required. Whoever may reject may ask for changes.
type RequestChangesInput struct {
	User       string       `json:"user"`
	Reason     string       `json:"reason"`
	Proof      *proof.Proof `json:"proof,omitempty"`
	Roster     *StageRoster `json:"roster,omitempty"`
	SignedInAt *time.Time   `json:"signed_in_at,omitempty"`
}

// CommentInput is the payload of comment: {"user","text"}.
type CommentInput struct {
	User   string       `json:"user"`
	Text   string       `json:"text"`
	Proof  *proof.Proof `json:"proof,omitempty"`
	Roster *StageRoster `json:"roster,omitempty"`
}

// CancelInput is the payload of cancel: {"user","reason"}. With
// pending_only, the cancel is refused (not_pending) unless the request still
// waits for approval: the API deletes a request this way, atomically, so a
// request approved meanwhile is never withdrawn.
type CancelInput struct {
	User        string       `json:"user"`
	Reason      string       `json:"reason"`
	PendingOnly bool         `json:"pending_only,omitempty"`
	Proof       *proof.Proof `json:"proof,omitempty"`
	Roster      *StageRoster `json:"roster,omitempty"`
}

// ExtendInput is the payload of extend: {"user","by","reason"}; by is a
// duration such as "24h". The open stage's deadline moves by it, up to the
// stage's max_extension in all.
type ExtendInput struct {
	User   string            `json:"user"`
	By     approval.Duration `json:"by"`
	Reason string            `json:"reason"`
	Proof  *proof.Proof      `json:"proof,omitempty"`
	Roster *StageRoster      `json:"roster,omitempty"`
}

// EscalateInput is the payload of escalate: {"user","approver_team","reason"};
// approver_team is the id of a team of the request's organization, whose
// active members may then decide the open stage too.
type EscalateInput struct {
	User         string       `json:"user"`
	ApproverTeam int64        `json:"approver_team"`
	Reason       string       `json:"reason"`
	Proof        *proof.Proof `json:"proof,omitempty"`
	Roster       *StageRoster `json:"roster,omitempty"`
}

// StageRoster is who may act on a request while a stage is open (Stage,
// its approver team Team, nil for the organization's admins), as the API
// read it from PostgreSQL when it sent a decision. The decision is judged
// against it, so that a membership change holds for decisions as soon as
// it is answered; a roster for another stage than the open one is ignored.
type StageRoster struct {
	Stage int    `json:"stage"`
	Team  *int64 `json:"team"`
	// Escalations are the teams the stage was escalated to, as the sender
	// knew them; a roster that knows other ones than the stage's is
	// ignored too.
	Escalations []int64 `json:"escalations,omitempty"`
	approval.Roster
}

// digest names the roster in a proof's claims.
func (r *StageRoster) digest() string {
	if r == nil {
		return ""
	}
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return "roster:" + hex.EncodeToString(sum[:])
}

// context is what a proof of d vouches for beyond its words: the roster
// and the sign-in time it carries. Without a sign-in time it is the
// roster's digest alone, as proofs made before sign-in times were.
func (d Decision) context() string {
	c := d.Roster.digest()
	if d.SignedInAt != nil {
		c += " signed_in_at:" + d.SignedInAt.UTC().Format(time.RFC3339Nano)
	}
	if d.By != 0 {
		c += " by:" + d.By.String()
	}
	if d.Team != 0 {
		c += " team:" + strconv.FormatInt(d.Team, 10)
	}
	return c
}

// Decision returns in as a Decision on request requestID.
func (in ApproveInput) Decision(requestID int64) Decision {
	return Decision{RequestID: requestID, Action: approval.ActionApprove, User: in.User, Text: in.Comment, Roster: in.Roster,
		SignedInAt: in.SignedInAt, Stage: in.Stage}
}

// Decision returns in as a Decision on request requestID.
func (in RejectInput) Decision(requestID int64) Decision {
	return Decision{RequestID: requestID, Action: approval.ActionReject, User: in.User, Text: in.Reason, Roster: in.Roster,
		SignedInAt: in.SignedInAt, Stage: in.Stage}
}

// Decision returns in as a Decision on request requestID.
func (in RequestChangesInput) Decision(requestID int64) Decision {
	return Decision{RequestID: requestID, Action: approval.ActionRequestChanges, User: in.User, Text: in.Reason, Roster: in.Roster,
		SignedInAt: in.SignedInAt}
}

// Decision returns in as a Decision on request requestID.
func (in CommentInput) Decision(requestID int64) Decision {
	return Decision{RequestID: requestID, Action: approval.ActionComment, User: in.User, Text: in.Text, Roster: in.Roster}
}

// Decision returns in as a Decision on request requestID.
func (in ExtendInput) Decision(requestID int64) Decision {
	return Decision{RequestID: requestID, Action: approval.ActionExtend, User: in.User, Text: in.Reason, By: in.By, Roster: in.Roster}
}

// Decision returns in as a Decision on request requestID.
func (in EscalateInput) Decision(requestID int64) Decision {
	return Decision{RequestID: requestID, Action: approval.ActionEscalate, User: in.User, Text: in.Reason, Team: in.ApproverTeam, Roster: in.Roster}
}

// Decision returns in as a Decision on request requestID.
func (in CancelInput) Decision(requestID int64) Decision {
	return Decision{RequestID: requestID, Action: approval.ActionCancel, User: in.User, Text: in.Reason,
		PendingOnly: in.PendingOnly, Roster: in.Roster}
}

// Decision is any action on a request, as a program builds it; Payload
// gives the update or signal payload of its action.
type Decision struct {
	RequestID   int64
	Action      approval.Action
	User        string
	Text        string
	PendingOnly bool
	// Roster, when the sender read it, is who may act now.
	Roster *StageRoster
	// SignedInAt is when User last signed in interactively, if they did
	// (approvals, rejections and requests for changes only).
	SignedInAt *time.Time
	// By is how much an extension moves the deadline (extend only).
	By approval.Duration
	// Team is the id of the team an escalation adds (escalate only).
	Team int64
	// Stage, when set, is the position of the stage an approval or a
	// rejection is meant for (see ApproveInput.Stage). The proof does not
	// cover it: it can only make a decision be refused.
	Stage *int
}

// Claims are what a proof of d vouches for.
func (d Decision) Claims() proof.Claims {
	return proof.Claims{RequestID: d.RequestID, Action: string(d.Action), User: d.User, Text: d.Text,
		PendingOnly: d.PendingOnly, Context: d.context()}
}

// Signed is d's payload with the API's proof of it, made with keys at now
// for channel ("api" or "portal"): how the API sends its callers'
// decisions.
func (d Decision) Signed(keys *proof.ServiceKeys, channel string, now time.Time) any {
	p := keys.Sign(d.Claims(), channel, now)
	return d.Payload(&p)
}

// Payload is d as its update or signal takes it, with p as its proof (nil:
// none). Unknown actions give nil.
func (d Decision) Payload(p *proof.Proof) any {
	switch d.Action {
	case approval.ActionApprove:
		return ApproveInput{User: d.User, Comment: d.Text, Proof: p, Roster: d.Roster, SignedInAt: d.SignedInAt, Stage: d.Stage}
	case approval.ActionReject:
		return RejectInput{User: d.User, Reason: d.Text, Proof: p, Roster: d.Roster, SignedInAt: d.SignedInAt, Stage: d.Stage}
	case approval.ActionRequestChanges:
		return RequestChangesInput{User: d.User, Reason: d.Text, Proof: p, Roster: d.Roster, SignedInAt: d.SignedInAt}
	case approval.ActionComment:
		return CommentInput{User: d.User, Text: d.Text, Proof: p, Roster: d.Roster}
	case approval.ActionCancel:
		return CancelInput{User: d.User, Reason: d.Text, PendingOnly: d.PendingOnly, Proof: p, Roster: d.Roster}
	case approval.ActionExtend:
		return ExtendInput{User: d.User, By: d.By, Reason: d.Text, Proof: p, Roster: d.Roster}
	case approval.ActionEscalate:
		return EscalateInput{User: d.User, ApproverTeam: d.Team, Reason: d.Text, Proof: p, Roster: d.Roster}
	}
	return nil
}

// RefreshApproversInput is the payload of refresh_approvers.
type RefreshApproversInput struct {
	Reason string `json:"reason"`
}

// Template is the AWX template a catalog item launches. Kind is
// "job_template" or "workflow_job_template" (awx.TemplateKind).
type Template struct {
	Kind awx.TemplateKind `json:"kind"`
	ID   int64            `json:"id"`
}

// Input starts a ServiceRequest. Everything a request depends on is frozen
// here at submission: the plan, the catalog item and its template, the
// requester and the answers. ExtraVars and NodeSurveyData hold the answers
// AWX needs, passwords included; they are never part of the state the
// workflow shows.
type Input struct {
	RequestID      int64                     `json:"request_id"`
	Organization   approval.Ref              `json:"organization"`
	CatalogItem    approval.Ref              `json:"catalog_item"`
	Template       Template                  `json:"template"`
	Requester      string                    `json:"requester"`
	Justification  string                    `json:"justification"`
	ExtraVars      map[string]any            `json:"extra_vars"`
	NodeSurveyData map[string]map[string]any `json:"node_survey_data,omitempty"`
	// SecretVariables name the password answers among ExtraVars and
	// NodeSurveyData; their values are removed from AWX's messages.
	SecretVariables []string      `json:"secret_variables,omitempty"`
	Plan            approval.Plan `json:"plan"`
	// Roster, when the API resolved it at submission, is who may act on
	// the request as it starts: its first stage's, or the organization
	// admins' for a request without stages. The workflow opens the stage
	// with it at once, without an activity, so the request can be decided
	// the moment the API answers; decisions carry the roster of their
	// time and membership changes signal the request, so it is corrected
	// like any other. Without it the workflow resolves it itself.
	Roster *approval.Roster `json:"roster,omitempty"`
	// Revision is how the submitting API and the workflow share the work
	// of publishing (see RevisionLean); 0, the original, when absent.
	Revision int      `json:"revision,omitempty"`
	Settings Settings `json:"settings"`
	// Submission is a random token of the submission that started the
	// workflow, kept in its memo: a start whose answer was lost is
	// recognised by it, and a workflow of another submission under the same
	// id is never taken for this one.
	Submission string `json:"submission,omitempty"`
}

// UnmarshalJSON decodes in keeping the answers' numbers as json.Number, so
// they reach AWX exactly as the requester wrote them: a float64 would
// change integers beyond 2^53 and turn 2.0 into 2. Recorded histories
// decode alike.
func (in *Input) UnmarshalJSON(data []byte) error {
	type plain Input // without this method
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode((*plain)(in))
}

// Settings tune how the workflow deals with AWX. Zero values mean the
// defaults; they are part of the input so that a running request keeps the
// settings it started with.
type Settings struct {
	// LaunchRetryBudget is how long a launch is retried while AWX is
	// unreachable or answers 5xx before the request fails. Default 15m.
	LaunchRetryBudget approval.Duration `json:"launch_retry_budget,omitempty"`
	// PollHeartbeatTimeout is how soon a worker that died while following a
	// job is noticed and another takes over. Default 1m.
	PollHeartbeatTimeout approval.Duration `json:"poll_heartbeat_timeout,omitempty"`
}

// Result is what a finished ServiceRequest returns.
type Result struct {
	Status        approval.Status `json:"status"`
	Job           *approval.Job   `json:"job,omitempty"`
	FailureReason string          `json:"failure_reason,omitempty"`
}
