package requests

import (
	"context"

	"github.com/countersign/countersign/workflows"
)

// Change is a change of who may decide waiting requests: a team's members,
// an organization's admins, one user's standing (activated, deactivated,
// deleted), or who is a superuser. Set what changed; the waiting requests
// concerned are the union. Reason is recorded in the requests' histories.
type Change struct {
	Reason string
	// Team is a team whose members changed.
	Team *int64
	// OrgAdmins is an organization whose admins changed.
	OrgAdmins *int64
	// User is a user whose standing changed: the requests they may decide
	// by membership, or as a delegate, are concerned.
	User *int64
	// Superuser: the change concerns a superuser, before or after it (made
	// or unmade one, created, activated, deactivated or deleted as one).
	// Superusers may decide any stage, so every waiting request is
	// concerned.
	Superuser bool
	// Requests are concerned whatever else is set: those found before a
	// delete took the way to find them (a deleted team's stages lose its
	// id).
	Requests []int64
}

// Affected returns the ids of the waiting requests that ch concerns, as
// things stand now. Call it before a delete that would hide them, and pass
// its answer as Change.Requests to ApproversChanged.
func (s *Service) Affected(ctx context.Context, ch Change) ([]int64, error) {
	st := s.cfg.Store
	if ch.Superuser {
		return st.PendingRequests(ctx)
	}
	seen := map[int64]bool{}
	var out []int64
	add := func(ids []int64, err error) error {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
		return err
	}
	_ = add(ch.Requests, nil)
	if ch.Team != nil {
		if err := add(st.PendingRequestsUsingTeam(ctx, *ch.Team)); err != nil {
			return nil, err
		}
	}
	if ch.OrgAdmins != nil {
		if err := add(st.PendingRequestsUsingOrgAdmins(ctx, *ch.OrgAdmins)); err != nil {
			return nil, err
		}
	}
	if ch.User != nil {
		if err := add(st.PendingRequestsForUser(ctx, *ch.User)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ApproversChanged tells the waiting requests that ch concerns that who may
// decide them changed, so that each resolves its roster again. It is the
// one way every membership, role and user change (and later delegation)
// reaches waiting requests. It works in the background, after the caller
// answered (a team may decide many requests): failures are logged, and a
// request keeps its former roster until the next refresh or stage.
// Decisions never depend on it: each carries who may decide as PostgreSQL
// says at that moment.
func (s *Service) ApproversChanged(ctx context.Context, ch Change) {
	ctx = context.WithoutCancel(ctx)
	s.background(func() {
		ids, err := s.Affected(ctx, ch)
		if err != nil {
			s.log.Warn("finding the waiting requests to refresh failed", "reason", ch.Reason, "error", err)
			return
		}
		for _, id := range ids {
			err := s.cfg.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.RefreshApprovers,
				workflows.RefreshApproversInput{Reason: ch.Reason})
			if err != nil && !isWorkflowGone(err) {
				s.log.Warn("telling a request its approvers changed failed", "request_id", id, "error", err)
			}
		}
	})
}

// background runs work after the answer, one piece at a time (signals are
// quick; a burst of membership changes queues rather than piling up), and
// Close waits for it.
func (s *Service) background(work func()) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.bgSlot <- struct{}{}
		defer func() { <-s.bgSlot }()
		work()
	}()
}
