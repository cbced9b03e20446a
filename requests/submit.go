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

func approvalPolicies(ps []store.Policy) []approval.Policy {
	out := make([]approval.Policy, len(ps))
	for i, p := range ps {
		ap := approval.Policy{ID: p.ID, OrganizationID: p.OrganizationID, Name: p.Name, Priority: p.Priority, Condition: p.Condition, Enabled: p.Enabled}
		for j, st := range p.Stages {
			as := approval.Stage{Name: st.Name, Order: j + 1, MinApprovers: st.MinApprovers, DenialMessage: st.DenialMessage,
				Timeout: approval.Duration(st.Timeout), ReminderInterval: approval.Duration(st.ReminderInterval),
				RequireRecentLogin: approval.Duration(st.RequireRecentLogin)}
			if st.ApproverTeamID != nil {
				as.ApproverTeam = &approval.Ref{ID: *st.ApproverTeamID, Name: st.ApproverTeamName}
			}
			ap.Stages = append(ap.Stages, as)
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
// *Unavailable when the workflow could not be started.
func (s *Service) Submit(ctx context.Context, a Actor, sub Submission) (store.Request, approval.Plan, error) {
	item := sub.Item
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
	row, err := s.createRequest(ctx, a, item, plan, justification,
		survey.Mask(info.Survey, vars), survey.MaskNodes(nodeSurveys, nodes))
	if err != nil {
		return store.Request{}, approval.Plan{}, err
	}
	in := workflows.Input{
		RequestID:       row.ID,
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
	}
	if err := s.start(ctx, in); err != nil {
		if derr := s.cfg.Store.DeleteRequest(context.WithoutCancel(ctx), row.ID); derr != nil {
			s.log.Error("removing a request whose workflow did not start failed", "request_id", row.ID, "error", derr)
		}
		return store.Request{}, approval.Plan{}, err
	}
	s.awaitPublished(ctx, row.ID)
	return row, plan, nil
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

// publishWait bounds how long submit waits for the new request's approvers
// to be known.
const publishWait = 5 * time.Second

// awaitPublished waits, briefly, until the request's workflow has recorded
// who may decide it, so that the 201 is read-your-writes for everyone: the
// approvers find it in their inbox and may act on it at once. A slow worker
// only delays the answer; the request is created either way.
func (s *Service) awaitPublished(ctx context.Context, id int64) {
	ctx, cancel := context.WithTimeout(ctx, publishWait)
	defer cancel()
	// The roster is usually known within a few hundred milliseconds; a
	// primary-key read every few tens of them is cheap.
	for delay := 15 * time.Millisecond; ; delay = min(delay+15*time.Millisecond, 100*time.Millisecond) {
		if ok, err := s.cfg.Store.RequestPublished(ctx, id); ok || err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (s *Service) createRequest(ctx context.Context, a Actor, item store.CatalogItem, plan approval.Plan,
	justification string, vars map[string]any, nodes map[string]map[string]any) (store.Request, error) {
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
		ExtraVars: rawVars, NodeSurveyData: rawNodes,
	}
	for _, st := range plan.Stages {
		ns := store.NewStage{Name: st.Name, MinApprovers: st.MinApprovers, DenialMessage: st.DenialMessage,
			Timeout: st.Timeout.Std(), ReminderInterval: st.ReminderInterval.Std(), RequireRecentLogin: st.RequireRecentLogin.Std()}
		if st.ApproverTeam != nil {
			ns.ApproverTeamID, ns.ApproverTeamName = &st.ApproverTeam.ID, st.ApproverTeam.Name
		}
		nr.Stages = append(nr.Stages, ns)
	}
	row, err := s.cfg.Store.CreateRequest(ctx, nr)
	if err != nil {
		return row, err
	}
	return s.cfg.Store.GetRequest(ctx, row.ID)
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
