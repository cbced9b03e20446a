package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Federation is sign-in through an OpenID provider, as the process that
// serves the portal provides it: the portal keeps the browser's side of
// the authorization code flow (state, nonce and PKCE verifier, the
// cookies), the Federation talks to the provider and to the users.
type Federation interface {
	// Name is the provider's name for the sign-in button.
	Name() string
	// CallbackPath is the path of the redirect URL registered at the
	// provider; the portal serves it.
	CallbackPath() string
	// Secure says whether the redirect URL uses https, so that the flow's
	// cookie is sent over TLS only.
	Secure() bool
	// AuthCodeURL is where the browser starts: the provider's
	// authorization endpoint with state, nonce and the S256 challenge of
	// verifier, and maxAge as OIDC's max_age when not nil (a login at
	// most that old, 0: a new one).
	AuthCodeURL(state, nonce, verifier string, maxAge *time.Duration) string
	// Finish exchanges code with verifier, verifies the ID token and its
	// nonce, signs the user in and starts a session, returning its id.
	// With maxAge, the token's auth_time must be at most that old. Its
	// errors wrap one of the ErrFederation* errors when the sign-in is
	// refused; any other error means it could not be checked.
	Finish(ctx context.Context, code, verifier, nonce, userAgent string, maxAge *time.Duration) (sessionID string, err error)
}

// Refusals of Federation.Finish.
var (
	// ErrFederationProvider: the provider refused the code or did not
	// answer as it should.
	ErrFederationProvider = errors.New("the provider did not complete the sign-in")
	// ErrFederationToken: the ID token failed verification (signature,
	// issuer, audience, expiry or nonce).
	ErrFederationToken = errors.New("the ID token is not valid")
	// ErrFederationDeactivated: the user is deactivated in Countersign.
	ErrFederationDeactivated = errors.New("the user is deactivated")
	// ErrFederationIdentityTaken: the username belongs to a user linked
	// to another identity.
	ErrFederationIdentityTaken = errors.New("the username belongs to another identity")
	// ErrFederationClaims: the ID token lacks what a sign-in needs.
	ErrFederationClaims = errors.New("the ID token's claims are unusable")
	// ErrFederationStale: a new login was asked for (max_age) and the
	// provider's answer does not show one (auth_time missing or older).
	ErrFederationStale = errors.New("the provider did not sign the user in again")
)

// flowCookie holds the browser's side of a sign-in at the provider. It is
// kept in the browser rather than server-side: it is bound to the browser
// that started the flow (a callback in any other browser fails the state
// check), needs no storage nor clean-up, and works behind any number of
// API replicas. HttpOnly, so scripts never see the PKCE verifier;
// SameSite=Lax, so it travels on the provider's top-level redirect back;
// scoped to the callback path, short-lived, and cleared at the callback
// so a callback is used once.
const flowCookie = "countersign_oidc"

// flowLifetime bounds the time between starting a sign-in and its
// callback.
const flowLifetime = 10 * 60 // seconds

type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r,omitempty"`
	// MaxAge, in seconds, is the age of login a step-up asked for. The
	// browser could change it, and gain nothing: what a decision is
	// judged by is the session's sign-in time, from the ID token.
	MaxAge *int64 `json:"m,omitempty"`
}

func (f flow) maxAge() *time.Duration {
	if f.MaxAge == nil {
		return nil
	}
	d := time.Duration(*f.MaxAge) * time.Second
	return &d
}

func randomValue() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (p *Portal) flowCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: flowCookie, Value: value, Path: p.cfg.Federation.CallbackPath(), MaxAge: maxAge,
		HttpOnly: true, Secure: p.cfg.Federation.Secure(), SameSite: http.SameSiteLaxMode}
}

// federatedSignIn starts the authorization code flow: a fresh state,
// nonce and PKCE verifier in the flow cookie, then the provider.
func (p *Portal) federatedSignIn(w http.ResponseWriter, r *http.Request) {
	p.startFlow(w, r, flow{Next: NextRoute(r.URL.Query().Get("next"))})
}

func (p *Portal) startFlow(w http.ResponseWriter, r *http.Request, f flow) {
	f.State, f.Nonce, f.Verifier = randomValue(), randomValue(), randomValue()
	b, err := json.Marshal(f)
	if err != nil {
		panic(err) // strings and numbers always marshal
	}
	http.SetCookie(w, p.flowCookie(base64.RawURLEncoding.EncodeToString(b), flowLifetime))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, p.cfg.Federation.AuthCodeURL(f.State, f.Nonce, f.Verifier, f.maxAge()), http.StatusFound)
}

// signInAgain is GET /ui/signin/again?within=15m&next=#/requests/7: the
// step-up a stage that requires a recent sign-in asks for. Through the
// provider with max_age (the provider asks for the password only when
// its own login is older); with tokens, the sign-in page. A within that
// does not read as a duration asks for a new login.
func (p *Portal) signInAgain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next := NextRoute(q.Get("next"))
	if p.cfg.Federation == nil {
		p.showSignIn(w, r, http.StatusOK, signInPage{StepUp: true, Next: next})
		return
	}
	var seconds int64
	if d, err := time.ParseDuration(q.Get("within")); err == nil && d > 0 && d <= maxStepUp {
		seconds = int64(d / time.Second)
	}
	p.startFlow(w, r, flow{Next: next, MaxAge: &seconds})
}

// maxStepUp bounds the age of login a step-up may ask for: longer is no
// step-up (a stage may require at most a day).
const maxStepUp = 24 * time.Hour

// federatedCallback finishes the flow the provider sends the browser back
// to: the state must be the flow cookie's, then Federation.Finish. Nothing
// of what the provider sent is echoed on the page.
func (p *Portal) federatedCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.SetCookie(w, p.flowCookie("", -1))
	f, ok := readFlow(r)
	q := r.URL.Query()
	state := q.Get("state")
	if !ok || state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1 {
		p.showSignIn(w, r, http.StatusBadRequest, signInPage{Error: "This sign-in was not started from this browser, or took too long. Sign in again."})
		return
	}
	if e := q.Get("error"); e != "" || q.Get("code") == "" {
		p.log.Warn("the identity provider refused a sign-in", "error", truncate(e, 64))
		p.showSignIn(w, r, http.StatusBadGateway, signInPage{Error: "The identity provider did not complete the sign-in. Try again.", Next: f.Next})
		return
	}
	id, err := p.cfg.Federation.Finish(r.Context(), q.Get("code"), f.Verifier, f.Nonce, r.UserAgent(), f.maxAge())
	if err != nil {
		status, msg := federationRefusal(err)
		p.log.Warn("a sign-in through the identity provider failed", "error", err)
		p.showSignIn(w, r, status, signInPage{Error: msg, Next: f.Next})
		return
	}
	p.startSession(w, r, id, f.Next)
}

func federationRefusal(err error) (int, string) {
	switch {
	case errors.Is(err, ErrFederationProvider):
		return http.StatusBadGateway, "The identity provider did not complete the sign-in. Try again."
	case errors.Is(err, ErrFederationToken):
		return http.StatusUnauthorized, "The identity provider's answer could not be verified. Sign in again."
	case errors.Is(err, ErrFederationDeactivated):
		return http.StatusForbidden, "Your Countersign account is deactivated. Ask an administrator."
	case errors.Is(err, ErrFederationIdentityTaken):
		return http.StatusConflict, "Your username belongs to another Countersign account. Ask an administrator to resolve it."
	case errors.Is(err, ErrFederationStale):
		return http.StatusUnauthorized, "The identity provider did not sign you in again, which this decision needs. Sign in again."
	case errors.Is(err, ErrFederationClaims):
		return http.StatusBadRequest, "The identity provider did not send what Countersign needs to sign you in. Ask an administrator."
	}
	return http.StatusServiceUnavailable, "Countersign cannot sign you in right now; try again shortly."
}

func readFlow(r *http.Request) (flow, bool) {
	c, err := r.Cookie(flowCookie)
	if err != nil || len(c.Value) > 1024 {
		return flow{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return flow{}, false
	}
	var f flow
	if json.Unmarshal(b, &f) != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		return flow{}, false
	}
	f.Next = NextRoute(f.Next)
	return f, true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
