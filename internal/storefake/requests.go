package storefake

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/countersign/countersign/store"
)

// requestStatuses are the statuses the schema allows.
var requestStatuses = []string{
	"pending_approval", "approved", "running", "successful",
	"failed", "rejected", "expired", "canceled", "changes_requested",
}

var requestSort = func() sortFields[store.Request] {
	finished, null := byTimePtr(func(r store.Request) *time.Time { return r.Finished })
	return sortFields[store.Request]{
		{name: "id", cmp: byValue(func(r store.Request) int64 { return r.ID })},
		{name: "created", cmp: byTime(func(r store.Request) time.Time { return r.Created })},
		{name: "modified", cmp: byTime(func(r store.Request) time.Time { return r.Modified })},
		{name: "status", cmp: byValue(func(r store.Request) string { return r.Status })},
		{name: "finished", cmp: finished, null: null},
	}
}()

// request returns a copy of a stored request; lists leave out its stages
// and responses, as the store's lists do.
func request(r *store.Request, full bool) store.Request {
	out := *r
	out.ExtraVars = cloneSlice(r.ExtraVars)
	out.NodeSurveyData = cloneSlice(r.NodeSurveyData)
	out.CurrentStage = clonePtr(r.CurrentStage)
	out.PendingApprovers = nonNil(cloneSlice(r.PendingApprovers))
	out.ExtendableUntil = clonePtr(r.ExtendableUntil)
	out.Participants = nonNil(cloneSlice(r.Participants))
	out.Deciders = []string{}
	for _, resp := range r.Responses { // kept in the order of their creation
		if resp.Kind != "comment" {
			out.Deciders = append(out.Deciders, resp.Username)
		}
	}
	out.Denial = cloneSlice(r.Denial)
	out.ChangesRequested = cloneSlice(r.ChangesRequested)
	out.ParentID = clonePtr(r.ParentID)
	out.Finished = clonePtr(r.Finished)
	if r.Job != nil {
		job := *r.Job
		out.Job = &job
	}
	out.Stages, out.Responses = nil, nil
	if !full {
		return out
	}
	out.Stages = make([]store.StageState, len(r.Stages))
	for i, st := range r.Stages {
		st.ApproverTeamID = clonePtr(st.ApproverTeamID)
		st.OpenedAt = clonePtr(st.OpenedAt)
		st.Deadline = clonePtr(st.Deadline)
		st.DecidedAt = clonePtr(st.DecidedAt)
		out.Stages[i] = st
	}
	out.Responses = make([]store.Response, len(r.Responses))
	for i, resp := range r.Responses {
		resp.StagePosition = clonePtr(resp.StagePosition)
		out.Responses[i] = resp
	}
	return out
}

// jsonObject is a request's JSON column as stored: empty or null means {}.
// Text that is not JSON is refused before the row is built (PostgreSQL
// fails the cast while planning, before it takes an id); isObject then
// says whether the row's CHECK will accept the value.
func jsonObject(op string, raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	out, err := jsonb(raw)
	if err != nil {
		return nil, fail(op, store.ErrInvalid, "%v", err)
	}
	return out, nil
}

func isObject(v json.RawMessage) bool { return v[0] == '{' }

// CreateRequest is store.Store.CreateRequest.
func (s *Store) CreateRequest(ctx context.Context, nr store.NewRequest) (store.Request, error) {
	const op = "create request"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateRequest", op); err != nil {
		return store.Request{}, err
	}
	extraVars, err := jsonObject(op, nr.ExtraVars)
	if err != nil {
		return store.Request{}, err
	}
	surveyData, err := jsonObject(op, nr.NodeSurveyData)
	if err != nil {
		return store.Request{}, err
	}
	id := s.next("service_requests")
	switch {
	case !isObject(extraVars):
		return store.Request{}, fail(op, store.ErrInvalid, "service_requests_extra_vars_check")
	case !isObject(surveyData):
		return store.Request{}, fail(op, store.ErrInvalid, "service_requests_node_survey_data_check")
	case s.orgs[nr.OrganizationID] == nil:
		return store.Request{}, fail(op, store.ErrInvalidReference, "service_requests_organization_id_fkey")
	case s.users[nr.RequesterID] == nil:
		return store.Request{}, fail(op, store.ErrInvalidReference, "service_requests_requester_id_fkey")
	case s.items[nr.CatalogItemID] == nil:
		return store.Request{}, fail(op, store.ErrInvalidReference, "service_requests_catalog_item_id_fkey")
	case nr.ParentID != nil && s.requests[*nr.ParentID] == nil:
		return store.Request{}, fail(op, store.ErrInvalidReference, "service_requests_parent_id_fkey")
	case nr.ParentID != nil && len(s.children(*nr.ParentID)) > 0:
		return store.Request{}, fail(op, store.ErrConflict, "service_requests_parent_id_key")
	}
	stages := make([]store.StageState, len(nr.Stages))
	for i, st := range nr.Stages {
		stages[i] = store.StageState{
			Position:           i,
			Name:               st.Name,
			ApproverTeamID:     clonePtr(st.ApproverTeamID),
			ApproverTeamName:   st.ApproverTeamName,
			MinApprovers:       st.MinApprovers,
			DenialMessage:      st.DenialMessage,
			Timeout:            st.Timeout / time.Second * time.Second,
			ReminderInterval:   st.ReminderInterval / time.Second * time.Second,
			RequireRecentLogin: st.RequireRecentLogin / time.Second * time.Second,
			Status:             "waiting",
			OpenedAt:           rounded(st.OpenedAt),
			Deadline:           rounded(st.Deadline),
		}
		if st.OpenedAt != nil {
			stages[i].Status = "pending"
		}
		switch st := stages[i]; {
		case st.MinApprovers < 1:
			return store.Request{}, fail(op, store.ErrInvalid, "service_request_stages_min_approvers_check")
		case st.Timeout < 0:
			return store.Request{}, fail(op, store.ErrInvalid, "service_request_stages_timeout_check")
		case st.ReminderInterval < 0:
			return store.Request{}, fail(op, store.ErrInvalid, "service_request_stages_reminder_interval_check")
		case st.RequireRecentLogin < 0:
			return store.Request{}, fail(op, store.ErrInvalid, "service_request_stages_recent_login_check")
		}
	}
	if nr.CurrentStage != nil && *nr.CurrentStage < 0 {
		return store.Request{}, fail(op, store.ErrInvalid, "service_requests_current_stage_check")
	}
	for _, st := range stages {
		if st.ApproverTeamID != nil && s.teams[*st.ApproverTeamID] == nil {
			return store.Request{}, fail(op, store.ErrInvalidReference, "service_request_stages_approver_team_id_fkey")
		}
	}
	now := s.now()
	r := &store.Request{
		ID:                id,
		OrganizationID:    nr.OrganizationID,
		CatalogItemID:     nr.CatalogItemID,
		CatalogItemName:   nr.CatalogItemName,
		RequesterID:       nr.RequesterID,
		RequesterUsername: nr.RequesterUsername,
		Justification:     nr.Justification,
		ExtraVars:         extraVars,
		NodeSurveyData:    surveyData,
		Status:            "pending_approval",
		CurrentStage:      clonePtr(nr.CurrentStage),
		PendingApprovers:  append([]string{}, nr.PendingApprovers...),
		ExtendableUntil:   rounded(nr.ExtendableUntil),
		Participants:      append([]string{}, slices.Compact(slices.Sorted(slices.Values(nr.PendingApprovers)))...),
		WorkflowID:        fmt.Sprintf("service-request-%d", id),
		Created:           now,
		Modified:          now,
		Stages:            stages,
		Responses:         []store.Response{},
		ParentID:          clonePtr(nr.ParentID),
	}
	s.requests[id] = r
	return s.full(r), nil
}

// full is a stored request as GetRequest answers it: with its stages and
// responses.
func (s *Store) full(r *store.Request) store.Request { return s.view(r, true) }

// view is request(r, full) with its children, as the store reads them.
func (s *Store) view(r *store.Request, full bool) store.Request {
	out := request(r, full)
	out.Children = s.children(r.ID)
	return out
}

// children are the requests that resubmit request id, oldest first.
func (s *Store) children(id int64) []int64 {
	out := []int64{}
	for _, r := range s.requests {
		if r.ParentID != nil && *r.ParentID == id {
			out = append(out, r.ID)
		}
	}
	slices.Sort(out)
	return out
}

// GetRequest is store.Store.GetRequest.
func (s *Store) GetRequest(ctx context.Context, id int64) (store.Request, error) {
	const op = "get request"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetRequest", op); err != nil {
		return store.Request{}, err
	}
	r, ok := s.requests[id]
	if !ok {
		return store.Request{}, notFound(op)
	}
	return s.full(r), nil
}

// DeleteRequest is store.Store.DeleteRequest.
func (s *Store) DeleteRequest(ctx context.Context, id int64) error {
	const op = "delete request"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DeleteRequest", op); err != nil {
		return err
	}
	r, ok := s.requests[id]
	if !ok {
		return notFound(op)
	}
	if r.Job != nil {
		return fail(op, store.ErrConflict, "request %d launched AWX job %d; its record is kept", id, r.Job.ID)
	}
	delete(s.requests, id)
	for _, c := range s.requests {
		if c.ParentID != nil && *c.ParentID == id {
			c.ParentID = nil
		}
	}
	return nil
}

// ListRequests is store.Store.ListRequests.
func (s *Store) ListRequests(ctx context.Context, f store.RequestFilter, opts store.ListOptions) ([]store.Request, int, error) {
	const op = "list requests"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListRequests", op); err != nil {
		return nil, 0, err
	}
	// The store validates the paging first, then the statuses.
	if _, _, err := page(op, []store.Request{}, requestSort, opts); err != nil {
		return nil, 0, err
	}
	for _, st := range f.Status {
		if !slices.Contains(requestStatuses, st) {
			return nil, 0, fail(op, store.ErrInvalid, "unknown status %q: choose from %s",
				st, strings.Join(requestStatuses, ", "))
		}
	}
	var rows []store.Request
	for _, r := range s.requests {
		if s.requestMatches(r, f) {
			rows = append(rows, s.view(r, false))
		}
	}
	return page(op, rows, requestSort, opts)
}

func (s *Store) requestMatches(r *store.Request, f store.RequestFilter) bool {
	switch {
	case f.RequesterID != nil && r.RequesterID != *f.RequesterID,
		len(f.Status) > 0 && !slices.Contains(f.Status, r.Status),
		f.CatalogItemID != nil && r.CatalogItemID != *f.CatalogItemID,
		f.RequesterUsername != "" && r.RequesterUsername != f.RequesterUsername,
		!inIDs(f.OrganizationIDs, r.OrganizationID):
		return false
	}
	if v := f.Visibility; v != nil && r.RequesterID != v.UserID &&
		!slices.Contains(v.AdminOrgIDs, r.OrganizationID) && !slices.Contains(r.Participants, v.Username) {
		return false
	}
	if u := f.Undecided; u != nil {
		if r.RequesterID == u.ID {
			return false
		}
		for _, resp := range r.Responses {
			if resp.Username == u.Username && (resp.Kind == "approve" || resp.Kind == "reject") {
				return false
			}
		}
	}
	return true
}

// ListPendingForPage is store.Store.ListPendingForPage.
func (s *Store) ListPendingForPage(ctx context.Context, username string, opts store.ListOptions) ([]store.Request, int, error) {
	const op = "list pending approvals"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListPendingForPage", op); err != nil {
		return nil, 0, err
	}
	var rows []store.Request
	for _, r := range s.requests {
		if r.Status == "pending_approval" && slices.Contains(r.PendingApprovers, username) {
			rows = append(rows, s.view(r, false))
		}
	}
	return page(op, rows, requestSort, opts)
}

// PendingRequestsUsingTeam is store.Store.PendingRequestsUsingTeam.
func (s *Store) PendingRequestsUsingTeam(ctx context.Context, teamID int64) ([]int64, error) {
	defer s.mu.Unlock()
	if err := s.begin(ctx, "PendingRequestsUsingTeam", "pending requests using team"); err != nil {
		return nil, err
	}
	return s.pendingIDs(func(r *store.Request, st *store.StageState) bool {
		return st != nil && ((st.ApproverTeamID != nil && *st.ApproverTeamID == teamID) || slices.Contains(st.EscalationTeamIDs, teamID))
	}), nil
}

// PendingRequestsUsingOrgAdmins is store.Store.PendingRequestsUsingOrgAdmins.
func (s *Store) PendingRequestsUsingOrgAdmins(ctx context.Context, orgID int64) ([]int64, error) {
	defer s.mu.Unlock()
	if err := s.begin(ctx, "PendingRequestsUsingOrgAdmins", "pending requests using organization admins"); err != nil {
		return nil, err
	}
	return s.pendingIDs(func(r *store.Request, st *store.StageState) bool {
		return st != nil && st.ApproverTeamID == nil && r.OrganizationID == orgID
	}), nil
}

// PendingRequestsForUser is store.Store.PendingRequestsForUser.
func (s *Store) PendingRequestsForUser(ctx context.Context, userID int64) ([]int64, error) {
	defer s.mu.Unlock()
	if err := s.begin(ctx, "PendingRequestsForUser", "pending requests for user"); err != nil {
		return nil, err
	}
	deciders := []int64{userID}
	now := s.now()
	for _, d := range s.delegations {
		if d.DelegateID == userID && d.Ends.After(now) {
			deciders = append(deciders, d.DelegatorID)
		}
	}
	return s.pendingIDs(func(r *store.Request, st *store.StageState) bool {
		if st == nil {
			return false
		}
		for _, u := range deciders {
			for _, team := range st.EscalationTeamIDs {
				if s.teamMembers[pair{team, u}] {
					return true
				}
			}
			if st.ApproverTeamID != nil && s.teamMembers[pair{*st.ApproverTeamID, u}] ||
				st.ApproverTeamID == nil && s.orgAdmins[pair{r.OrganizationID, u}] {
				return true
			}
		}
		return false
	}), nil
}

// PendingRequests is store.Store.PendingRequests.
func (s *Store) PendingRequests(ctx context.Context) ([]int64, error) {
	defer s.mu.Unlock()
	if err := s.begin(ctx, "PendingRequests", "pending requests"); err != nil {
		return nil, err
	}
	return s.pendingIDs(func(*store.Request, *store.StageState) bool { return true }), nil
}

// pendingIDs returns, ascending, the ids of the requests pending approval
// that keep says to keep, given their current stage (nil when none is).
func (s *Store) pendingIDs(keep func(r *store.Request, current *store.StageState) bool) []int64 {
	ids := []int64{}
	for id, r := range s.requests {
		if r.Status != "pending_approval" {
			continue
		}
		var current *store.StageState
		if r.CurrentStage != nil && *r.CurrentStage < len(r.Stages) {
			current = &r.Stages[*r.CurrentStage]
		}
		if keep(r, current) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
