package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/countersign/countersign/sso"
	"github.com/countersign/countersign/web"
)

// OIDCConfig is sign-in through an OpenID provider (config.OIDCSettings
// with the group map loaded).
type OIDCConfig struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
	Scopes                                      []string
	UsernameClaim, GroupsClaim                  string
	GroupMap                                    sso.GroupMap
	// ProviderName is the provider's name on the portal's sign-in
	// button; empty: the issuer's host name.
	ProviderName string
}

// redacted is a client secret as logs and messages show it.
const redacted = "[redacted]"

// String shows the configuration without its client secret, however it is
// printed.
func (c OIDCConfig) String() string {
	if c.ClientSecret != "" {
		c.ClientSecret = redacted
	}
	type plain OIDCConfig // without this method
	return fmt.Sprintf("%+v", plain(c))
}

// GoString is String, for %#v.
func (c OIDCConfig) GoString() string { return c.String() }

// LogValue shows the configuration without its client secret.
func (c OIDCConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// OIDC is an OpenID provider discovered and a group map resolved, ready
// for Deps.OIDC.
type OIDC struct {
	cfg      OIDCConfig
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
	mapping  *sso.Mapping
	callback string
	secure   bool
	client   *http.Client
	// name is the provider's name on the sign-in button (federation.Name).
	name string
}

// providerTimeout bounds each call to the provider: discovery, key
// fetches, code exchanges.
const providerTimeout = 10 * time.Second

// pathChars are those a callback path may hold: the routers would read
// others (":", "*", "{") as patterns.
const pathChars = "/-_.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// reservedPaths are served by the API and the portal; the callback may
// not be one of them.
var reservedPaths = []string{"/api/", "/static/", "/metrics", "/ui/"}

// DiscoverOIDC reads the provider's discovery document and resolves the
// group map against dir, once, at start: a mistyped issuer, a provider
// out of reach or a group map naming an unknown team stops the start with
// a clear error rather than failing every sign-in later. Signing keys are
// fetched when first needed and again when the provider rotates them.
func DiscoverOIDC(ctx context.Context, cfg OIDCConfig, dir sso.Directory) (*OIDC, error) {
	redirect, err := url.Parse(cfg.RedirectURL)
	if err != nil || redirect.Path == "" || redirect.Path == "/" || strings.Trim(redirect.Path, pathChars) != "" {
		return nil, fmt.Errorf("OIDC_REDIRECT_URL %q needs a plain path of its own, e.g. /oidc/callback", cfg.RedirectURL)
	}
	for _, p := range reservedPaths {
		if strings.HasPrefix(redirect.Path+"/", p) {
			return nil, fmt.Errorf("OIDC_REDIRECT_URL's path %q is taken by Countersign; use e.g. /oidc/callback", redirect.Path)
		}
	}
	mapping, err := cfg.GroupMap.Resolve(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("OIDC_GROUP_MAP: %w", err)
	}
	client := &http.Client{Timeout: providerTimeout}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), providerTimeout)
	defer cancel()
	provider, err := oidc.NewProvider(dctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC_ISSUER %s: discovery failed: %w", cfg.Issuer, err)
	}
	return &OIDC{
		cfg: cfg, mapping: mapping, callback: redirect.Path, secure: redirect.Scheme == "https", client: client, name: providerName(cfg),
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: provider.Endpoint(), Scopes: cfg.Scopes},
	}, nil
}

// federation is the API's side of sign-in through the provider
// (web.Federation).
type federation struct {
	s *Server
	o *OIDC
	p *sso.Provisioner
}

func (f federation) Name() string { return f.o.name }

// providerName is OIDC_PROVIDER_NAME when set, else the issuer's host
// name, which at least tells the user where they are sent.
func providerName(cfg OIDCConfig) string {
	if cfg.ProviderName != "" {
		return cfg.ProviderName
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil {
		return "your identity provider"
	}
	return u.Hostname()
}

func (f federation) CallbackPath() string { return f.o.callback }
func (f federation) Secure() bool         { return f.o.secure }

func (f federation) AuthCodeURL(state, nonce, verifier string, maxAge *time.Duration) string {
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if maxAge != nil {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(int64(*maxAge/time.Second), 10)))
	}
	return f.o.oauth.AuthCodeURL(state, opts...)
}

// Finish trades the code for tokens, verifies the ID token (signature,
// issuer, audience, expiry, nonce), signs the user in through the group
// map and starts a session dated from the provider's login (auth_time).
// A step-up (maxAge) needs an auth_time at most that old: a provider
// that ignored max_age must not pass an old login off as a new one.
func (f federation) Finish(ctx context.Context, code, verifier, nonce, userAgent string, maxAge *time.Duration) (string, error) {
	ctx = oidc.ClientContext(ctx, f.o.client)
	tok, err := f.o.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("%w: code exchange: %w", web.ErrFederationProvider, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", fmt.Errorf("%w: no ID token in the token response", web.ErrFederationProvider)
	}
	idt, err := f.o.verifier.Verify(ctx, raw)
	if err != nil {
		return "", fmt.Errorf("%w: %w", web.ErrFederationToken, err)
	}
	if idt.Nonce == "" || idt.Nonce != nonce {
		return "", fmt.Errorf("%w: the nonce does not match", web.ErrFederationToken)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", fmt.Errorf("%w: %w", web.ErrFederationToken, err)
	}
	now := f.s.now()
	if maxAge != nil && !loggedInWithin(claims, *maxAge, now) {
		return "", fmt.Errorf("%w: auth_time is missing or older than the %s asked for", web.ErrFederationStale, *maxAge)
	}
	c, err := sso.ClaimsFrom(claims, f.o.cfg.UsernameClaim, f.o.cfg.GroupsClaim)
	if err != nil {
		return "", federationError(err)
	}
	res, err := f.p.SignIn(ctx, c)
	if err != nil {
		return "", federationError(err)
	}
	id, _, err := f.s.d.Store.CreateSessionAuthenticated(ctx, res.User.ID, userAgent, now, authTimeOf(claims, now), f.s.d.SessionMaxLifetime)
	return id, err
}

// authTimeOf is when the provider last authenticated the user (the ID
// token's auth_time), or now when the token does not say or says a time
// still to come: a sign-in never counts as fresher than it is.
func authTimeOf(claims map[string]any, now time.Time) time.Time {
	if t, ok := claimedAuthTime(claims); ok && t.Before(now) {
		return t
	}
	return now
}

// claimedAuthTime is the ID token's auth_time, if it has a usable one.
func claimedAuthTime(claims map[string]any) (time.Time, bool) {
	at, ok := claims["auth_time"].(float64)
	if !ok || at <= 0 {
		return time.Time{}, false
	}
	return time.Unix(int64(at), 0), true
}

// stepUpSkew is how far the provider's clock may be behind ours before a
// login it just made looks older than a step-up allows.
const stepUpSkew = time.Minute

// loggedInWithin reports whether the ID token's auth_time is at most
// maxAge old at now.
func loggedInWithin(claims map[string]any, maxAge time.Duration, now time.Time) bool {
	t, ok := claimedAuthTime(claims)
	return ok && now.Sub(t) <= maxAge+stepUpSkew
}

// federationError turns the refusals of sso into the portal's.
func federationError(err error) error {
	switch {
	case errors.Is(err, sso.ErrDeactivated):
		return fmt.Errorf("%w: %w", web.ErrFederationDeactivated, err)
	case errors.Is(err, sso.ErrIdentityTaken):
		return fmt.Errorf("%w: %w", web.ErrFederationIdentityTaken, err)
	case errors.Is(err, sso.ErrInvalidClaims):
		return fmt.Errorf("%w: %w", web.ErrFederationClaims, err)
	}
	return err
}
