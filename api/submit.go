package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/survey"
	"github.com/countersign/countersign/workflows"
)

// launchData is what a request form needs (SPEC 5), for anyone who sees
// the item (admins see disabled ones, to check them): the template's survey
// and prompt settings, each workflow node's survey, and the approval plan a
// request would get — for the answers given as the query parameters
// extra_vars and node_survey_data (JSON), or the survey's defaults, and the
// justification given as the query parameter justification (policies may
// test it), or none.
func (s *Server) launchData(c *gin.Context) {
	item, err := s.itemFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	if _, err := listQuery(c, "extra_vars", "node_survey_data", "justification"); err != nil {
		c.Error(err)
		return
	}
	// Trimmed and bounded as submit does, so the preview is the plan the
	// request would get.
	justification := strings.TrimSpace(c.Query("justification"))
	if len(justification) > maxJustification {
		c.Error(fieldErrors{"justification": {fmt.Sprintf("Use at most %d bytes.", maxJustification)}}.err())
		return
	}
	kind, id := itemTemplate(item)
	ctx := c.Request.Context()
	info, err := s.awx.template(ctx, kind, id)
	if err != nil {
		c.Error(awxError(kind, id, err))
		return
	}
	var answers submitBody
	for name, dst := range map[string]any{"extra_vars": &answers.ExtraVars, "node_survey_data": &answers.NodeSurveyData} {
		if v := c.Query(name); v != "" {
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(dst); err != nil {
				c.Error(fieldErrors{name: {"Give a JSON object."}}.err())
				return
			}
		}
	}
	vars := survey.Preview(info.Survey, answers.ExtraVars)
	nodes := survey.PreviewNodes(info.nodeSurveys(), answers.NodeSurveyData)
	plan, err := s.plan(c, item, vars, nodes, justification)
	if err != nil {
		c.Error(err)
		return
	}
	nodeViews := make([]gin.H, len(info.Nodes))
	for i, n := range info.Nodes {
		nodeViews[i] = gin.H{"identifier": n.Identifier, "name": n.Name, "job_template": n.JobTemplate, "survey_spec": publicSurvey(n.Survey)}
	}
	c.JSON(http.StatusOK, gin.H{
		"catalog_item":            itemView(item),
		"template":                gin.H{"kind": kind, "id": id, "name": info.Name},
		"ask_variables_on_launch": info.Launch.AskVariablesOnLaunch,
		"survey_enabled":          len(info.Survey.Spec) > 0,
		"survey_spec":             publicSurvey(info.Survey),
		"nodes":                   nodeViews,
		"approval_plan":           plan,
	})
}

// publicSurvey is a survey as shown to requesters: password defaults are
// "$encrypted$", as AWX shows them.
func publicSurvey(sv awx.Survey) awx.Survey {
	out := sv
	out.Spec = make([]awx.Question, len(sv.Spec))
	for i, q := range sv.Spec {
		if q.Type == awx.QuestionPassword && q.Default != nil && q.Default != "" {
			q.Default = "$encrypted$"
		}
		out.Spec[i] = q
	}
	if out.Spec == nil {
		out.Spec = []awx.Question{}
	}
	return out
}

// plan resolves the approval plan of a request for item with these
// answers, within the stage limits.
func (s *Server) plan(c *gin.Context, item store.CatalogItem, vars map[string]any, nodes map[string]map[string]any, justification string) (approval.Plan, error) {
	ctx := c.Request.Context()
	policies, err := s.d.Store.EnabledPolicies(ctx, item.OrganizationID)
	if err != nil {
		return approval.Plan{}, err
	}
	var teams []string
	for _, t := range callerRoles(c).Teams {
		if t.OrganizationID == item.OrganizationID {
			teams = append(teams, t.Name)
		}
	}
	subject := approval.Subject{
		Item: approval.Item{
			ID: item.ID, Name: item.Name, Description: item.Description, Category: item.Category, Tags: item.Tags,
			Organization: item.OrganizationName, RequiresApproval: item.RequiresApproval, IsWorkflow: item.IsWorkflow(),
		},
		Requester:      approval.Requester{Username: caller(c).Username, Teams: teams},
		ExtraVars:      vars,
		NodeSurveyData: nodes,
		Justification:  justification,
	}
	if item.ApproverTeamID != nil {
		subject.Item.ApproverTeam = &approval.Ref{ID: *item.ApproverTeamID, Name: item.ApproverTeamName}
	}
	// Policies saved under other limits, and the fallback stage, are
	// brought within today's as the plan is frozen.
	return s.d.StageLimits.Apply(approval.ResolvePlan(approvalPolicies(policies), subject)), nil
}

func approvalPolicies(ps []store.Policy) []approval.Policy {
	out := make([]approval.Policy, len(ps))
	for i, p := range ps {
		ap := approval.Policy{ID: p.ID, OrganizationID: p.OrganizationID, Name: p.Name, Priority: p.Priority, Condition: p.Condition, Enabled: p.Enabled}
		for j, st := range p.Stages {
			as := approval.Stage{Name: st.Name, Order: j + 1, MinApprovers: st.MinApprovers, DenialMessage: st.DenialMessage,
				Timeout: approval.Duration(st.Timeout), ReminderInterval: approval.Duration(st.ReminderInterval)}
			if st.ApproverTeamID != nil {
				as.ApproverTeam = &approval.Ref{ID: *st.ApproverTeamID, Name: st.ApproverTeamName}
			}
			ap.Stages = append(ap.Stages, as)
		}
		out[i] = ap
	}
	return out
}

// submitBody is a request as submitted.
type submitBody struct {
	ExtraVars      map[string]any            `json:"extra_vars"`
	NodeSurveyData map[string]map[string]any `json:"node_survey_data"`
	Justification  *string                   `json:"justification"`
}

// maxJustification bounds a justification, in bytes.
const maxJustification = 2000

// submit validates the answers exactly as AWX would, resolves the approval
// plan, records the request and starts its workflow (SPEC 5). If the
// workflow cannot be started the request is deleted again: nothing is left
// half-created. Password answers are stored and shown as "$encrypted$";
// only the workflow holds them, for AWX.
func (s *Server) submit(c *gin.Context) {
	item, err := s.itemFor(c, access.Submit)
	if err != nil {
		c.Error(err)
		return
	}
	var b submitBody
	if err := bind(c, &b); err != nil {
		c.Error(err)
		return
	}
	errs := fieldErrors{}
	justification := strings.TrimSpace(deref(b.Justification))
	switch {
	case justification == "":
		errs.add("justification", "Say why this is needed.")
	case len(justification) > maxJustification:
		errs.add("justification", fmt.Sprintf("Use at most %d bytes.", maxJustification))
	}
	if !item.IsWorkflow() && len(b.NodeSurveyData) > 0 {
		errs.add("node_survey_data", "Only workflow items have node surveys.")
	}
	ctx := c.Request.Context()
	kind, tmplID := itemTemplate(item)
	info, err := s.awx.template(ctx, kind, tmplID)
	if err != nil {
		c.Error(awxError(kind, tmplID, err))
		return
	}
	vars, verrs := survey.Validate(info.Survey, b.ExtraVars, info.Launch.AskVariablesOnLaunch)
	nodeSurveys := info.nodeSurveys()
	nodes, nerrs := survey.ValidateNodes(nodeSurveys, b.NodeSurveyData)
	for _, m := range []survey.Errors{verrs, nerrs, survey.NodeQuestionsInExtraVars(nodeSurveys, b.ExtraVars)} {
		for k, v := range m {
			errs[k] = append(errs[k], v...)
		}
	}
	if err := errs.err(); err != nil {
		c.Error(err)
		return
	}
	plan, err := s.plan(c, item, vars, nodes, justification)
	if err != nil {
		c.Error(err)
		return
	}
	row, err := s.createRequest(ctx, c, item, plan, justification,
		survey.Mask(info.Survey, vars), survey.MaskNodes(nodeSurveys, nodes))
	if err != nil {
		c.Error(err)
		return
	}
	in := workflows.Input{
		RequestID:       row.ID,
		Submission:      randomToken(),
		Organization:    approval.Ref{ID: item.OrganizationID, Name: item.OrganizationName},
		CatalogItem:     approval.Ref{ID: item.ID, Name: item.Name},
		Template:        workflows.Template{Kind: kind, ID: tmplID},
		Requester:       caller(c).Username,
		Justification:   justification,
		ExtraVars:       vars,
		NodeSurveyData:  nodes,
		SecretVariables: append(survey.Secrets(info.Survey), survey.NodeSecrets(nodeSurveys)...),
		Plan:            plan,
	}
	if err := s.start(ctx, in); err != nil {
		if derr := s.d.Store.DeleteRequest(context.WithoutCancel(ctx), row.ID); derr != nil {
			s.logFor(c).Error("removing a request whose workflow did not start failed", "request_id", row.ID, "error", derr)
		}
		c.Error(err)
		return
	}
	s.awaitPublished(ctx, row.ID)
	c.Header("Location", fmt.Sprintf("/api/v2/service_requests/%d/", row.ID))
	out := requestDetail(row, nil)
	out["plan"] = gin.H{"source": plan.Source, "policy": plan.PolicyName, "notes": nonNilStrings(plan.Notes)}
	c.JSON(http.StatusCreated, out)
}

// publishWait bounds how long submit waits for the new request's approvers
// to be known.
const publishWait = 5 * time.Second

// awaitPublished waits, briefly, until the request's workflow has recorded
// who may decide it, so that the 201 is read-your-writes for everyone: the
// approvers find it in their inbox and may act on it at once. A slow worker
// only delays the answer; the request is created either way.
func (s *Server) awaitPublished(ctx context.Context, id int64) {
	ctx, cancel := context.WithTimeout(ctx, publishWait)
	defer cancel()
	// The roster is usually known within a few hundred milliseconds; a
	// primary-key read every few tens of them is cheap.
	for delay := 15 * time.Millisecond; ; delay = min(delay+15*time.Millisecond, 100*time.Millisecond) {
		if ok, err := s.d.Store.RequestPublished(ctx, id); ok || err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (s *Server) createRequest(ctx context.Context, c *gin.Context, item store.CatalogItem, plan approval.Plan,
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
		RequesterID: caller(c).UserID, RequesterUsername: caller(c).Username, Justification: justification,
		ExtraVars: rawVars, NodeSurveyData: rawNodes,
	}
	for _, st := range plan.Stages {
		ns := store.NewStage{Name: st.Name, MinApprovers: st.MinApprovers, DenialMessage: st.DenialMessage,
			Timeout: st.Timeout.Std(), ReminderInterval: st.ReminderInterval.Std()}
		if st.ApproverTeam != nil {
			ns.ApproverTeamID, ns.ApproverTeamName = &st.ApproverTeam.ID, st.ApproverTeam.Name
		}
		nr.Stages = append(nr.Stages, ns)
	}
	row, err := s.d.Store.CreateRequest(ctx, nr)
	if err != nil {
		return row, err
	}
	return s.d.Store.GetRequest(ctx, row.ID)
}

// start starts the request's workflow. A start whose answer is lost (a
// timeout) may still have happened, so the outcome is read back: the
// workflow carries the submission's random token in its memo, which tells
// our start apart from a workflow that already held this id (a Temporal
// namespace kept while the database was reset), which must not be taken
// for this request.
func (s *Server) start(ctx context.Context, in workflows.Input) error {
	id := workflows.WorkflowID(in.RequestID)
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		startCtx, cancel := context.WithTimeout(ctx, s.d.TemporalTimeout)
		_, err = s.d.Temporal.ExecuteWorkflow(startCtx, workflows.StartOptions(in, s.d.TaskQueue), workflows.WorkflowType, in)
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
func (s *Server) submissionOf(ctx context.Context, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d.TemporalTimeout)
	defer cancel()
	resp, err := s.d.Temporal.DescribeWorkflowExecution(ctx, id, "")
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
