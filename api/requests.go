package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

func (s *Server) requestRoutes(r *gin.RouterGroup) {
	r.GET("/service_requests/", handle(s.listRequests))
	r.GET("/service_requests/pending_approvals/", handle(s.pendingApprovals))
	r.GET("/service_requests/:id/", handle(s.getRequest))
	r.DELETE("/service_requests/:id/", handle(s.deleteRequest))
	r.POST("/service_requests/:id/approve/", handle(s.decide(approval.ActionApprove)))
	r.POST("/service_requests/:id/reject/", handle(s.decide(approval.ActionReject)))
	r.POST("/service_requests/:id/request_changes/", handle(s.decide(approval.ActionRequestChanges)))
	r.POST("/service_requests/:id/comment/", handle(s.decide(approval.ActionComment)))
	r.POST("/service_requests/:id/cancel/", handle(s.decide(approval.ActionCancel)))
	r.POST("/service_requests/:id/extend/", handle(s.extend))
	r.POST("/service_requests/:id/escalate/", handle(s.escalate))
}

// requestFor loads the request of the path (with its stages and responses)
// and checks that the caller may do a to it.
func (s *Server) requestFor(c *gin.Context, a access.Action) (store.Request, error) {
	return loadFor(c, a, s.d.Store.GetRequest, requests.RequestObject)
}

// requestFilters are the list filters of SPEC 5.
var requestFilters = []string{"mine", "status", "catalog_item", "requester", "organization"}

// readRequestQuery reads the query of a request list: its filters,
// restricted to what the caller may see, and its paging and order.
func readRequestQuery(c *gin.Context) (store.RequestFilter, store.ListOptions, error) {
	opts, err := listQuery(c, requestFilters...)
	if err != nil {
		return store.RequestFilter{}, opts, err
	}
	f, err := readRequestFilter(c)
	return f, opts, err
}

// readRequestFilter reads the filters of a request list, restricted to
// what the caller may see.
func readRequestFilter(c *gin.Context) (store.RequestFilter, error) {
	p := caller(c)
	var f store.RequestFilter
	mine, err := boolParam(c, "mine")
	if err != nil {
		return f, err
	}
	if mine != nil && *mine {
		f.RequesterID = &p.UserID
	}
	if v := c.Query("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			if !approval.Status(st).Valid() {
				return f, badRequest(fmt.Sprintf("Unknown status %q; statuses are %s.", st, statusList()))
			}
			f.Status = append(f.Status, st)
		}
	}
	if f.CatalogItemID, err = idParam(c, "catalog_item"); err != nil {
		return f, err
	}
	f.RequesterUsername = c.Query("requester")
	org, err := idParam(c, "organization")
	if err != nil {
		return f, err
	}
	if org != nil {
		f.OrganizationIDs = []int64{*org}
	}
	if !p.IsSuperuser {
		f.Visibility = &store.RequestVisibility{UserID: p.UserID, Username: p.Username, AdminOrgIDs: nonNilIDs(p.AdminOf)}
	}
	return f, nil
}

func statusList() string {
	names := make([]string, len(approval.Statuses))
	for i, s := range approval.Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func (s *Server) listRequests(c *gin.Context) error {
	f, opts, err := readRequestQuery(c)
	if err != nil {
		return err
	}
	return s.renderRequests(c, f, opts)
}

func (s *Server) renderRequests(c *gin.Context, f store.RequestFilter, opts store.ListOptions) error {
	rows, total, err := s.d.Store.ListRequests(c.Request.Context(), f, opts)
	return s.renderRequestPage(c, opts, rows, total, err)
}

// renderRequestPage answers a page of request summaries, or err. What
// the caller may do to each is judged from the projection (see
// requests.CapabilitiesOf).
func (s *Server) renderRequestPage(c *gin.Context, opts store.ListOptions, rows []store.Request, total int, err error) error {
	if err != nil {
		return err
	}
	p, now := caller(c), s.now()
	out := make([]RequestSummary, len(rows))
	for i, r := range rows {
		out[i] = requestSummary(r, requests.CapabilitiesOf(p, r, nil, now))
	}
	page(c, opts, total, out)
	return nil
}

func (s *Server) now() time.Time {
	if s.d.Now != nil {
		return s.d.Now()
	}
	return time.Now()
}

// itemRequests lists an item's requests, for the item's admins.
func (s *Server) itemRequests(c *gin.Context) {
	handle(func(c *gin.Context) error {
		item, err := s.itemFor(c, access.Requests)
		if err != nil {
			return err
		}
		f, opts, err := readRequestQuery(c)
		if err != nil {
			return err
		}
		f.CatalogItemID = &item.ID
		return s.renderRequests(c, f, opts)
	})(c)
}

// pendingApprovals is the caller's inbox: requests whose open stage the
// caller may decide and has not, served by the projection's GIN index. A
// superuser may decide any stage: their inbox is every waiting request they
// did not submit or decide.
func (s *Server) pendingApprovals(c *gin.Context) error {
	opts, err := listQuery(c)
	if err != nil {
		return err
	}
	p := caller(c)
	if p.IsSuperuser {
		return s.renderRequests(c, store.RequestFilter{
			Status:    []string{string(approval.StatusPendingApproval)},
			Undecided: &store.UserRef{ID: p.UserID, Username: p.Username},
		}, opts)
	}
	rows, total, err := s.d.Store.ListPendingForPage(c.Request.Context(), p.Username, opts)
	return s.renderRequestPage(c, opts, rows, total, err)
}

// getRequest answers the request from its workflow's live state when the
// workflow can answer, else from the projection.
func (s *Server) getRequest(c *gin.Context) error {
	r, err := s.requestFor(c, access.View)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	st := s.requests.State(ctx, r)
	c.JSON(http.StatusOK, requestDetail(r, st, s.requests.Capabilities(ctx, caller(c), r, st)))
	return nil
}

// deleteRequest removes a request that never launched (see
// requests.Service.Delete).
func (s *Server) deleteRequest(c *gin.Context) error {
	r, err := s.requestFor(c, access.Delete)
	if err != nil {
		return err
	}
	if err := s.requests.Delete(c.Request.Context(), actor(c), r); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// decisionBody holds any decision's payload; which field is read depends on
// the action (SPEC 5).
type decisionBody struct {
	Comment *string `json:"comment"`
	Reason  *string `json:"reason"`
	Text    *string `json:"text"`
}

// decide sends approve, reject, request_changes, comment or cancel to the
// request's workflow as the caller, and answers with the new state. The workflow's rules
// decide; a body the API cannot read is answered with the rules' refusal
// of who sends it first, when there is one (requests.Service.WhoActsFirst).
func (s *Server) decide(action approval.Action) func(*gin.Context) error {
	field := map[approval.Action]string{
		approval.ActionApprove: "comment", approval.ActionReject: "reason", approval.ActionRequestChanges: "reason",
		approval.ActionComment: "text", approval.ActionCancel: "reason",
	}[action]
	return func(c *gin.Context) error {
		r, err := s.requestFor(c, access.Act)
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		a := actor(c)
		var b decisionBody
		err = bind(c, &b)
		var text string
		if err == nil {
			var errs fieldErrors
			text, errs = b.text(field)
			err = errs.err()
		}
		if err != nil {
			if inputError(err) {
				err = s.requests.WhoActsFirst(ctx, a, r.ID, action, err)
			}
			return err
		}
		st, err := s.requests.Decide(ctx, a, r, action, text)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, requestDetail(r, &st, s.requests.Capabilities(ctx, a.Principal, r, &st)))
		return nil
	}
}

// text reads the decision's one text field and refuses the others.
func (b decisionBody) text(field string) (string, fieldErrors) {
	errs := fieldErrors{}
	given := map[string]*string{"comment": b.Comment, "reason": b.Reason, "text": b.Text}
	for name, v := range given {
		if v != nil && name != field {
			errs.add(name, fmt.Sprintf("Unknown field; this action takes %q.", field))
		}
	}
	if v := given[field]; v != nil {
		return *v, errs
	}
	return "", errs
}

// extendBody is the body of extend: {"by": "24h", "reason": "..."}.
type extendBody struct {
	By     *string `json:"by"`
	Reason *string `json:"reason"`
}

// read reads the body's duration; by is required.
func (b extendBody) read() (approval.Duration, fieldErrors) {
	errs := fieldErrors{}
	if b.By == nil {
		errs.add("by", `This field is required: a duration such as "24h".`)
		return 0, errs
	}
	d, err := time.ParseDuration(*b.By)
	if err != nil {
		errs.add("by", fmt.Sprintf(`Use a duration such as "24h", not %q.`, approval.Cut(*b.By, 40)))
	}
	return approval.Duration(d), errs
}

// extend moves the open stage's deadline as the caller (see
// requests.Service.Extend), and answers with the new state. Who may not
// extend is told so before anything about the body.
func (s *Server) extend(c *gin.Context) error {
	r, err := s.requestFor(c, access.Act)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a := actor(c)
	var b extendBody
	err = bind(c, &b)
	var by approval.Duration
	if err == nil {
		var errs fieldErrors
		by, errs = b.read()
		err = errs.err()
	}
	if err != nil {
		if inputError(err) {
			err = s.requests.WhoActsFirst(ctx, a, r.ID, approval.ActionExtend, err)
		}
		return err
	}
	st, err := s.requests.Extend(ctx, a, r, by, deref(b.Reason))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, requestDetail(r, &st, s.requests.Capabilities(ctx, a.Principal, r, &st)))
	return nil
}

// escalateBody is the body of escalate: {"approver_team": 3, "reason": "..."}.
type escalateBody struct {
	ApproverTeam *int64  `json:"approver_team"`
	Reason       *string `json:"reason"`
}

// escalate makes the members of a team of the request's organization
// eligible on its open stage, as the caller (an org admin; see
// requests.Service.Escalate), and answers with the new state. Who may not
// escalate is told so before anything about the body.
func (s *Server) escalate(c *gin.Context) error {
	r, err := s.requestFor(c, access.Act)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a := actor(c)
	var b escalateBody
	err = bind(c, &b)
	if err == nil {
		err = s.checkEscalationTeam(c, r, b.ApproverTeam)
	}
	if err != nil {
		if inputError(err) {
			err = s.requests.WhoActsFirst(ctx, a, r.ID, approval.ActionEscalate, err)
		}
		return err
	}
	st, err := s.requests.Escalate(ctx, a, r, *b.ApproverTeam, deref(b.Reason))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, requestDetail(r, &st, s.requests.Capabilities(ctx, a.Principal, r, &st)))
	return nil
}

// checkEscalationTeam refuses a body without a team as a field error, and
// a team that is not of the request's organization as the workflow would
// (approval.CodeUnknownTeam), before anything is sent.
func (s *Server) checkEscalationTeam(c *gin.Context, r store.Request, team *int64) error {
	if team == nil {
		return fieldErrors{"approver_team": {"This field is required: the id of a team of the request's organization."}}.err()
	}
	t, err := s.d.Store.GetTeam(c.Request.Context(), *team)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.OrganizationID != r.OrganizationID) {
		return &approval.Refusal{Code: approval.CodeUnknownTeam, Message: fmt.Sprintf("team %d is not a team of the request's organization", *team)}
	}
	return err
}
