package api

import (
	"context"
	"errors"
	"time"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/mail"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/web"
)

// mailLinks serves the portal's confirm page of mails' decision links
// (web.MailLinks) over the request service: the link's signature is the
// credential of its one decision when the browser has no session; a
// browser signed in as someone else is refused (link_forwarded); a stage
// that requires a recent sign-in sends the browser through the sign-in
// first.
type mailLinks struct {
	s   *Server
	key *mail.LinkKey
}

// who is the browser's user: the session's, or nobody ("") without a
// live session.
func (m mailLinks) who(ctx context.Context, sessionID string) (store.User, *store.Session, error) {
	if sessionID == "" {
		return store.User{}, nil, nil
	}
	u, sess, err := m.s.d.Store.AuthenticateSession(ctx, sessionID, m.s.sessionLimits())
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, nil, nil
	}
	if err != nil {
		return store.User{}, nil, err
	}
	return u, &sess, nil
}

// check verifies token and the link's rules for the browser, and whether
// its stage asks for a sign-in first.
func (m mailLinks) check(ctx context.Context, token, sessionID string) (approval.MailLink, requests.LinkTarget, *store.Session, error) {
	link, err := m.key.Verify(token)
	if err != nil {
		return link, requests.LinkTarget{}, nil, err
	}
	u, sess, err := m.who(ctx, sessionID)
	if err != nil {
		return link, requests.LinkTarget{}, nil, err
	}
	target, err := m.s.requests.CheckLink(ctx, link, u.Username)
	if err != nil {
		return link, target, nil, err
	}
	if target.RecentLogin > 0 && (sess == nil || m.s.now().Sub(sess.AuthTime) > target.RecentLogin) {
		return link, target, nil, &web.StepUp{Within: target.RecentLogin}
	}
	return link, target, sess, nil
}

func (m mailLinks) Preview(ctx context.Context, token, sessionID string) (web.MailDecision, error) {
	link, target, _, err := m.check(ctx, token, sessionID)
	if err != nil {
		return web.MailDecision{}, m.refusal(err)
	}
	return decisionView(link, target, ""), nil
}

func (m mailLinks) Confirm(ctx context.Context, token, sessionID, reason string) (web.MailDecision, error) {
	link, target, sess, err := m.check(ctx, token, sessionID)
	if err != nil {
		return web.MailDecision{}, m.refusal(err)
	}
	u, err := m.s.d.Store.GetUserByUsername(ctx, link.User)
	if errors.Is(err, store.ErrNotFound) || err == nil && !u.IsActive {
		return web.MailDecision{}, &web.MailRefusal{Status: 403, Code: string(approval.CodeNotEligible), Message: "The user this link was sent to is not active."}
	}
	if err != nil {
		return web.MailDecision{}, m.refusal(err)
	}
	roles, err := m.s.d.Store.UserRoles(ctx, u.ID)
	if err != nil {
		return web.MailDecision{}, m.refusal(err)
	}
	a := requests.Actor{Principal: requests.PrincipalOf(u, roles), Teams: roles.Teams}
	if sess != nil {
		at := sess.AuthTime
		a.SignedInAt = &at
	}
	st, err := m.s.requests.DecideByLink(ctx, a, link, target, reason)
	if ref := refusalOf(err); ref != nil && ref.Code == approval.CodeRecentLoginRequired && target.RecentLogin > 0 {
		// Signed in, but no longer recently enough.
		return web.MailDecision{}, &web.StepUp{Within: target.RecentLogin}
	}
	if err != nil {
		// With the decision, so that a reason refused is asked for again
		// on the form without checking the link anew.
		return decisionView(link, target, ""), m.refusal(err)
	}
	return decisionView(link, target, string(st.Status)), nil
}

// refusal is err for the confirm page: a step-up as is, else
// mailRefusal's, else err (logged by the portal).
func (m mailLinks) refusal(err error) error {
	var step *web.StepUp
	if errors.As(err, &step) {
		return err
	}
	if ref := mailRefusal(err); ref != nil {
		return ref
	}
	return err
}

func decisionView(link approval.MailLink, t requests.LinkTarget, status string) web.MailDecision {
	var deadline *time.Time
	if t.Deadline != nil {
		d := *t.Deadline
		deadline = &d
	}
	return web.MailDecision{
		User: link.User, Action: string(link.Action), RequestID: link.RequestID,
		CatalogItem: t.Request.CatalogItemName, Requester: t.Request.RequesterUsername, Justification: t.Request.Justification,
		Stage: t.StageName, Deadline: deadline, Status: status,
		Answers: requests.AnswerLines(t.Request, maxMailAnswers, maxMailAnswerRunes),
	}
}

// The confirm page shows at most maxMailAnswers answers, each cut to
// maxMailAnswerRunes; the portal shows them all.
const (
	maxMailAnswers     = 50
	maxMailAnswerRunes = 300
)
