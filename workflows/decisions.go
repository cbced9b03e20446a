package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/proof"
)

// Guard is what a worker tells its request workflows about decisions sent
// through Temporal: how to treat those that did not come through the API,
// and the keys that verify the API's proofs. Only update validators read
// it, and validators never run on replay, so workers may differ in it and
// it may change between deployments without breaking running requests.
// The zero Guard verifies: it refuses decisions without a proof.
type Guard struct {
	Decisions proof.Mode
	APIKeys   *proof.ServiceKeys
}

// ServiceRequest is the ServiceRequest workflow run under g.
func (g Guard) ServiceRequest(ctx workflow.Context, in Input) (Result, error) {
	return serviceRequest(ctx, in, g)
}

// verifiedDecisions is the change that checks who sent a decision through
// Temporal. Requests recorded before it applied such decisions unchecked;
// replaying them keeps doing so.
const verifiedDecisions = "verified-temporal-decisions"

// decision is an action as it arrived, with its proof and the roster its
// sender read.
type decision struct {
	approval.Act
	pendingOnly bool
	proof       *proof.Proof
	roster      *StageRoster
	signedInAt  *time.Time
}

func (d Decision) arrived(p *proof.Proof) decision {
	out := decision{Act: approval.Act{Action: d.Action, User: d.User, Text: d.Text, By: d.By, Stage: d.Stage}, pendingOnly: d.PendingOnly,
		proof: p, roster: d.Roster, signedInAt: d.SignedInAt}
	if d.Team > 0 {
		out.Team = &approval.Ref{ID: d.Team}
	}
	return out
}

func (in ApproveInput) decision() decision        { return in.Decision(0).arrived(in.Proof) }
func (in RejectInput) decision() decision         { return in.Decision(0).arrived(in.Proof) }
func (in RequestChangesInput) decision() decision { return in.Decision(0).arrived(in.Proof) }
func (in CommentInput) decision() decision        { return in.Decision(0).arrived(in.Proof) }
func (in CancelInput) decision() decision         { return in.Decision(0).arrived(in.Proof) }
func (in ExtendInput) decision() decision         { return in.Decision(0).arrived(in.Proof) }
func (in EscalateInput) decision() decision       { return in.Decision(0).arrived(in.Proof) }

func (s *requestRun) claims(d decision) proof.Claims {
	return Decision{RequestID: s.in.RequestID, Action: d.Action, User: d.User, Text: d.Text, PendingOnly: d.pendingOnly,
		Roster: d.roster, SignedInAt: d.signedInAt, By: d.By, Team: d.teamID()}.Claims()
}

// teamID is the id of the team d names (escalate), 0 when none.
func (d decision) teamID() int64 {
	if d.Team == nil {
		return 0
	}
	return d.Team.ID
}

// rosterFor is r's roster when r is about the open stage (its position and
// its approver team); the request's own roster stands otherwise.
func (s *requestRun) rosterFor(r *StageRoster) (approval.Roster, bool) {
	st := s.req.Current()
	if r == nil || st == nil || r.Stage != s.req.CurrentStage {
		return approval.Roster{}, false
	}
	if (st.ApproverTeam == nil) != (r.Team == nil) || (st.ApproverTeam != nil && st.ApproverTeam.ID != *r.Team) ||
		!slices.Equal(st.EscalationTeams(), r.Escalations) {
		return approval.Roster{}, false
	}
	return r.Roster, true
}

// carried is the roster an API decision brought: only the API's proof
// vouches for one (a person's decision key could sign any roster).
func (s *requestRun) carried(d decision) (approval.Roster, bool) {
	if !d.proof.Service() {
		return approval.Roster{}, false
	}
	return s.rosterFor(d.roster)
}

// signedIn is when d's user last signed in, as only the API's proof
// vouches for it (a person's decision key could sign any time).
func (d decision) signedIn() *time.Time {
	if !d.proof.Service() {
		return nil
	}
	return d.signedInAt
}

// judged is the request as d is judged: with the roster d carries, so a
// decision sees membership changes the API knew of when it sent it.
func (s *requestRun) judged(d decision) *approval.Request {
	roster, ok := s.carried(d)
	if !ok {
		return s.req
	}
	r := *s.req // SetRoster replaces the copy's roster and approvers, sharing nothing it changes
	r.SetRoster(roster, r.Modified)
	return &r
}

// adoptRoster makes a fresher roster the request's own.
func (s *requestRun) adoptRoster(roster approval.Roster, ok bool) {
	if !ok || equalRosters(s.req.Roster, roster) {
		return
	}
	s.req.SetRoster(roster, workflow.Now(s.ctx))
	s.changed()
}

func equalRosters(a, b approval.Roster) bool {
	return slices.Equal(a.TeamMembers, b.TeamMembers) && slices.Equal(a.OrgAdmins, b.OrgAdmins) && slices.Equal(a.Superusers, b.Superusers) &&
		slices.EqualFunc(a.Delegations, b.Delegations, func(x, y approval.Delegation) bool {
			return x.Delegator == y.Delegator && x.Delegate == y.Delegate && x.Starts.Equal(y.Starts) && x.Ends.Equal(y.Ends)
		}) &&
		(a.NextDelegationChange == nil) == (b.NextDelegationChange == nil) &&
		(a.NextDelegationChange == nil || a.NextDelegationChange.Equal(*b.NextDelegationChange)) &&
		slices.Equal(a.Escalated, b.Escalated)
}

// screen is the update validator's check of who sent d. The API's proofs
// are verified here, with the worker's keys, so that its decisions cost no
// activity; anything else passes on to the handler's VerifyDecision when
// the worker's mode may accept it.
func (s *requestRun) screen(d decision, now time.Time) *approval.Refusal {
	switch {
	case d.proof.Service():
		if s.guard.APIKeys == nil || s.guard.APIKeys.Verify(s.claims(d), *d.proof) != nil {
			return &approval.Refusal{Code: approval.CodeProofInvalid, Message: "the decision's API proof does not verify"}
		}
		return s.checkProofUse(d.proof, now)
	case s.guard.Decisions == proof.ModeOff:
		return &approval.Refusal{Code: approval.CodeTemporalDecisionsOff,
			Message: "decisions sent through Temporal are turned off (TEMPORAL_DECISIONS=off); decide in the portal or through the API"}
	case d.proof == nil && s.guard.Decisions != proof.ModeTrusted:
		return &approval.Refusal{Code: approval.CodeProofRequired,
			Message: "a decision sent through Temporal needs a proof of its user: sign it with `countersign decision sign` and your decision key"}
	case d.proof != nil:
		return s.checkProofUse(d.proof, now)
	}
	return nil
}

// checkProofUse refuses a proof that is stale or was used before on this
// request. It is deterministic, so handlers run it on replay too.
func (s *requestRun) checkProofUse(p *proof.Proof, now time.Time) *approval.Refusal {
	if !p.Fresh(now) {
		return &approval.Refusal{Code: approval.CodeProofExpired, Message: fmt.Sprintf(
			"the decision's proof was made at %s; sign the decision again and send it at once",
			p.Issued().Format(time.RFC3339))}
	}
	if _, used := s.usedProofs[p.Signature]; used {
		return &approval.Refusal{Code: approval.CodeProofReused, Message: "the decision's proof was used before; sign the decision again"}
	}
	return nil
}

// useProof remembers p so that it is never accepted twice; proofs too old
// to be accepted anyway are forgotten.
func (s *requestRun) useProof(p *proof.Proof, now time.Time) {
	if p == nil {
		return
	}
	for sig, issued := range s.usedProofs {
		if now.Sub(issued) > proof.UserMaxAge+proof.MaxClockSkew {
			delete(s.usedProofs, sig)
		}
	}
	s.usedProofs[p.Signature] = p.Issued()
}

// admit settles how d arrived, or refuses it. An update with an API proof
// was verified by its validator; any other decision is checked by the
// VerifyDecision activity, whose verdict history records.
func (s *requestRun) admit(ctx workflow.Context, d decision, validated bool) (approval.Via, *approval.Refusal) {
	now := workflow.Now(ctx)
	if validated && d.proof.Service() {
		if ref := s.checkProofUse(d.proof, now); ref != nil {
			return approval.Via{}, ref
		}
		s.useProof(d.proof, now)
		s.adoptRoster(s.carried(d))
		return approval.Via{Channel: d.proof.Channel, SignedInAt: d.signedIn()}, nil
	}
	if workflow.GetVersion(ctx, verifiedDecisions, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return approval.Via{}, nil
	}
	opts := storeActivityOptions
	opts.Summary = fmt.Sprintf("verify %s's %s", approval.Cut(d.User, approval.MaxUserLength), d.Action)
	in := activities.VerifyDecisionInput{Claims: s.claims(d), Proof: d.proof}
	if st := s.req.Current(); st != nil {
		in.Roster = &activities.RosterInput{OrganizationID: s.in.Organization.ID, EscalationTeams: st.EscalationTeams()}
		if st.ApproverTeam != nil {
			id := st.ApproverTeam.ID
			in.Roster.TeamID = &id
		}
	}
	var res activities.VerifyDecisionResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.VerifyDecision, in).Get(ctx, &res)
	switch {
	case err != nil:
		return approval.Via{}, &approval.Refusal{Code: approval.CodeProofInvalid, Message: "the decision's proof could not be checked: " + failureMessage(err)}
	case res.Refusal != nil:
		return approval.Via{}, res.Refusal
	}
	if d.proof != nil {
		now = workflow.Now(ctx)
		if ref := s.checkProofUse(d.proof, now); ref != nil {
			return approval.Via{}, ref
		}
		s.useProof(d.proof, now)
	}
	// Who may act, as PostgreSQL says now, for the stage the check was
	// asked about: the decision holds against it.
	if res.Roster != nil && in.Roster != nil && s.req.Current() != nil {
		s.adoptRoster(*res.Roster, true)
	}
	return res.Via, nil
}
