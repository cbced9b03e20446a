package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Cookies and the header of the portal's session.
const (
	// SessionCookie holds the id of the user's server-side session, never
	// the API token they signed in with (HttpOnly, SameSite=Lax, Secure
	// over TLS). Lax, so that a link from another site (chat, email) opens
	// the page signed in; the API's CSRF check and the refusal of
	// cross-site sign-ins do not rely on SameSite.
	SessionCookie = "countersign_session"
	// CSRFCookie holds a random value the portal's scripts read and send
	// back as CSRFHeader with every call that changes something (the
	// double-submit pattern).
	CSRFCookie = "countersign_csrf"
	// CSRFHeader carries the CSRF cookie's value.
	CSRFHeader = "X-CSRF-Token"
)

// maxTokenLength bounds what the sign-in form accepts as a token, and
// what a session cookie may hold.
const maxTokenLength = 512

// SessionID is the session id of the request's session cookie, if any.
func SessionID(r *http.Request) (string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > maxTokenLength {
		return "", false
	}
	return c.Value, true
}

// CSRFValid reports whether the request carries the CSRF cookie and the
// same value in CSRFHeader (compared in constant time).
func CSRFValid(r *http.Request) bool {
	return csrfMatches(r, r.Header.Get(CSRFHeader))
}

func csrfMatches(r *http.Request, given string) bool {
	want := csrfCookie(r)
	return want != "" && given != "" && subtle.ConstantTimeCompare([]byte(want), []byte(given)) == 1
}

func csrfCookie(r *http.Request) string {
	c, err := r.Cookie(CSRFCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// secure reports whether the browser reached us over TLS, directly or
// through a proxy that says so.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// cookie is one of the portal's cookies. Both are SameSite=Lax: the
// session's so that links from other sites arrive signed in, the CSRF
// cookie's so that such an arrival keeps the value the user's other tabs
// hold rather than being handed a new one.
func cookie(r *http.Request, name, value string, httpOnly bool) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: httpOnly, Secure: secure(r), SameSite: http.SameSiteLaxMode}
}

// ensureCSRFCookie is the browser's CSRF value, set now if it has none, for
// a page whose form posts it.
func ensureCSRFCookie(w http.ResponseWriter, r *http.Request) string {
	if v := csrfCookie(r); v != "" {
		return v
	}
	return setCSRFCookie(w, r)
}

func setCSRFCookie(w http.ResponseWriter, r *http.Request) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails
	v := hex.EncodeToString(b[:])
	http.SetCookie(w, cookie(r, CSRFCookie, v, false))
	return v
}

func clearCookies(w http.ResponseWriter, r *http.Request) {
	for _, name := range []string{SessionCookie, CSRFCookie} {
		c := cookie(r, name, "", name == SessionCookie)
		c.MaxAge = -1
		http.SetCookie(w, c)
	}
}

// signInPage is what the sign-in page shows.
type signInPage struct {
	Error    string
	Expired  bool
	DevUsers []User
	Token    string
	// Provider names the identity provider to sign in with; empty when
	// there is none.
	Provider string
	// TokenSignIn offers the API token form.
	TokenSignIn bool
	// StepUp: the user is asked to sign in again for a decision that
	// needs a recent sign-in.
	StepUp bool
	// Next is the portal route to open after signing in ("#/requests/1"),
	// when the user was heading there; see NextRoute.
	Next string
}

// NextRoute is the route a sign-in asks to return to: a hash route of
// the portal ("#/…", printable ASCII without spaces, at most 200 bytes),
// the confirm page of a mail's decision link ("/ui/mail/decide?t=<token>",
// the token base64url), or "" for anything else. A hash route only ever
// becomes the fragment of "/", and the confirm page is a path of this
// site, so it cannot send the browser to another page, let alone another
// site.
func NextRoute(v string) string {
	if token, ok := strings.CutPrefix(v, mailDecidePath+"?t="); ok {
		if linkToken(token) == "" {
			return ""
		}
		return v
	}
	if len(v) > 200 || !strings.HasPrefix(v, "#/") {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return ""
		}
	}
	return v
}

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	p.showSignIn(w, r, http.StatusOK, signInPage{Expired: r.URL.Query().Get("expired") == "1"})
}

func (p *Portal) showSignIn(w http.ResponseWriter, r *http.Request, status int, page signInPage) {
	page.TokenSignIn = !p.cfg.NoTokenSignIn
	if p.cfg.Federation != nil {
		page.Provider = p.cfg.Federation.Name()
	}
	if p.cfg.DevUsers != nil {
		users, err := p.cfg.DevUsers(r.Context())
		if err != nil {
			p.log.Warn("listing the demo users failed", "error", err)
		}
		page.DevUsers = users
	}
	w.Header().Set("Cache-Control", "no-store")
	p.render(w, status, "signin.html", page)
}

// signIn checks the token of the sign-in form and, when it is valid,
// starts a server-side session: its id in an HttpOnly cookie and a fresh
// CSRF cookie, then the portal, at the route the form's "next" names if it is
// one (NextRoute). Cross-site posts are refused, so that no other site can
// sign a browser in under an account of its choosing.
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) {
	if crossSite(r) {
		p.errorPage(w, http.StatusForbidden, "Sign in from Countersign's own sign-in page.")
		return
	}
	if p.cfg.NoTokenSignIn {
		p.errorPage(w, http.StatusForbidden, "Sign-in with an API token is turned off; sign in through the identity provider.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := NextRoute(r.PostFormValue("next"))
	if token == "" || len(token) > maxTokenLength {
		p.showSignIn(w, r, http.StatusBadRequest, signInPage{Error: "Enter an API token.", Next: next})
		return
	}
	id, err := p.cfg.SignIn(r.Context(), token, r.UserAgent())
	if err != nil {
		if errors.Is(err, ErrBadToken) {
			p.showSignIn(w, r, http.StatusUnauthorized, signInPage{Error: "This token is not valid: it is unknown, revoked or belongs to an inactive user.", Next: next})
			return
		}
		p.log.Warn("checking a token at sign-in failed", "error", err)
		p.showSignIn(w, r, http.StatusServiceUnavailable, signInPage{Error: "Countersign cannot check tokens right now; try again shortly.", Next: next})
		return
	}
	p.startSession(w, r, id, next)
}

// startSession hands the browser a session just started: its id in an
// HttpOnly cookie and a fresh CSRF cookie, then the portal at next (a
// NextRoute).
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, id, next string) {
	// The session this browser held until now, if any, would otherwise
	// stay live, unseen, until it times out.
	if old, ok := SessionID(r); ok {
		if err := p.cfg.SignOut(r.Context(), old); err != nil {
			p.log.Warn("revoking the session replaced at sign-in failed", "error", err)
		}
	}
	http.SetCookie(w, cookie(r, SessionCookie, id, true))
	setCSRFCookie(w, r)
	// Set directly rather than with http.Redirect, which would clean the
	// route as if it were a path.
	w.Header().Set("Location", nextLocation(next))
	w.WriteHeader(http.StatusSeeOther)
}

// signOut revokes the session server-side, so that a copy of its cookie
// is worth nothing, and clears the cookies (the API token the user signed
// in with stays valid for API use). It needs the CSRF value, as a form
// field or header.
func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	given := r.Header.Get(CSRFHeader)
	if given == "" {
		given = r.PostFormValue("csrf")
	}
	if !csrfMatches(r, given) {
		p.errorPage(w, http.StatusForbidden, "CSRF token missing or incorrect.")
		return
	}
	if id, ok := SessionID(r); ok {
		if err := p.cfg.SignOut(r.Context(), id); err != nil {
			p.log.Warn("revoking a portal session failed", "error", err)
			p.errorPage(w, http.StatusServiceUnavailable, "Countersign cannot sign you out right now; try again shortly.")
			return
		}
	}
	clearCookies(w, r)
	http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
}

// crossSite reports a request that a browser says came from another site,
// by Sec-Fetch-Site or, for browsers without it, by Origin.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "cross-site", "same-site":
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == "null"
	}
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, r.Host)
}
