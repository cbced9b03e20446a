package requests

import (
	"context"
	"errors"
	"time"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
)

// MailLinkStore records which decision links of mails were used.
type MailLinkStore interface {
	ClaimMailLink(ctx context.Context, u store.MailLinkUse) error
	ReleaseMailLink(ctx context.Context, linkID string) error
	MailLinkUsed(ctx context.Context, linkID string) (bool, error)
	DeleteExpiredMailLinks(ctx context.Context, now time.Time) (int64, error)
}

// LinkTarget is the request a mail's decision link is for, as it stands,
// and how recent a sign-in its stage requires (0: none).
type LinkTarget struct {
	Request     store.Request
	RecentLogin time.Duration
	Deadline    *time.Time
	StageName   string
	// Expires is when the link stops working (approval.LinkStage.Expiry).
	Expires time.Time
}

// CheckLink tells whether link, whose signature was verified, may be
// used now by a browser signed in as sessionUser ("" when none): the
// request exists, approval.CheckMailLink accepts it against the request's
// live state (the projection when the workflow cannot answer), and it
// was not used. Refusals are *approval.Refusal; store.ErrNotFound when the
// request is gone.
func (s *Service) CheckLink(ctx context.Context, link approval.MailLink, sessionUser string) (LinkTarget, error) {
	r, err := s.cfg.Store.GetRequest(ctx, link.RequestID)
	if err != nil {
		return LinkTarget{}, err
	}
	if s.cfg.MailLinks == nil {
		return LinkTarget{}, approval.LinkInvalid()
	}
	// A used link says so first, whatever became of the request since.
	used, err := s.cfg.MailLinks.MailLinkUsed(ctx, link.ID)
	if err != nil {
		return LinkTarget{}, err
	}
	if used {
		return LinkTarget{}, approval.LinkUsed(link)
	}
	// Only a link still to be used is worth asking the workflow about.
	at := linkStageOf(r)
	if live := s.State(ctx, r); live != nil {
		at = approval.LinkStage{Status: live.Status}
		if st := live.Current(); st != nil {
			pos := live.CurrentStage
			at.Open, at.Deadline, at.Extended = &pos, st.Deadline, st.Extended
		}
	}
	if err := approval.CheckMailLink(link, s.cfg.Now(), sessionUser, at); err != nil {
		return LinkTarget{}, err
	}
	t := LinkTarget{Request: r, Expires: at.Expiry(link)}
	if link.Stage < len(r.Stages) {
		st := r.Stages[link.Stage]
		t.RecentLogin, t.Deadline, t.StageName = st.RequireRecentLogin, st.Deadline, st.Name
	}
	return t, nil
}

// DecideByLink takes the decision link grants on the request of t (as
// CheckLink found it), as a (the link's user,
// signed in or not), with text (the reason of a rejection), through
// Decide on channel email, bound to the link's stage: the workflow
// refuses it (stage_not_open) if another stage opened since CheckLink. The link is claimed first, so that of two
// confirmations one decides and the other is refused with
// approval.CodeLinkUsed; a decision the rules refuse, or that was not
// sent, gives the link back so it can be tried again. Call CheckLink
// first: DecideByLink does not repeat its checks.
func (s *Service) DecideByLink(ctx context.Context, a Actor, link approval.MailLink, t LinkTarget, text string) (approval.Request, error) {
	if a.Username != link.User {
		return approval.Request{}, &approval.Refusal{Code: approval.CodeLinkForwarded, Message: "this link was sent to " + link.User}
	}
	if s.cfg.MailLinks == nil {
		return approval.Request{}, approval.LinkInvalid()
	}
	// The use is kept until the link expires, an extension of its stage
	// included, so that it cannot be used again meanwhile.
	expires := link.Expires
	if t.Expires.After(expires) {
		expires = t.Expires
	}
	err := s.cfg.MailLinks.ClaimMailLink(ctx, store.MailLinkUse{LinkID: link.ID, Username: link.User, RequestID: link.RequestID,
		Stage: link.Stage, Action: string(link.Action), Expires: expires})
	if errors.Is(err, store.ErrConflict) {
		return approval.Request{}, approval.LinkUsed(link)
	}
	if err != nil {
		return approval.Request{}, err
	}
	a.Channel = proof.ChannelEmail
	stage := link.Stage
	st, err := s.DecideStage(ctx, a, t.Request, link.Action, text, stage)
	var inFlight *InFlight
	if err != nil && !errors.As(err, &inFlight) {
		// Refused or not sent: nothing was decided with the link. Released
		// on a context of its own, so a caller that went away does not keep
		// the link used.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := s.cfg.MailLinks.ReleaseMailLink(rctx, link.ID); rerr != nil {
			s.log.Warn("giving a mail link back failed; it stays used", "link", link.String(), "error", rerr)
		}
	}
	return st, err
}

// linkStageOf is how the projection shows request r's stages to a mail
// link: its status, open stage and that stage's deadline; it does not
// keep extensions, so only the live state extends a link.
func linkStageOf(r store.Request) approval.LinkStage {
	at := approval.LinkStage{Status: approval.Status(r.Status), Open: r.CurrentStage}
	if r.CurrentStage != nil && *r.CurrentStage >= 0 && *r.CurrentStage < len(r.Stages) {
		at.Deadline = r.Stages[*r.CurrentStage].Deadline
	}
	return at
}
