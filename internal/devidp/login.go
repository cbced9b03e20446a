package devidp

import (
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Cookies of the provider's own pages.
const (
	sessionCookie = "devidp_session"
	csrfCookie    = "devidp_csrf"
	// sessionLifetime is how long a sign-in at the provider is reused for
	// later authorization requests without max_age.
	sessionLifetime = 12 * time.Hour
)

// session is a browser signed in at the provider: what lets the next
// authorization request through without the form, unless it asks for a
// recent login.
type session struct {
	subject  string
	authTime time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]session
}

func (s *sessions) get(id string, now time.Time) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if ok && now.Sub(v.authTime) > sessionLifetime {
		delete(s.m, id)
		return session{}, false
	}
	return v, ok
}

func (s *sessions) put(v session) string {
	id := randomID()
	s.mu.Lock()
	defer s.mu.Unlock()
	for old, o := range s.m { // keep the map small in a long run
		if v.authTime.Sub(o.authTime) > sessionLifetime {
			delete(s.m, old)
		}
	}
	s.m[id] = v
	return id
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// dropSubject signs a user out of every browser.
func (s *sessions) dropSubject(subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, v := range s.m {
		if v.subject == subject {
			delete(s.m, id)
		}
	}
}

// loginPage is what the user sees. The CSRF token is a double-submit
// cookie: a page of another site can neither read the cookie nor, with
// SameSite=Strict, send it along with a forged form; so nobody can sign a
// victim's browser in as someone else.
var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: Countersign development provider</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.error{color:#a00}.note{color:#666;font-size:.9em}
</style></head><body>
<h1>Sign in</h1>
<p class="note">Countersign's local OpenID provider, for development and tests only.
Signing in to <strong>{{.ClientID}}</strong>.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="login">
<input type="hidden" name="id" value="{{.ID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="username">Username</label>
<input id="username" name="username" value="{{.Username}}" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></body></html>
`))

type loginView struct {
	ID, CSRF, ClientID, Username, Error string
}

// showLogin is GET /login?id=…: the form, unless the browser's session
// at the provider is recent enough for the request.
func (p *Provider) showLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	a, err := p.store.AuthRequestByID(r.Context(), id)
	if err != nil {
		http.Error(w, "This sign-in request is unknown or has expired: start again from the application.", http.StatusBadRequest)
		return
	}
	req := a.(*authRequest)
	now := p.store.now()
	if s, ok := p.currentSession(r, now); ok && !req.needsLogin(now, s.authTime) {
		p.finish(w, r, id, s)
		return
	}
	if req.promptNone() {
		op.AuthRequestError(w, r, req, oidc.ErrLoginRequired().WithDescription("the user must sign in"), p.op)
		return
	}
	p.renderLogin(w, r, http.StatusOK, loginView{ID: id, ClientID: req.clientID, Username: req.loginHint})
}

// submitLogin is POST /login: the form's answer.
func (p *Provider) submitLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, username := r.PostForm.Get("id"), r.PostForm.Get("username")
	a, err := p.store.AuthRequestByID(r.Context(), id)
	if err != nil {
		http.Error(w, "This sign-in request is unknown or has expired: start again from the application.", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		http.Error(w, "The form is stale or was not sent from this page: start again from the application.", http.StatusForbidden)
		return
	}
	view := loginView{ID: id, ClientID: a.GetClientID(), Username: username}
	u, err := p.users.authenticate(username, r.PostForm.Get("password"))
	switch {
	case errors.Is(err, ErrDisabled):
		view.Error = "This account is disabled."
	case err != nil:
		view.Error = "Wrong username or password."
	}
	if err != nil {
		p.logger.Info("sign-in refused", "username", username, "reason", view.Error)
		p.renderLogin(w, r, http.StatusUnauthorized, view)
		return
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		p.sessions.drop(old.Value)
	}
	s := session{subject: u.Subject, authTime: p.store.now()}
	http.SetCookie(w, p.cookie(sessionCookie, p.sessions.put(s), "/", http.SameSiteLaxMode))
	p.logger.Info("signed in", "username", u.Username, "client_id", a.GetClientID())
	p.finish(w, r, id, s)
}

// finish completes the sign-in and sends the browser to op's callback,
// which issues the code and redirects to the client.
func (p *Provider) finish(w http.ResponseWriter, r *http.Request, id string, s session) {
	if err := p.store.completeLogin(id, s.subject, s.authTime); err != nil {
		http.Error(w, "This sign-in request is unknown or has expired: start again from the application.", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(op.ContextWithIssuer(r.Context(), p.issuer), id), http.StatusFound)
}

func (p *Provider) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	v.CSRF = p.csrfToken(w, r)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	// No form-action: browsers apply it to the redirects after the post,
	// and those lead to the client.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := loginPage.Execute(w, v); err != nil {
		p.logger.Error("login page", "error", err)
	}
}

// csrfToken is the browser's CSRF token, made on its first visit.
func (p *Provider) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	t := randomID()
	http.SetCookie(w, p.cookie(csrfCookie, t, "/login", http.SameSiteStrictMode))
	return t
}

// currentSession is the browser's session at the provider, if it has one
// and its user may still sign in.
func (p *Provider) currentSession(r *http.Request, now time.Time) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	s, ok := p.sessions.get(c.Value, now)
	if !ok {
		return session{}, false
	}
	if _, err := p.users.active(s.subject); err != nil {
		return session{}, false
	}
	return s, true
}

// endSession signs the browser out of the provider, then lets op answer
// the end_session request (the redirect to the client, or /logged-out).
func (p *Provider) endSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err == nil {
			p.sessions.drop(c.Value)
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true})
		next.ServeHTTP(w, r)
	})
}

func (p *Provider) cookie(name, value, path string, site http.SameSite) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, SameSite: site,
		Secure: p.secure, MaxAge: int(sessionLifetime / time.Second)}
}

// loginURL is the login page of an auth request, where op sends the
// browser after /authorize.
func (p *Provider) loginURL(id string) string {
	return p.issuer + "/login?" + url.Values{"id": {id}}.Encode()
}
