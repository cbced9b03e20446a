package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/requests"
)

// LaunchData is what a request form needs (SPEC 5).
type LaunchData struct {
	CatalogItem          Item           `json:"catalog_item"`
	Template             LaunchTemplate `json:"template"`
	AskVariablesOnLaunch bool           `json:"ask_variables_on_launch"`
	SurveyEnabled        bool           `json:"survey_enabled"`
	SurveySpec           awx.Survey     `json:"survey_spec"`
	Nodes                []LaunchNode   `json:"nodes"`
	ApprovalPlan         *Plan          `json:"approval_plan"`
}

// LaunchTemplate names the AWX template an item launches.
type LaunchTemplate struct {
	Kind awx.TemplateKind `json:"kind"`
	ID   int64            `json:"id"`
	Name string           `json:"name"`
}

// LaunchNode is a workflow node and its survey.
type LaunchNode struct {
	Identifier  string     `json:"identifier"`
	Name        string     `json:"name"`
	JobTemplate int64      `json:"job_template"`
	SurveySpec  awx.Survey `json:"survey_spec"`
}

// launchData answers, for anyone who sees the item (admins see disabled
// ones, to check them), the template's survey and prompt settings, each
// workflow node's survey, and the approval plan a request would get — for
// the answers given as the query parameters extra_vars and
// node_survey_data (JSON), or the survey's defaults, and the justification
// given as the query parameter justification (policies may test it), or
// none.
func (s *Server) launchData(c *gin.Context) { handle(s.launchDataOf)(c) }

// launchDataParams are the query parameters of launch_data.
var launchDataParams = []string{"extra_vars", "node_survey_data", "justification"}

func (s *Server) launchDataOf(c *gin.Context) error {
	item, err := s.itemFor(c, access.View)
	if err != nil {
		return err
	}
	if _, err := listQuery(c, launchDataParams...); err != nil {
		return err
	}
	sub := requests.Submission{Item: item, Justification: c.Query("justification")}
	for name, dst := range map[string]any{"extra_vars": &sub.ExtraVars, "node_survey_data": &sub.NodeSurveyData} {
		if v := c.Query(name); v != "" {
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(dst); err != nil {
				return fieldErrors{name: {"Give a JSON object."}}.err()
			}
		}
	}
	p, err := s.requests.Preview(c.Request.Context(), actor(c), sub)
	if err != nil {
		return err
	}
	info := p.Template
	nodes := make([]LaunchNode, len(info.Nodes))
	for i, n := range info.Nodes {
		nodes[i] = LaunchNode{Identifier: n.Identifier, Name: n.Name, JobTemplate: n.JobTemplate, SurveySpec: publicSurvey(n.Survey)}
	}
	c.JSON(http.StatusOK, LaunchData{
		CatalogItem:          itemViewFor(caller(c), item),
		Template:             LaunchTemplate{Kind: p.Kind, ID: p.ID, Name: info.Name},
		AskVariablesOnLaunch: info.Launch.AskVariablesOnLaunch,
		SurveyEnabled:        len(info.Survey.Spec) > 0,
		SurveySpec:           publicSurvey(info.Survey),
		Nodes:                nodes,
		ApprovalPlan:         planView(p.Plan),
	})
	return nil
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

// submitBody is a request as submitted.
type submitBody struct {
	ExtraVars      map[string]any            `json:"extra_vars"`
	NodeSurveyData map[string]map[string]any `json:"node_survey_data"`
	Justification  *string                   `json:"justification"`
	// Resubmits is the request this one resubmits (see
	// requests.Submission.Resubmits).
	Resubmits *int64 `json:"resubmits"`
}

// submit records a request for the item and starts its workflow (see
// requests.Service.Submit), answering the request with its plan.
func (s *Server) submit(c *gin.Context) { handle(s.submitRequest)(c) }

func (s *Server) submitRequest(c *gin.Context) error {
	item, err := s.itemFor(c, access.Submit)
	if err != nil {
		return err
	}
	var b submitBody
	if err := bind(c, &b); err != nil {
		return err
	}
	ctx := c.Request.Context()
	row, plan, err := s.requests.Submit(ctx, actor(c), requests.Submission{Item: item, ExtraVars: b.ExtraVars,
		NodeSurveyData: b.NodeSurveyData, Justification: deref(b.Justification), Resubmits: b.Resubmits})
	if err != nil {
		return err
	}
	c.Header("Location", fmt.Sprintf("/api/v2/service_requests/%d/", row.ID))
	out := requestDetail(row, nil, s.requests.Capabilities(ctx, caller(c), row, nil))
	out.Plan = planView(plan)
	c.JSON(http.StatusCreated, out)
	return nil
}
