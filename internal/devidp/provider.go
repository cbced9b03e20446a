// Package devidp is a real OpenID Provider for development and tests: the
// authorization code flow with PKCE (S256, required), discovery, JWKS,
// token, userinfo, end_session and a plain HTML login page, built on
// zitadel/oidc's op package with users, clients and sessions in memory.
//
// ID tokens carry sub, preferred_username, name, given_name, family_name
// (scope profile), email (scope email), the groups claim (always; its name
// is configurable), nonce and auth_time. A browser signed in at the
// provider is let through without the form, unless the request asks for a
// recent login with max_age or prompt=login; prompt=none without a session
// answers login_required.
//
// Tests change a user's groups or disable a user while the provider runs
// (SetGroups, SetDisabled); what the next ID token says follows at once.
// SetIDTokenLifetime shortens the ID tokens' validity, down to tokens that
// have expired when issued, to test a relying party's expiry check.
// Passwords are compared as configured: never run it for real people.
package devidp

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// DefaultGroupsClaim is the claim that lists a user's groups, as Keycloak
// and Okta name it by default.
const DefaultGroupsClaim = "groups"

// Config configures a Provider.
type Config struct {
	// Issuer is the provider's URL as clients reach it, e.g.
	// http://127.0.0.1:5556; http is allowed (the provider serves
	// loopback), a path is not.
	Issuer  string
	Users   []User
	Clients []Client
	// GroupsClaim names the groups claim; empty is DefaultGroupsClaim.
	GroupsClaim string
	// Key signs ID tokens; nil generates one.
	Key *rsa.PrivateKey
	// Logger receives one line for each sign-in and refusal; nil logs
	// with slog's default logger.
	Logger *slog.Logger
	// Now is the provider's clock for logins (their auth_time, how old a
	// browser's login is for max_age); nil is time.Now. Tests move it to
	// make a login old.
	Now func() time.Time
}

// Provider is the OpenID Provider: an http.Handler serving the issuer's
// whole URL space.
type Provider struct {
	issuer   string
	secure   bool
	op       *op.Provider
	store    *storage
	users    *users
	sessions *sessions
	logger   *slog.Logger
	handler  http.Handler
}

// New builds a provider. It fails on an invalid issuer, a user without a
// username or password, a client without id, secret or redirect URI (or
// given twice), or a signing key shorter than 2048 bits. A provider
// without clients is valid: AddClient registers them later.
func New(cfg Config) (*Provider, error) {
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || (iss.Scheme != "http" && iss.Scheme != "https") || iss.Host == "" ||
		strings.TrimSuffix(iss.Path, "/") != "" || iss.RawQuery != "" || iss.Fragment != "" {
		return nil, fmt.Errorf("devidp: issuer %q must be http(s)://host[:port], without a path", cfg.Issuer)
	}
	u, err := newUsers(cfg.Users)
	if err != nil {
		return nil, err
	}
	rk := cfg.Key
	if rk == nil {
		if rk, err = GenerateKey(); err != nil {
			return nil, err
		}
	}
	key, err := newSigningKey(rk)
	if err != nil {
		return nil, err
	}
	claim := cfg.GroupsClaim
	if claim == "" {
		claim = DefaultGroupsClaim
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	p := &Provider{
		issuer: strings.TrimSuffix(cfg.Issuer, "/"), secure: iss.Scheme == "https",
		users: u, sessions: &sessions{m: map[string]session{}}, logger: logger,
	}
	p.store = newStorage(u, key, claim)
	if cfg.Now != nil {
		p.store.now = cfg.Now
	}
	p.store.loginURL = p.loginURL
	for _, c := range cfg.Clients {
		if err := p.store.addClient(c); err != nil {
			return nil, err
		}
	}

	// The key that encrypts opaque access tokens is new at every start:
	// tokens do not outlive the process, like everything else here.
	var crypto [32]byte
	if _, err := rand.Read(crypto[:]); err != nil {
		return nil, err
	}
	opts := []op.Option{}
	if !p.secure {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(&op.Config{
		CryptoKey:                crypto,
		DefaultLogoutRedirectURI: loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedScopes:          []string{"openid", "profile", "email", groupsScope},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "azp", "at_hash", "c_hash", "amr",
			"preferred_username", "name", "given_name", "family_name", "email", "email_verified", claim},
	}, p.store, op.StaticIssuer(p.issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", p.showLogin)
	mux.HandleFunc("POST /login", p.submitLogin)
	mux.Handle(p.op.EndSessionEndpoint().Relative(), p.endSession(p.op))
	mux.HandleFunc("GET "+loggedOutPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Signed out of the development provider.")
	})
	mux.Handle("/", p.op)
	p.handler = mux
	return p, nil
}

const loggedOutPath = "/logged-out"

// ServeHTTP serves the issuer's endpoints and the login page.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// Issuer is the issuer URL, without a trailing slash.
func (p *Provider) Issuer() string { return p.issuer }

// AddClient registers a client while the provider runs, for a test whose
// client's redirect URI is known only once the provider's issuer is.
func (p *Provider) AddClient(c Client) error { return p.store.addClient(c) }

// User is the user named username as the provider has it now.
func (p *Provider) User(username string) (User, error) {
	return p.users.lookup(username)
}

// SetGroups replaces a user's groups. The user's sessions at the provider
// stay: the next authorization request is let through without the form,
// and its ID token carries the new groups.
func (p *Provider) SetGroups(username string, groups ...string) error {
	_, err := p.users.update(username, func(u *User) { u.Groups = slices.Clone(groups) })
	return err
}

// SetIDTokenLifetime sets the validity of the ID tokens issued from now
// on (DefaultIDTokenLifetime until then). A lifetime of zero or less
// issues ID tokens that have already expired, whose only fault is their
// expiry: for testing that a relying party refuses them.
func (p *Provider) SetIDTokenLifetime(d time.Duration) { p.store.idTokenLifetime.Store(int64(d)) }

// SetDisabled disables a user (or enables one again). A disabled user
// cannot sign in, is signed out of the provider in every browser, and gets
// no ID token for a code already issued nor userinfo for a token.
func (p *Provider) SetDisabled(username string, disabled bool) error {
	u, err := p.users.update(username, func(u *User) { u.Disabled = disabled })
	if err == nil && disabled {
		p.sessions.dropSubject(u.Subject)
	}
	return err
}
