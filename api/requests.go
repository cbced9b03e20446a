package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

func (s *Server) requestRoutes(r *gin.RouterGroup) {
	r.GET("/service_requests/", s.listRequests)
	r.GET("/service_requests/pending_approvals/", s.pendingApprovals)
	r.GET("/service_requests/:id/", s.getRequest)
	r.DELETE("/service_requests/:id/", s.deleteRequest)
	r.POST("/service_requests/:id/approve/", s.decide(approval.ActionApprove))
	r.POST("/service_requests/:id/reject/", s.decide(approval.ActionReject))
	r.POST("/service_requests/:id/comment/", s.decide(approval.ActionComment))
	r.POST("/service_requests/:id/cancel/", s.decide(approval.ActionCancel))
}

func requestObject(r store.Request) access.Object {
	o := access.Object{Resource: access.Request, Organization: r.OrganizationID, Owner: r.RequesterID,
		Approvers: r.PendingApprovers, Participants: r.Participants}
	for _, resp := range r.Responses {
		if resp.Kind != "comment" {
			o.Deciders = append(o.Deciders, resp.Username)
		}
	}
	return o
}

// requestFor loads the request of the path (with its stages and responses)
// and checks that the caller may do a to it.
func (s *Server) requestFor(c *gin.Context, a access.Action) (store.Request, error) {
	return loadFor(c, a, s.d.Store.GetRequest, requestObject)
}

// requestFilters are the list filters of SPEC 5.
var requestFilters = []string{"mine", "status", "catalog_item", "requester", "organization"}

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

func (s *Server) listRequests(c *gin.Context) {
	opts, err := listQuery(c, requestFilters...)
	if err != nil {
		c.Error(err)
		return
	}
	f, err := readRequestFilter(c)
	if err != nil {
		c.Error(err)
		return
	}
	s.renderRequests(c, f, opts)
}

func (s *Server) renderRequests(c *gin.Context, f store.RequestFilter, opts store.ListOptions) {
	rows, total, err := s.d.Store.ListRequests(c.Request.Context(), f, opts)
	renderRequestPage(c, opts, rows, total, err)
}

// renderRequestPage answers a page of request summaries, or err.
func renderRequestPage(c *gin.Context, opts store.ListOptions, rows []store.Request, total int, err error) {
	if err != nil {
		c.Error(err)
		return
	}
	out := make([]gin.H, len(rows))
	for i, r := range rows {
		out[i] = requestSummary(r)
	}
	page(c, opts, total, out)
}

// itemRequests lists an item's requests, for the item's admins.
func (s *Server) itemRequests(c *gin.Context) {
	item, err := s.itemFor(c, access.Requests)
	if err != nil {
		c.Error(err)
		return
	}
	opts, err := listQuery(c, requestFilters...)
	if err != nil {
		c.Error(err)
		return
	}
	f, err := readRequestFilter(c)
	if err != nil {
		c.Error(err)
		return
	}
	f.CatalogItemID = &item.ID
	s.renderRequests(c, f, opts)
}

// pendingApprovals is the caller's inbox: requests whose open stage the
// caller may decide and has not, served by the projection's GIN index. A
// superuser may decide any stage: their inbox is every waiting request they
// did not submit or decide.
func (s *Server) pendingApprovals(c *gin.Context) {
	opts, err := listQuery(c)
	if err != nil {
		c.Error(err)
		return
	}
	p := caller(c)
	if p.IsSuperuser {
		s.renderRequests(c, store.RequestFilter{
			Status:    []string{string(approval.StatusPendingApproval)},
			Undecided: &store.UserRef{ID: p.UserID, Username: p.Username},
		}, opts)
		return
	}
	rows, total, err := s.d.Store.ListPendingForPage(c.Request.Context(), p.Username, opts)
	renderRequestPage(c, opts, rows, total, err)
}

func (s *Server) getRequest(c *gin.Context) {
	r, err := s.requestFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	// Without workers a query would only wait for its timeout. A workflow
	// state older than the projection's is one that stopped before the
	// request was settled without it (a terminated workflow).
	if alive, err := s.workers.workersAlive(c.Request.Context()); err == nil && alive {
		if st, ok := s.state(c.Request.Context(), r.ID); ok && st.Seq >= r.StateSeq {
			c.JSON(http.StatusOK, requestDetail(r, &st))
			return
		}
	}
	c.JSON(http.StatusOK, requestDetail(r, nil))
}

// checkDeletable refuses to delete a request that launched, or is on its
// way to launch (approved, running, or with a job), so that the record of
// executed automation stays (SPEC 5): only pending, rejected, expired and
// canceled requests without a job can go.
func checkDeletable(id int64, status approval.Status, hasJob bool) error {
	switch status {
	case approval.StatusPendingApproval, approval.StatusRejected, approval.StatusExpired, approval.StatusCanceled:
		if !hasJob {
			return nil
		}
	}
	return launched(id, fmt.Sprintf("is %s", status))
}

// launched is the refusal of a delete: the request launched, or will.
func launched(id int64, what string) error {
	return &approval.Refusal{Code: approval.CodeLaunched, Message: fmt.Sprintf(
		"request %d %s; only requests that never launched a job can be deleted, so the record of executed automation stays", id, what)}
}

// deleteRequest removes a request that never launched. The projection may
// lag behind the workflow (an approval a moment ago), so a request that
// looks pending is withdrawn by its workflow first, which refuses in the
// same step if it is no longer pending: a request on its way to launch is
// never deleted or canceled by a delete. Every refusal is request_launched.
func (s *Server) deleteRequest(c *gin.Context) {
	r, err := s.requestFor(c, access.Delete)
	if err != nil {
		c.Error(err)
		return
	}
	if err := checkDeletable(r.ID, approval.Status(r.Status), r.Job != nil); err != nil {
		c.Error(err)
		return
	}
	ctx := c.Request.Context()
	if r.Status == string(approval.StatusPendingApproval) {
		_, err := s.act(ctx, r, workflows.Decision{RequestID: r.ID, Action: approval.ActionCancel,
			User: caller(c).Username, Text: "the request was deleted", PendingOnly: true}, channelOf(c))
		switch ref := refusalOf(err); {
		case ref != nil && ref.Code == approval.CodeFinished:
			// The workflow has finished: delete only what never launched.
			st, ok := s.state(ctx, r.ID)
			if !ok {
				err = unavailable("The request's workflow cannot be asked about its state; try again shortly.", nil)
				break
			}
			err = checkDeletable(r.ID, st.Status, st.Job != nil)
		case ref != nil && ref.Code == approval.CodeNotPending:
			err = launched(r.ID, "was approved a moment ago")
		}
		if err != nil {
			c.Error(err)
			return
		}
	}
	if err := s.d.Store.DeleteRequest(ctx, r.ID); err != nil {
		if errors.Is(err, store.ErrConflict) {
			err = launched(r.ID, "launched a job meanwhile")
		}
		c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}

// decisionBody holds any decision's payload; which field is read depends on
// the action (SPEC 5).
type decisionBody struct {
	Comment *string `json:"comment"`
	Reason  *string `json:"reason"`
	Text    *string `json:"text"`
}

// decide sends approve, reject, comment or cancel to the request's workflow
// as the caller, and answers with the new state. The workflow's rules
// decide; a refusal is 409, or 403 when it is about who acts, or 400 when
// it is about what the call holds, which only callers who may act learn
// (whoActsFirst).
func (s *Server) decide(action approval.Action) gin.HandlerFunc {
	field := map[approval.Action]string{
		approval.ActionApprove: "comment", approval.ActionReject: "reason",
		approval.ActionComment: "text", approval.ActionCancel: "reason",
	}[action]
	return func(c *gin.Context) {
		r, err := s.requestFor(c, access.Act)
		if err != nil {
			c.Error(err)
			return
		}
		ctx := c.Request.Context()
		d := workflows.Decision{RequestID: r.ID, Action: action, User: caller(c).Username}
		var b decisionBody
		err = bind(c, &b)
		if err == nil {
			var errs fieldErrors
			d.Text, errs = b.text(field)
			err = errs.err()
		}
		var st approval.Request
		if err == nil {
			st, err = s.act(ctx, r, d, channelOf(c))
		}
		if err != nil {
			c.Error(s.whoActsFirst(ctx, d, err))
			return
		}
		c.JSON(http.StatusOK, requestDetail(r, &st))
	}
}

// whoActsFirst answers a decision refused for what it holds (a body the
// API cannot read, a text the rules refuse: a 400) with the rules' refusal
// of who sends it, when there is one, so that who may not act on the
// request is told so whatever the body holds. Who may act is the
// workflow's to judge: the rules run on its live state, with a text they
// accept; when it cannot be asked (no worker), err stands.
func (s *Server) whoActsFirst(ctx context.Context, d workflows.Decision, err error) error {
	if !inputError(err) {
		return err
	}
	if alive, aerr := s.workers.workersAlive(ctx); aerr != nil || !alive {
		return err
	}
	st, ok := s.state(ctx, d.RequestID)
	if !ok {
		return err
	}
	if ref := refusalOf(st.Check(d.Action, d.User, "-", time.Now())); ref != nil && ref.Forbidden() {
		return ref
	}
	return err
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
