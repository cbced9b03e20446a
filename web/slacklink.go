package web

import (
	"context"
	"errors"
	"net/http"
)

// SlackLinks confirm the one-time links of the Slack app
// (/ui/slack/link?t=…): a signed-in user links the Slack account that asked
// for the link to themselves.
type SlackLinks interface {
	// Pending returns ErrNoLink unless t is a live one-time link.
	Pending(ctx context.Context, t string) error
	// Confirm links the Slack account of t to the user of session
	// sessionID and uses t up; ErrNoLink when t is unknown, used or
	// expired, ErrNoSession when the session is not live.
	Confirm(ctx context.Context, sessionID, t string) error
}

// ErrNoLink is what SlackLinks answer for a link that is unknown, used or
// expired.
var ErrNoLink = errors.New("no such link")

// maxSlackLinkToken bounds what a Slack link's token may be.
const maxSlackLinkToken = 64

// slackLinkPage is what the link page shows.
type slackLinkPage struct {
	Username, Token, CSRF string
	SignIn, Done          bool
}

// slackLinkForm shows the confirmation form of a live link to a signed-in
// user; a GET never links (link scanners and previews fetch URLs).
func (p *Portal) slackLinkForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	user, id, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	if id == "" {
		p.render(w, http.StatusOK, "slacklink.html", slackLinkPage{SignIn: true})
		return
	}
	t := r.URL.Query().Get("t")
	if !p.linkPending(w, r, t) {
		return
	}
	csrf := ensureCSRFCookie(w, r)
	p.render(w, http.StatusOK, "slacklink.html", slackLinkPage{Username: user.Username, Token: t, CSRF: csrf})
}

// slackLinkConfirm links, for a same-site POST with the CSRF value from a
// signed-in user.
func (p *Portal) slackLinkConfirm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if crossSite(r) || !csrfMatches(r, r.PostFormValue("csrf")) {
		p.errorPage(w, http.StatusForbidden, "CSRF token missing or incorrect.")
		return
	}
	user, id, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	if id == "" {
		p.render(w, http.StatusUnauthorized, "slacklink.html", slackLinkPage{SignIn: true})
		return
	}
	t := r.PostFormValue("t")
	if len(t) > maxSlackLinkToken || t == "" {
		p.errorPage(w, http.StatusGone, "This link is not valid: it is unknown, used or expired. Ask for a new one with /countersign link in Slack.")
		return
	}
	err := p.cfg.SlackLinks.Confirm(r.Context(), id, t)
	switch {
	case errors.Is(err, ErrNoLink):
		p.errorPage(w, http.StatusGone, "This link is not valid: it is unknown, used or expired. Ask for a new one with /countersign link in Slack.")
	case errors.Is(err, ErrNoSession):
		clearCookies(w, r)
		p.render(w, http.StatusUnauthorized, "slacklink.html", slackLinkPage{SignIn: true})
	case err != nil:
		p.log.Warn("confirming a Slack link failed", "error", err)
		p.errorPage(w, http.StatusServiceUnavailable, "Countersign cannot link your Slack account right now; try again shortly.")
	default:
		p.render(w, http.StatusOK, "slacklink.html", slackLinkPage{Username: user.Username, Done: true})
	}
}

// signedIn is the user of the request's live session and its id; id is
// "" when there is none. ok is false when the answer was written (the
// session could not be checked).
func (p *Portal) signedIn(w http.ResponseWriter, r *http.Request) (user User, id string, ok bool) {
	id, has := SessionID(r)
	if !has {
		return User{}, "", true
	}
	user, err := p.cfg.Session(r.Context(), id)
	if errors.Is(err, ErrNoSession) {
		return User{}, "", true
	}
	if err != nil {
		p.log.Warn("checking a portal session failed", "error", err)
		p.errorPage(w, http.StatusServiceUnavailable, "Countersign cannot check your session right now; try again shortly.")
		return User{}, "", false
	}
	return user, id, true
}

// linkPending writes the error page unless t is a live link.
func (p *Portal) linkPending(w http.ResponseWriter, r *http.Request, t string) bool {
	if t == "" || len(t) > maxSlackLinkToken {
		p.errorPage(w, http.StatusGone, "This link is not valid: it is unknown, used or expired. Ask for a new one with /countersign link in Slack.")
		return false
	}
	err := p.cfg.SlackLinks.Pending(r.Context(), t)
	if errors.Is(err, ErrNoLink) {
		p.errorPage(w, http.StatusGone, "This link is not valid: it is unknown, used or expired. Ask for a new one with /countersign link in Slack.")
		return false
	}
	if err != nil {
		p.log.Warn("checking a Slack link failed", "error", err)
		p.errorPage(w, http.StatusServiceUnavailable, "Countersign cannot check this link right now; try again shortly.")
		return false
	}
	return true
}
