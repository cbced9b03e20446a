package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/survey"
)

// Where a request's detail comes from.
const (
	sourceWorkflow   = "workflow"
	sourceProjection = "projection"
)

// RequestSummary is a request as lists show it, from the projection.
// Finished is set exactly when Status is terminal.
type RequestSummary struct {
	ID               int64                `json:"id"`
	Type             string               `json:"type"`
	URL              string               `json:"url"`
	Related          RequestRelated       `json:"related"`
	SummaryFields    RequestSummaryFields `json:"summary_fields"`
	Organization     int64                `json:"organization"`
	CatalogItem      int64                `json:"catalog_item"`
	Requester        string               `json:"requester"`
	Justification    string               `json:"justification"`
	Status           approval.Status      `json:"status"`
	CurrentStage     *int                 `json:"current_stage"`
	PendingApprovers []string             `json:"pending_approvers"`
	Job              *Job                 `json:"job"`
	FailureReason    string               `json:"failure_reason"`
	WorkflowID       string               `json:"workflow_id"`
	Created          time.Time            `json:"created"`
	Modified         time.Time            `json:"modified"`
	Finished         *time.Time           `json:"finished"`
}

// RequestRelated are the request's action endpoints.
type RequestRelated struct {
	Approve        string `json:"approve"`
	Reject         string `json:"reject"`
	RequestChanges string `json:"request_changes"`
	Comment        string `json:"comment"`
	Cancel         string `json:"cancel"`
	Extend         string `json:"extend"`
	Escalate       string `json:"escalate"`
}

// RequestSummaryFields name what the request refers to, and what the
// caller may do to it.
type RequestSummaryFields struct {
	CatalogItem      NamedRef            `json:"catalog_item"`
	Requester        UserRef             `json:"requester"`
	UserCapabilities RequestCapabilities `json:"user_capabilities"`
}

// RequestCapabilities are what the caller may do to a request
// (requests.Capabilities), a type of the API's own so that its schema is
// not confused with that of other objects' capabilities
// (access.Capabilities).
type RequestCapabilities requests.Capabilities

// NamedRef is an object's id and name.
type NamedRef = Ref

// UserRef is a user's id and username.
type UserRef struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// Job is the AWX job a request launched. Explanation (the workflow's word
// on its status) is only in a detail read from the workflow.
type Job struct {
	Type        string  `json:"type"`
	ID          int64   `json:"id"`
	Status      string  `json:"status"`
	URL         string  `json:"url"`
	Explanation *string `json:"explanation,omitempty"`
}

// RequestDetail is a request with its answers (passwords masked, as
// stored), stages, responses and comments: from the workflow's state when
// there is one, else from the projection, as Source says. The shape is
// the same either way; what only the workflow knows is null or empty from
// the projection.
type RequestDetail struct {
	RequestSummary
	ExtraVars      json.RawMessage `json:"extra_vars"`
	NodeSurveyData json.RawMessage `json:"node_survey_data"`
	Source         string          `json:"source"`
	Stages         []RequestStage  `json:"stages"`
	Comments       []Comment       `json:"comments"`
	Denial         json.RawMessage `json:"denial"`
	// ChangesRequested is what the requester is told when an approver
	// asked for changes (stage, reason, user, at, channel), or null.
	ChangesRequested *approval.ChangeRequest  `json:"changes_requested"`
	Cancellation     *approval.Cancellation   `json:"cancellation"`
	RefusedSignals   []approval.RefusedAction `json:"refused_signals"`
	Plan             *Plan                    `json:"plan"`
	// Parent is the request this one resubmits, or null; Children are
	// the requests that resubmit this one (at most one).
	Parent   *int64  `json:"parent"`
	Children []int64 `json:"children"`
	// Prefill, for a requester who may submit again from this request
	// (user_capabilities resubmit or request_again), is what a new
	// request starts from: its justification and answers without the
	// password answers, which are never given back. Null otherwise.
	Prefill *Prefill `json:"prefill"`
}

// Prefill is what a submit form starts from when a request is submitted
// again: never a password answer (those are left out, not masked).
type Prefill struct {
	Justification  string                    `json:"justification"`
	ExtraVars      map[string]any            `json:"extra_vars"`
	NodeSurveyData map[string]map[string]any `json:"node_survey_data"`
}

// Plan is an approval plan: in a launch form's approval_plan, the plan a
// request would get; in a request's plan, the one it got. PolicyID and
// PolicyName are null when no policy chose it (and PolicyID in a
// request's plan, whose workflow keeps only the policy's name).
type Plan struct {
	Source     approval.PlanSource `json:"source"`
	PolicyID   *int64              `json:"policy_id"`
	PolicyName *string             `json:"policy_name"`
	Notes      []string            `json:"notes"`
	Stages     []approval.Stage    `json:"stages"`
}

func planView(p approval.Plan) *Plan {
	out := &Plan{Source: p.Source, Notes: nonNilStrings(p.Notes), Stages: p.Stages}
	if p.PolicyID != 0 {
		out.PolicyID = &p.PolicyID
	}
	if p.PolicyName != "" {
		out.PolicyName = &p.PolicyName
	}
	if out.Stages == nil {
		out.Stages = []approval.Stage{}
	}
	return out
}

// RequestStage is one stage of a request and its progress. RemindedAt are the
// times its reminders were sent (one per reminder_interval after it
// opened, reminders_sent of them), so that clients need not compute them.
type RequestStage struct {
	Name             string             `json:"name"`
	Order            int                `json:"order"`
	ApproverTeam     *int64             `json:"approver_team"`
	SummaryFields    StageSummaryFields `json:"summary_fields"`
	MinApprovers     int                `json:"min_approvers"`
	DenialMessage    string             `json:"denial_message"`
	Timeout          approval.Duration  `json:"timeout"`
	ReminderInterval approval.Duration  `json:"reminder_interval"`
	// RequireRecentLogin: a decision on the stage needs a sign-in at
	// most this old ("0s": any).
	RequireRecentLogin approval.Duration    `json:"require_recent_login"`
	Status             approval.StageStatus `json:"status"`
	OpenedAt           *time.Time           `json:"opened_at"`
	Deadline           *time.Time           `json:"deadline"`
	DecidedAt          *time.Time           `json:"decided_at"`
	Approvals          int                  `json:"approvals"`
	Responses          []Response           `json:"responses"`
	NextReminder       *time.Time           `json:"next_reminder"`
	RemindersSent      int                  `json:"reminders_sent"`
	RemindedAt         []time.Time          `json:"reminded_at"`
	Unreachable        *Unreachable         `json:"unreachable"`
	// MaxExtension is how much the deadline may be extended in all,
	// Extended how much it was, by Extensions ("0s" and empty from the
	// projection, which does not know them). WarnBefore: the deadline
	// warning's lead ("0s": none).
	MaxExtension approval.Duration    `json:"max_extension"`
	Extended     approval.Duration    `json:"extended"`
	Extensions   []approval.Extension `json:"extensions"`
	WarnBefore   approval.Duration    `json:"warn_before"`
	// Warnings are when deadline warnings went out (empty from the
	// projection).
	Warnings []time.Time `json:"warnings"`
	// Escalations are the stage's escalation steps; Escalated the teams
	// it was escalated to, by a step or on demand (empty from the
	// projection).
	Escalations []approval.Escalation      `json:"escalations"`
	Escalated   []approval.StageEscalation `json:"escalated"`
	// NextEscalation is the open stage's next escalation step and when it
	// is due; null when none is left (and from the projection).
	NextEscalation *NextEscalation `json:"next_escalation"`
}

// NextEscalation is when an open stage next escalates, and to which team.
type NextEscalation struct {
	At           time.Time    `json:"at"`
	ApproverTeam approval.Ref `json:"approver_team"`
}

// StageSummaryFields name the stage's approver team.
type StageSummaryFields struct {
	ApproverTeam *approval.Ref `json:"approver_team"`
}

// Response is one approver's decision on a stage. Its fields (and
// Comment's) keep the alphabetical order they were always answered in.
type Response struct {
	At       time.Time `json:"at"`
	Channel  string    `json:"channel"`
	Comment  string    `json:"comment"`
	Decision string    `json:"decision"`
	// OnBehalfOf is the delegator whose right User decided with (see
	// delegations); empty when User decided in their own right.
	OnBehalfOf string `json:"on_behalf_of"`
	// SignedInAt is the decider's sign-in the decision was judged by, when
	// the API vouched for one (portal sessions).
	SignedInAt *time.Time `json:"signed_in_at"`
	Unverified bool       `json:"unverified"`
	User       string     `json:"user"`
}

// Comment is a remark on a request; Stage is the 0-based position of the
// stage open when it was made, if any.
type Comment struct {
	At         time.Time `json:"at"`
	Channel    string    `json:"channel"`
	Stage      *int      `json:"stage"`
	Text       string    `json:"text"`
	Unverified bool      `json:"unverified"`
	User       string    `json:"user"`
}

// Unreachable says why the open stage cannot be completed by its
// approvers. Since is left out from the projection, which does not know
// it.
type Unreachable struct {
	Reason    string     `json:"reason"`
	Needed    int        `json:"needed"`
	Remaining []string   `json:"remaining"`
	Since     *time.Time `json:"since,omitempty"`
}

// requestSummary is r as lists show it, with what the caller may do to it.
func requestSummary(r store.Request, caps requests.Capabilities) RequestSummary {
	url := fmt.Sprintf("/api/v2/service_requests/%d/", r.ID)
	var job *Job
	if r.Job != nil {
		job = &Job{Type: r.Job.Type, ID: r.Job.ID, Status: r.Job.Status, URL: r.Job.URL}
	}
	return RequestSummary{
		ID: r.ID, Type: "service_request", URL: url,
		Related: RequestRelated{Approve: url + "approve/", Reject: url + "reject/", RequestChanges: url + "request_changes/",
			Comment: url + "comment/", Cancel: url + "cancel/", Extend: url + "extend/", Escalate: url + "escalate/"},
		SummaryFields: RequestSummaryFields{
			CatalogItem:      NamedRef{ID: r.CatalogItemID, Name: r.CatalogItemName},
			Requester:        UserRef{ID: r.RequesterID, Username: r.RequesterUsername},
			UserCapabilities: RequestCapabilities(caps),
		},
		Organization: r.OrganizationID, CatalogItem: r.CatalogItemID, Requester: r.RequesterUsername,
		Justification: r.Justification, Status: approval.Status(r.Status), CurrentStage: r.CurrentStage,
		PendingApprovers: nonNilStrings(r.PendingApprovers), Job: job, FailureReason: r.FailureReason,
		WorkflowID: r.WorkflowID, Created: r.Created, Modified: r.Modified, Finished: r.Finished,
	}
}

// requestDetail is r in full, from st, the workflow's state, when there is
// one, else from the projection.
func requestDetail(r store.Request, st *approval.Request, caps requests.Capabilities) RequestDetail {
	out := RequestDetail{RequestSummary: requestSummary(r, caps),
		ExtraVars: rawOrEmpty(r.ExtraVars), NodeSurveyData: rawOrEmpty(r.NodeSurveyData),
		RefusedSignals: []approval.RefusedAction{}, Parent: r.ParentID, Children: r.Children}
	if out.Children == nil {
		out.Children = []int64{}
	}
	if caps.Resubmit || caps.RequestAgain {
		out.Prefill = prefillOf(r)
	}
	if st == nil {
		out.Source = sourceProjection
		out.Stages, out.Comments = projectionStages(r)
		out.Denial = rawOrNil(r.Denial)
		if raw := rawOrNil(r.ChangesRequested); raw != nil {
			var cr approval.ChangeRequest
			if json.Unmarshal(raw, &cr) == nil {
				out.ChangesRequested = &cr
			}
		}
		return out
	}
	out.Source = sourceWorkflow
	out.Status = st.Status
	out.CurrentStage = currentStage(st)
	out.PendingApprovers = nonNilStrings(st.EligibleApprovers)
	out.FailureReason = st.FailureReason
	out.Modified, out.Finished = st.Modified, st.Finished
	if st.Job != nil {
		explanation := st.Job.Explanation
		out.Job = &Job{Type: st.Job.Type, ID: st.Job.ID, Status: st.Job.Status, URL: st.Job.URL, Explanation: &explanation}
	}
	out.Stages = make([]RequestStage, len(st.Stages))
	planStages := make([]approval.Stage, len(st.Stages))
	for i, s := range st.Stages {
		planStages[i] = s.Stage
		responses := make([]Response, len(s.Responses))
		for j, resp := range s.Responses {
			responses[j] = Response{User: resp.User, Decision: string(resp.Decision), Comment: resp.Comment, At: resp.At,
				Channel: resp.Channel, Unverified: resp.Unverified, SignedInAt: resp.SignedInAt, OnBehalfOf: resp.OnBehalfOf}
		}
		v := stageView(i, s.Stage.Name, s.ApproverTeam, s.MinApprovers, s.DenialMessage, s.Timeout.Std(), s.ReminderInterval.Std(),
			string(s.Status), s.OpenedAt, s.Deadline, s.DecidedAt, s.Approvals, responses)
		v.NextReminder, v.RemindersSent = s.NextReminder, s.RemindersSent
		v.RequireRecentLogin = s.RequireRecentLogin
		v.RemindedAt = remindedAt(s.OpenedAt, s.ReminderInterval.Std(), s.RemindersSent)
		v.MaxExtension, v.Extended, v.WarnBefore = s.MaxExtension, s.Extended, s.WarnBefore
		if s.Extensions != nil {
			v.Extensions = s.Extensions
		}
		if s.Warnings != nil {
			v.Warnings = s.Warnings
		}
		if s.Escalations != nil {
			v.Escalations = s.Escalations
		}
		if s.Escalated != nil {
			v.Escalated = s.Escalated
		}
		if team, at, ok := s.NextEscalation(); ok {
			v.NextEscalation = &NextEscalation{At: at, ApproverTeam: team}
		}
		if u := s.Unreachable; u != nil {
			since := u.Since
			v.Unreachable = &Unreachable{Reason: u.Reason, Needed: u.Needed, Remaining: nonNilStrings(u.Remaining), Since: &since}
		}
		out.Stages[i] = v
	}
	out.Comments = make([]Comment, len(st.Comments))
	for i, cm := range st.Comments {
		out.Comments[i] = Comment{User: cm.User, Text: cm.Text, Stage: cm.Stage, At: cm.At, Channel: cm.Channel, Unverified: cm.Unverified}
	}
	if st.Denial != nil {
		out.Denial, _ = json.Marshal(st.Denial)
	}
	out.Cancellation = st.Cancellation
	out.ChangesRequested = st.ChangesRequested
	if st.Refused != nil {
		out.RefusedSignals = st.Refused
	}
	out.Plan = planView(approval.Plan{Source: st.PlanSource, PolicyName: st.PlanPolicy, Notes: st.PlanNotes, Stages: planStages})
	return out
}

// prefillOf is what submitting r again starts from: its justification and
// answers, less the password answers, which are stored only as
// survey.Encrypted and left out here.
func prefillOf(r store.Request) *Prefill {
	out := &Prefill{Justification: r.Justification, ExtraVars: map[string]any{}, NodeSurveyData: map[string]map[string]any{}}
	if decodeAnswers(r.ExtraVars, &out.ExtraVars) == nil {
		dropMasked(out.ExtraVars)
	}
	if decodeAnswers(r.NodeSurveyData, &out.NodeSurveyData) == nil {
		for _, answers := range out.NodeSurveyData {
			dropMasked(answers)
		}
	}
	if out.ExtraVars == nil {
		out.ExtraVars = map[string]any{}
	}
	if out.NodeSurveyData == nil {
		out.NodeSurveyData = map[string]map[string]any{}
	}
	return out
}

// decodeAnswers reads stored answers keeping their numbers as written.
func decodeAnswers(raw json.RawMessage, dst any) error {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(dst)
}

func dropMasked(answers map[string]any) {
	for k, v := range answers {
		if v == survey.Encrypted {
			delete(answers, k)
		}
	}
}

// remindedAt are the times of the reminders sent for a stage opened at
// opened: the first an interval after it opened, then one per interval.
func remindedAt(opened *time.Time, every time.Duration, sent int) []time.Time {
	out := []time.Time{}
	for k := 1; k <= sent && opened != nil; k++ {
		out = append(out, opened.Add(time.Duration(k)*every))
	}
	return out
}

func currentStage(st *approval.Request) *int {
	if st.Current() == nil {
		return nil
	}
	i := st.CurrentStage
	return &i
}

func stageView(i int, name string, team *approval.Ref, minApprovers int, denial string, timeout, reminder time.Duration,
	status string, opened, deadline, decided *time.Time, approvals int, responses []Response) RequestStage {
	var teamID *int64
	if team != nil {
		id := team.ID
		teamID = &id
	}
	return RequestStage{
		Name: name, Order: i + 1, ApproverTeam: teamID, SummaryFields: StageSummaryFields{ApproverTeam: team},
		MinApprovers: minApprovers, DenialMessage: denial,
		Timeout: approval.Duration(timeout), ReminderInterval: approval.Duration(reminder),
		Status: approval.StageStatus(status), OpenedAt: opened, Deadline: deadline, DecidedAt: decided,
		Approvals: approvals, Responses: responses, RemindedAt: []time.Time{}, Extensions: []approval.Extension{}, Warnings: []time.Time{},
		Escalations: []approval.Escalation{}, Escalated: []approval.StageEscalation{},
	}
}

// projectionStages rebuilds stages and comments from the projection's rows.
func projectionStages(r store.Request) ([]RequestStage, []Comment) {
	byStage := map[int][]Response{}
	approvals := map[int]int{}
	comments := []Comment{}
	for _, resp := range r.Responses {
		if resp.Kind == "comment" {
			comments = append(comments, Comment{User: resp.Username, Text: resp.Text, Stage: resp.StagePosition, At: resp.Created,
				Channel: resp.Channel, Unverified: resp.Unverified})
			continue
		}
		if resp.StagePosition == nil {
			continue
		}
		pos := *resp.StagePosition
		byStage[pos] = append(byStage[pos], Response{User: resp.Username, Decision: resp.Kind, Comment: resp.Text, At: resp.Created,
			Channel: resp.Channel, Unverified: resp.Unverified, SignedInAt: resp.SignedInAt, OnBehalfOf: resp.OnBehalfOf})
		if resp.Kind == "approve" {
			approvals[pos]++
		}
	}
	stages := make([]RequestStage, len(r.Stages))
	for i, s := range r.Stages {
		var team *approval.Ref
		if s.ApproverTeamID != nil {
			team = &approval.Ref{ID: *s.ApproverTeamID, Name: s.ApproverTeamName}
		}
		responses := byStage[s.Position]
		if responses == nil {
			responses = []Response{}
		}
		stages[i] = stageView(i, s.Name, team, s.MinApprovers, s.DenialMessage, s.Timeout, s.ReminderInterval,
			s.Status, s.OpenedAt, s.Deadline, s.DecidedAt, approvals[s.Position], responses)
		stages[i].RequireRecentLogin = approval.Duration(s.RequireRecentLogin)
		stages[i].Unreachable = projectionUnreachable(r, s, approvals[s.Position])
	}
	return stages, comments
}

// projectionUnreachable judges the open stage s from what the projection
// keeps: its quorum, its approvals and who may still decide. The index
// does not know who was excluded nor since when, so the reason is shorter
// than the workflow's.
func projectionUnreachable(r store.Request, s store.StageState, approvals int) *Unreachable {
	if r.CurrentStage == nil || *r.CurrentStage != s.Position || s.Status != string(approval.StagePending) {
		return nil
	}
	needed := s.MinApprovers - approvals
	short, ok := approval.Shortfall(needed, nonNilStrings(r.PendingApprovers))
	if !ok {
		return nil
	}
	return &Unreachable{Reason: short, Needed: needed, Remaining: nonNilStrings(r.PendingApprovers)}
}

func rawOrEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

func rawOrNil(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
