package requests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/survey"
	"github.com/countersign/countersign/workflows"
)

// plan resolves the approval plan of a request for item with these
// answers, within the stage limits.
func (s *Service) plan(ctx context.Context, a Actor, item store.CatalogItem, vars map[string]any, nodes map[string]map[string]any, justification string) (approval.Plan, error) {
	policies, err := s.cfg.Store.EnabledPolicies(ctx, item.OrganizationID)
	if err != nil {
		return approval.Plan{}, err
	}
	var teams []string
	for _, t := range a.Teams {
		if t.OrganizationID == item.OrganizationID {
			teams = append(teams, t.Name)
		}
	}
	subject := approval.Subject{
		Item: approval.Item{
			ID: item.ID, Name: item.Name, Description: item.Description, Category: item.Category, Tags: item.Tags,
			Organization: item.OrganizationName, RequiresApproval: item.RequiresApproval, IsWorkflow: item.IsWorkflow(),
		},
		Requester:      approval.Requester{Username: a.Username, Teams: teams},
		ExtraVars:      vars,
		NodeSurveyData: nodes,
		Justification:  justification,
	}
	if item.ApproverTeamID != nil {
		subject.Item.ApproverTeam = &approval.Ref{ID: *item.ApproverTeamID, Name: item.ApproverTeamName}
	}
	// Policies saved under other limits, and the fallback stage, are
	// brought within today's as the plan is frozen.
	return s.cfg.StageLimits.Apply(approval.ResolvePlan(approvalPolicies(policies), subject)), nil
}

// ApprovalStages are a policy's stored stages as the approval rules read
// them: every reader of a policy's stages (plans, and the API's check that
// stages sent back unchanged are no change) takes them from here.
func ApprovalStages(stored []store.PolicyStage) []approval.Stage {
	out := make([]approval.Stage, len(stored))
	for i, st := range stored {
		out[i] = approval.Stage{Name: st.Name, Order: i + 1, MinApprovers: st.MinApprovers, DenialMessage: st.DenialMessage,
			Timeout: approval.Duration(st.Timeout), ReminderInterval: approval.Duration(st.ReminderInterval),
			RequireRecentLogin: approval.Duration(st.RequireRecentLogin), MaxExtension: approval.Duration(st.MaxExtension),
			WarnBefore: approval.Duration(st.WarnBefore)}
		if st.ApproverTeamID != nil {
			out[i].ApproverTeam = &approval.Ref{ID: *st.ApproverTeamID, Name: st.ApproverTeamName}
		}
		for _, e := range st.Escalations {
			out[i].Escalations = append(out[i].Escalations, approval.Escalation{After: approval.Duration(e.After),
				ApproverTeam: approval.Ref{ID: e.ApproverTeamID, Name: e.ApproverTeamName}})
		}
	}
	return out
}

func approvalPolicies(ps []store.Policy) []approval.Policy {
	out := make([]approval.Policy, len(ps))
	for i, p := range ps {
		ap := approval.Policy{ID: p.ID, OrganizationID: p.OrganizationID, Name: p.Name, Priority: p.Priority, Condition: p.Condition, Enabled: p.Enabled}
		if len(p.Stages) > 0 {
			ap.Stages = ApprovalStages(p.Stages)
		}
		out[i] = ap
	}
	return out
}

// Submission is a request as submitted for a catalog item.
type Submission struct {
	Item           store.CatalogItem
	ExtraVars      map[string]any
	NodeSurveyData map[string]map[string]any
	// Justification is required; it is trimmed.
	Justification string
	// Resubmits, when set, is the request this one resubmits: the
	// caller's own, for the same item, ended changes_requested and not
	// resubmitted before (approval.CheckResubmit).
	Resubmits *int64
}

// MaxJustification bounds a justification, in bytes.
const MaxJustification = 2000

// Submit validates the answers exactly as AWX would, resolves the approval
// plan, records the request and starts its workflow (SPEC 5), as a. If the
// workflow cannot be started the request is deleted again: nothing is left
// half-created. Password answers are stored and shown as "$encrypted$";
// only the workflow holds them, for AWX. It answers the request as
// recorded and its plan; Invalid for answers AWX would refuse,
// *TemplateRefused or *Unavailable when AWX cannot describe the template,
// *Unavailable when the workflow could not be started. A resubmission
// (sub.Resubmits) is judged before the answers: an *approval.Refusal
// when approval.CheckResubmit refuses it.
func (s *Service) Submit(ctx context.Context, a Actor, sub Submission) (store.Request, approval.Plan, error) {
	item := sub.Item
	if sub.Resubmits != nil {
		if err := s.checkResubmit(ctx, a, item.ID, *sub.Resubmits); err != nil {
			return store.Request{}, approval.Plan{}, err
		}
	}
	errs := Invalid{}
	justification := strings.TrimSpace(sub.Justification)
	switch {
	case justification == "":
		errs.Add("justification", "Say why this is needed.")
	case len(justification) > MaxJustification:
		errs.Add("justification", fmt.Sprintf("Use at most %d bytes.", MaxJustification))
	}
	if !item.IsWorkflow() && len(sub.NodeSurveyData) > 0 {
		errs.Add("node_survey_data", "Only workflow items have node surveys.")
	}
	kind, tmplID := ItemTemplate(item)
	info, err := s.cfg.Templates.Template(ctx, kind, tmplID)
	if err != nil {
		return store.Request{}, approval.Plan{}, TemplateError(kind, tmplID, err)
	}
	vars, verrs := survey.Validate(info.Survey, sub.ExtraVars, info.Launch.AskVariablesOnLaunch)
	nodeSurveys := info.NodeSurveys()
	nodes, nerrs := survey.ValidateNodes(nodeSurveys, sub.NodeSurveyData)
	for _, m := range []survey.Errors{verrs, nerrs, survey.NodeQuestionsInExtraVars(nodeSurveys, sub.ExtraVars)} {
		for k, v := range m {
			errs[k] = append(errs[k], v...)
		}
	}
	if err := errs.Err(); err != nil {
		return store.Request{}, approval.Plan{}, err
	}
	plan, err := s.plan(ctx, a, item, vars, nodes, justification)
	if err != nil {
		return store.Request{}, approval.Plan{}, err
	}
	in := workflows.Input{
		Submission:      randomToken(),
		Organization:    approval.Ref{ID: item.OrganizationID, Name: item.OrganizationName},
		CatalogItem:     approval.Ref{ID: item.ID, Name: item.Name},
		Template:        workflows.Template{Kind: kind, ID: tmplID},
		Requester:       a.Username,
		Justification:   justification,
		ExtraVars:       vars,
		NodeSurveyData:  nodes,
		SecretVariables: append(survey.Secrets(info.Survey), survey.NodeSecrets(nodeSurveys)...),
		Plan:            plan,
		Revision:        s.cfg.WorkflowRevision,
	}
	if in.Roster, err = RosterAtStart(ctx, s.cfg.Store, in); err != nil {
		return store.Request{}, approval.Plan{}, err
	}
	row, err := s.createRequest(ctx, a, item, in.Starting(s.cfg.Now()), justification,
		survey.Mask(info.Survey, vars), survey.MaskNodes(nodeSurveys, nodes), sub.Resubmits)
	if err != nil {
		return store.Request{}, approval.Plan{}, err
	}
	in.RequestID = row.ID
	if err := s.start(ctx, in); err != nil {
		if derr := s.cfg.Store.DeleteRequest(context.WithoutCancel(ctx), row.ID); derr != nil {
			s.log.Error("removing a request whose workflow did not start failed", "request_id", row.ID, "error", derr)
		}
		return store.Request{}, approval.Plan{}, err
	}
	return row, plan, nil
}

// checkResubmit judges a's resubmission of request id by a request for
// item (approval.CheckResubmit).
func (s *Service) checkResubmit(ctx context.Context, a Actor, item, id int64) error {
	r, err := s.cfg.Store.GetRequest(ctx, id)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return approval.CheckResubmit(a.UserID, item, approval.Resubmitted{ID: id, RequesterID: r.RequesterID,
		CatalogItem: r.CatalogItemID, Status: approval.Status(r.Status), Children: len(r.Children)}, found)
}

// RosterAtStart is who may act on the request in as it starts, read now
// from rr: its first stage's roster, or the organization admins' without
// stages. The workflow opens the stage with it (workflows.Input.Roster)
// and the request is recorded with its approvers, so the 201 is
// read-your-writes for everyone without waiting for the workflow: the
// approvers find the request in their inbox and may act on it at once.
func RosterAtStart(ctx context.Context, rr store.RosterReader, in workflows.Input) (*approval.Roster, error) {
	var team *int64
	r := in.Starting(time.Time{}) // without a roster yet: nothing open
	if i, ok := r.NextStage(); ok && r.Stages[i].ApproverTeam != nil {
		id := r.Stages[i].ApproverTeam.ID
		team = &id
	}
	roster, _, err := activities.StageRoster(ctx, rr, in.Organization.ID, team, nil)
	if err != nil {
		return nil, err
	}
	return &roster, nil
}

// ItemTemplate is the AWX template a catalog item launches.
func ItemTemplate(i store.CatalogItem) (awx.TemplateKind, int64) {
	if i.WorkflowJobTemplateID != nil {
		return awx.WorkflowJobTemplate, *i.WorkflowJobTemplateID
	}
	return awx.JobTemplate, deref(i.JobTemplateID)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// randomToken is 16 random hex digits (crypto/rand never fails).
func randomToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// createRequest records the request as it starts (workflows.Input.Starting):
// its plan, and its first stage open with its approvers when known.
// parent, when set, is the request it resubmits: one resubmitted
// meanwhile is refused (approval.CodeAlreadyResubmitted).
func (s *Service) createRequest(ctx context.Context, a Actor, item store.CatalogItem, starting *approval.Request,
	justification string, vars map[string]any, nodes map[string]map[string]any, parent *int64) (store.Request, error) {
	rawVars, err := json.Marshal(vars)
	if err != nil {
		return store.Request{}, err
	}
	rawNodes, err := json.Marshal(nodes)
	if err != nil {
		return store.Request{}, err
	}
	nr := store.NewRequest{
		OrganizationID: item.OrganizationID, CatalogItemID: item.ID, CatalogItemName: item.Name,
		RequesterID: a.UserID, RequesterUsername: a.Username, Justification: justification,
		ExtraVars: rawVars, NodeSurveyData: rawNodes, PendingApprovers: starting.EligibleApprovers, ParentID: parent,
		ExtendableUntil: starting.ExtendableUntil(),
	}
	if starting.Current() != nil {
		i := starting.CurrentStage
		nr.CurrentStage = &i
	}
	for _, st := range starting.Stages {
		ns := store.NewStage{Name: st.Name, MinApprovers: st.MinApprovers, DenialMessage: st.DenialMessage,
			Timeout: st.Timeout.Std(), ReminderInterval: st.ReminderInterval.Std(), RequireRecentLogin: st.RequireRecentLogin.Std(),
			OpenedAt: st.OpenedAt, Deadline: st.Deadline}
		if st.ApproverTeam != nil {
			ns.ApproverTeamID, ns.ApproverTeamName = &st.ApproverTeam.ID, st.ApproverTeam.Name
		}
		nr.Stages = append(nr.Stages, ns)
	}
	// CreateRequest answers the request as its transaction read it back.
	row, err := s.cfg.Store.CreateRequest(ctx, nr)
	if parent != nil && errors.Is(err, store.ErrConflict) {
		return store.Request{}, approval.CheckResubmit(a.UserID, item.ID,
			approval.Resubmitted{ID: *parent, RequesterID: a.UserID, CatalogItem: item.ID, Status: approval.StatusChangesRequested, Children: 1}, true)
	}
	return row, err
}

// start starts the request's workflow. A start whose answer is lost (a
// timeout) may still have happened, so the outcome is read back: the
// workflow carries the submission's random token in its memo, which tells
// our start apart from a workflow that already held this id (a Temporal
// namespace kept while the database was reset), which must not be taken
// for this request.
func (s *Service) start(ctx context.Context, in workflows.Input) error {
	id := workflows.WorkflowID(in.RequestID)
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		startCtx, cancel := context.WithTimeout(ctx, s.cfg.TemporalTimeout)
		_, err = s.cfg.Temporal.ExecuteWorkflow(startCtx, workflows.StartOptions(in, s.cfg.TaskQueue), workflows.WorkflowType, in)
		cancel()
		if err == nil {
			return nil
		}
		submission, derr := s.submissionOf(context.WithoutCancel(ctx), id)
		var notFound *serviceerror.NotFound
		switch {
		case derr == nil && submission == in.Submission:
			return nil
		case derr == nil:
			return unavailable("Temporal already holds a workflow "+id+" that is not this request's (was the database reset while Temporal kept its history?); the request was not submitted. Tell an administrator.",
				fmt.Errorf("workflow id collision: %w", err))
		case errors.As(derr, &notFound):
			continue // the start did not happen: try once more
		default:
			return unavailable("Temporal is unavailable; the request was not submitted. Try again shortly.", err)
		}
	}
	return unavailable("Temporal is unavailable; the request was not submitted. Try again shortly.", err)
}

// submissionOf reads the submission token from the memo of workflow id.
func (s *Service) submissionOf(ctx context.Context, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.TemporalTimeout)
	defer cancel()
	resp, err := s.cfg.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return "", err
	}
	var submission string
	if p := resp.GetWorkflowExecutionInfo().GetMemo().GetFields()[workflows.SubmissionMemo]; p != nil {
		if err := converter.GetDefaultDataConverter().FromPayload(p, &submission); err != nil {
			return "", err
		}
	}
	return submission, nil
}

// Preview is what a request form for an item needs: its template as AWX
// describes it, and the approval plan a request would get.
type Preview struct {
	Kind     awx.TemplateKind
	ID       int64
	Template *TemplateInfo
	Plan     approval.Plan
}

// Preview answers what a request form needs for sub.Item, with the plan
// resolved for sub's answers (or the survey's defaults where none is
// given) and justification, trimmed and bounded as Submit does, so the
// preview is the plan the request would get. Errors as Submit's, but
// answers are not validated.
func (s *Service) Preview(ctx context.Context, a Actor, sub Submission) (Preview, error) {
	justification := strings.TrimSpace(sub.Justification)
	if len(justification) > MaxJustification {
		return Preview{}, Invalid{"justification": {fmt.Sprintf("Use at most %d bytes.", MaxJustification)}}
	}
	kind, id := ItemTemplate(sub.Item)
	info, err := s.cfg.Templates.Template(ctx, kind, id)
	if err != nil {
		return Preview{}, TemplateError(kind, id, err)
	}
	vars := survey.Preview(info.Survey, sub.ExtraVars)
	nodes := survey.PreviewNodes(info.NodeSurveys(), sub.NodeSurveyData)
	plan, err := s.plan(ctx, a, sub.Item, vars, nodes, justification)
	if err != nil {
		return Preview{}, err
	}
	return Preview{Kind: kind, ID: id, Template: info, Plan: plan}, nil
}
