package requests

import (
	"context"
	"slices"
	"time"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// Capabilities say what a caller may do to a request now: each is true
// exactly when the corresponding call would be accepted (with a text the
// rules accept, where the action needs one).
type Capabilities struct {
	Approve bool `json:"approve"`
	Reject  bool `json:"reject"`
	// RequestChanges: ask the requester for changes, ending the request
	// changes_requested (whoever may reject may).
	RequestChanges bool `json:"request_changes"`
	Comment        bool `json:"comment"`
	Cancel         bool `json:"cancel"`
	Delete         bool `json:"delete"`
	// Extend: the caller may extend the open stage's deadline (by up to
	// what its max_extension leaves).
	Extend bool `json:"extend"`
	// Escalate: the caller may escalate the open stage to another team
	// (org admins and superusers, while a stage is open).
	Escalate bool `json:"escalate"`
	// Resubmit: the caller is the requester of a request that ended
	// changes_requested and was not resubmitted yet, so a submit of its
	// catalog item may name it in "resubmits".
	Resubmit bool `json:"resubmit"`
	// RequestAgain: the caller is the requester of a finished request, so
	// the portal offers a submit form prefilled from it. Both still need
	// the right to submit the catalog item, which the submit checks.
	RequestAgain bool `json:"request_again"`
}

// again is what the requester of a request in status may submit from it
// (Resubmit, RequestAgain).
func again(p access.Principal, r store.Request, status approval.Status) (resubmit, requestAgain bool) {
	if p.UserID != r.RequesterID || !status.Terminal() {
		return false, false
	}
	return Resubmittable(status, r.Children), true
}

// Resubmittable reports whether a request in status with these children
// (the requests that resubmit it) may be resubmitted: only one that ended
// changes_requested, and only once.
func Resubmittable(status approval.Status, children []int64) bool {
	return status == approval.StatusChangesRequested && len(children) == 0
}

// CapabilitiesOf is what p may do to request r at now. With live, the
// workflow's state (its roster as fresh as the caller could make it), the
// workflow's own rules answer, as they would for the call. Without it,
// the answer comes from the projection and is approximate: the projection
// lags the workflow by moments, and does not know every rule's input (a
// roster still being resolved, a cancellation already asked, the comment
// limit, a stage past its deadline for decisions).
func CapabilitiesOf(p access.Principal, r store.Request, live *approval.Request, now time.Time) Capabilities {
	obj := RequestObject(r)
	if access.Check(p, access.Act, obj) != nil {
		return Capabilities{}
	}
	mayDelete := access.Check(p, access.Delete, obj) == nil
	if live != nil {
		ok := func(a approval.Action) bool { return live.Check(a, p.Username, "-", now) == nil }
		c := Capabilities{Approve: ok(approval.ActionApprove), Reject: ok(approval.ActionReject),
			RequestChanges: ok(approval.ActionRequestChanges),
			Comment:        ok(approval.ActionComment), Cancel: ok(approval.ActionCancel), Extend: ok(approval.ActionExtend),
			Escalate: ok(approval.ActionEscalate)}
		c.Resubmit, c.RequestAgain = again(p, r, live.Status)
		c.Delete = mayDelete && deletable(live.Status, live.Job != nil) &&
			(live.Status != approval.StatusPendingApproval || c.Cancel)
		return c
	}
	status := approval.Status(r.Status)
	if status.Terminal() {
		c := Capabilities{Delete: mayDelete && deletable(status, r.Job != nil)}
		c.Resubmit, c.RequestAgain = again(p, r, status)
		return c
	}
	decided := slices.Contains(obj.Deciders, p.Username)
	decide := status == approval.StatusPendingApproval && p.Username != r.RequesterUsername && !decided &&
		(p.IsSuperuser || slices.Contains(r.PendingApprovers, p.Username))
	admin := p.Admin(r.OrganizationID)
	cancel := p.UserID == r.RequesterID || admin
	return Capabilities{
		Approve: decide, Reject: decide, RequestChanges: decide,
		Comment: p.UserID == r.RequesterID || admin || decided || decide,
		Cancel:  cancel,
		Delete:  mayDelete && deletable(status, r.Job != nil) && cancel,
		Extend: status == approval.StatusPendingApproval && r.ExtendableUntil != nil && now.Before(*r.ExtendableUntil) &&
			p.Username != r.RequesterUsername && (admin || p.IsSuperuser || slices.Contains(r.PendingApprovers, p.Username)),
		Escalate: status == approval.StatusPendingApproval && r.CurrentStage != nil && (admin || p.IsSuperuser),
	}
}

// Capabilities is CapabilitiesOf for a on r, with live's roster replaced
// by who may act as PostgreSQL says now, as a decision's would be; live
// may be nil (see CapabilitiesOf).
func (s *Service) Capabilities(ctx context.Context, a access.Principal, r store.Request, live *approval.Request) Capabilities {
	if live != nil && !live.Status.Terminal() {
		if roster, err := s.rosterNow(ctx, r); err == nil && roster != nil && roster.Stage == live.CurrentStage {
			fresh := *live
			fresh.Roster, fresh.RosterResolved = roster.Roster, true
			live = &fresh
		}
	}
	return CapabilitiesOf(a, r, live, s.cfg.Now())
}

// RequestObject is request r as package access judges it.
func RequestObject(r store.Request) access.Object {
	return access.Object{Resource: access.Request, Organization: r.OrganizationID, Owner: r.RequesterID,
		Approvers: r.PendingApprovers, Participants: r.Participants, Deciders: r.Deciders}
}
