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
	status, current := approval.Status(r.Status), r.CurrentStage
	if live := s.State(ctx, r); live != nil {
		status, current = live.Status, nil
		if live.Current() != nil {
			pos := live.CurrentStage
			current = &pos
		}
	}
	if err := approval.CheckMailLink(link, s.cfg.Now(), sessionUser, status, current); err != nil {
		return LinkTarget{}, err
	}
	t := LinkTarget{Request: r}
	if link.Stage < len(r.Stages) {
		st := r.Stages[link.Stage]
		t.RecentLogin, t.Deadline, t.StageName = st.RequireRecentLogin, st.Deadline, st.Name
	}
	return t, nil
}

// DecideByLink takes the decision link grants, as a (the link's user,
// signed in or not), with text (the reason of a rejection), through
// Decide on channel email, bound to the link's stage: the workflow
// refuses it (stage_not_open) if another stage opened since CheckLink. The link is claimed first, so that of two
// confirmations one decides and the other is refused with
// approval.CodeLinkUsed; a decision the rules refuse, or that was not
// sent, gives the link back so it can be tried again. Call CheckLink
// first: DecideByLink does not repeat its checks.
func (s *Service) DecideByLink(ctx context.Context, a Actor, link approval.MailLink, r store.Request, text string) (approval.Request, error) {
	if a.Username != link.User {
		return approval.Request{}, &approval.Refusal{Code: approval.CodeLinkForwarded, Message: "this link was sent to " + link.User}
	}
	if s.cfg.MailLinks == nil {
		return approval.Request{}, approval.LinkInvalid()
	}
	err := s.cfg.MailLinks.ClaimMailLink(ctx, store.MailLinkUse{LinkID: link.ID, Username: link.User, RequestID: link.RequestID,
		Stage: link.Stage, Action: string(link.Action), Expires: link.Expires})
	if errors.Is(err, store.ErrConflict) {
		return approval.Request{}, approval.LinkUsed(link)
	}
	if err != nil {
		return approval.Request{}, err
	}
	a.Channel = proof.ChannelEmail
	stage := link.Stage
	st, err := s.DecideStage(ctx, a, r, link.Action, text, stage)
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
