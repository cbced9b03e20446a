package activities

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
)

// DecisionKeys is the part of the store that checks decision keys.
type DecisionKeys interface {
	DecisionKeyByKeyID(ctx context.Context, keyID string) (store.DecisionKeyOwner, error)
	TouchDecisionKey(ctx context.Context, id int64, now time.Time) error
}

// VerifyDecisionInput is a decision that reached a request's workflow
// through Temporal rather than through the API's update path.
type VerifyDecisionInput struct {
	Claims proof.Claims `json:"claims"`
	Proof  *proof.Proof `json:"proof,omitempty"`
	// Roster, when a stage is open, asks for who may act on it now: the
	// decision is judged against PostgreSQL's word rather than the
	// request's last reading of it.
	Roster *RosterInput `json:"roster,omitempty"`
}

// VerifyDecisionResult says how the decision may be recorded, or why it
// is refused. Freshness and reuse of the proof are the workflow's to judge.
type VerifyDecisionResult struct {
	Via     approval.Via      `json:"via"`
	Refusal *approval.Refusal `json:"refusal,omitempty"`
	Roster  *approval.Roster  `json:"roster,omitempty"`
}

// VerifyDecision checks who sent a decision through Temporal, under the
// worker's TEMPORAL_DECISIONS mode: a decision key's proof must be of a
// key of the user it names that is neither revoked nor expired, held by an
// active user; an API proof must verify with the payload keys. Only
// PostgreSQL being unreachable is an error (retried); every verdict is a
// result, so it is recorded in the workflow's history.
func (a *Activities) VerifyDecision(ctx context.Context, in VerifyDecisionInput) (VerifyDecisionResult, error) {
	res, err := a.verdict(ctx, in)
	if err != nil || res.Refusal != nil || in.Roster == nil {
		return res, err
	}
	roster, err := a.ResolveRoster(ctx, *in.Roster)
	if err != nil {
		return VerifyDecisionResult{}, err
	}
	res.Roster = &roster
	return res, nil
}

// verdict is VerifyDecision's judgement of the proof alone.
func (a *Activities) verdict(ctx context.Context, in VerifyDecisionInput) (VerifyDecisionResult, error) {
	refuse := func(code approval.Code, format string, args ...any) (VerifyDecisionResult, error) {
		return VerifyDecisionResult{Refusal: &approval.Refusal{Code: code, Message: fmt.Sprintf(format, args...)}}, nil
	}
	p := in.Proof
	switch mode := a.decisionMode(); {
	case mode == proof.ModeOff:
		return refuse(approval.CodeTemporalDecisionsOff,
			"decisions sent through Temporal are turned off (TEMPORAL_DECISIONS=off); decide in the portal or through the API")
	case p == nil && mode == proof.ModeTrusted:
		return VerifyDecisionResult{Via: approval.Via{Channel: proof.ChannelCLI, Unverified: true}}, nil
	case p == nil:
		return refuse(approval.CodeProofRequired,
			"a decision sent through Temporal needs a proof of its user: sign it with `countersign decision sign` and your decision key")
	case p.Service():
		if a.APIKeys == nil || a.APIKeys.Verify(in.Claims, *p) != nil {
			return refuse(approval.CodeProofInvalid, "the decision's API proof does not verify")
		}
		return VerifyDecisionResult{Via: approval.Via{Channel: p.Channel}}, nil
	}
	if !proof.ValidUserKeyID(p.Key) {
		return refuse(approval.CodeProofInvalid, "the decision's proof names no decision key (dk_ followed by 16 hex digits)")
	}
	k, err := a.Keys.DecisionKeyByKeyID(ctx, p.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refuse(approval.CodeProofInvalid, "decision key %s does not exist", p.Key)
	case err != nil:
		return VerifyDecisionResult{}, err
	case k.Username != in.Claims.User:
		return refuse(approval.CodeProofInvalid, "decision key %s is not %s's", p.Key, approval.Cut(in.Claims.User, approval.MaxUserLength))
	case !k.UserActive:
		return refuse(approval.CodeProofInvalid, "%s is deactivated", k.Username)
	case k.RevokedAt != nil:
		return refuse(approval.CodeProofInvalid, "decision key %s was revoked", p.Key)
	case !a.now().Before(k.Expires):
		return refuse(approval.CodeProofInvalid, "decision key %s expired at %s", p.Key, k.Expires.UTC().Format(time.RFC3339))
	}
	if proof.VerifyUser(ed25519.PublicKey(k.PublicKey), in.Claims, *p) != nil {
		return refuse(approval.CodeProofInvalid,
			"the proof does not match this decision: sign exactly the request, action, user and text you send")
	}
	if err := a.Keys.TouchDecisionKey(ctx, k.ID, a.now()); err != nil {
		a.logger().WarnContext(ctx, "recording a decision key's use failed", "key_id", k.KeyID, "error", err)
	}
	return VerifyDecisionResult{Via: approval.Via{Channel: proof.ChannelCLI}}, nil
}

func (a *Activities) decisionMode() proof.Mode {
	if a.Decisions == "" {
		return proof.ModeVerified
	}
	return a.Decisions
}
