package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// OIDCSettings configure sign-in to the portal through an OpenID provider
// (authorization code flow) and what its ID tokens make of a user. All or
// nothing: with Issuer set, ClientID, ClientSecret and RedirectURL are
// required; without it, none of them may be set.
type OIDCSettings struct {
	// Issuer is the provider's issuer URL, where discovery starts.
	Issuer string
	// ClientID and ClientSecret are Countersign's registration at the
	// provider. ClientSecret is read from the environment only and never
	// logged.
	ClientID, ClientSecret string
	// RedirectURL is the portal's callback as registered at the provider.
	RedirectURL string
	// Scopes are asked for at sign-in; they include openid.
	Scopes []string
	// UsernameClaim and GroupsClaim name the ID token's claims giving the
	// username and the groups.
	UsernameClaim, GroupsClaim string
	// GroupMapFile is the JSON file mapping groups to organizations, teams
	// and roles (package sso); empty maps no group.
	GroupMapFile string
	// ProviderName is the provider's name on the portal's sign-in button
	// ("Sign in with <name>"): at most MaxProviderName characters, no
	// control characters. Empty: the issuer's host name.
	ProviderName string
	// PortalTokenSignIn is PORTAL_TOKEN_SIGNIN as given: nil when unset.
	// TokenSignIn says what it means.
	PortalTokenSignIn *bool
}

// TokenSignIn reports whether the portal offers sign-in with an API
// token: as PORTAL_TOKEN_SIGNIN says, else only without a provider, where
// it is the only way in. `countersign dev` always offers it.
func (o OIDCSettings) TokenSignIn() bool {
	if o.PortalTokenSignIn != nil {
		return *o.PortalTokenSignIn
	}
	return !o.Enabled()
}

func (o *OIDCSettings) setTokenSignIn(v string) error {
	if v == "" {
		o.PortalTokenSignIn = nil
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("use true or false")
	}
	o.PortalTokenSignIn = &b
	return nil
}

// MaxProviderName is the longest OIDC_PROVIDER_NAME, in characters: it
// has to fit on a button.
const MaxProviderName = 64

func (o *OIDCSettings) setProviderName(v string) error {
	v = strings.TrimSpace(v)
	if utf8.RuneCountInString(v) > MaxProviderName {
		return fmt.Errorf("at most %d characters", MaxProviderName)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 || !utf8.ValidString(v) {
		return errors.New("must be printable text")
	}
	o.ProviderName = v
	return nil
}

// OIDCCallbackPath is the path of the portal's callback in the redirect
// URL that Countersign's own tools register: `countersign dev` at its
// local provider, and `countersign dev-idp` by default. The API serves
// whatever path OIDC_REDIRECT_URL names; the README's examples use this one.
const OIDCCallbackPath = "/oidc/callback"

// Enabled reports whether sign-in through an OpenID provider is
// configured.
func (o OIDCSettings) Enabled() bool { return o.Issuer != "" }

// oidcSettings are the API's OIDC_* settings, storing into o.
func oidcSettings(o *OIDCSettings) []setting {
	return []setting{
		{"oidc-issuer", "OIDC_ISSUER", "OpenID provider's issuer URL (empty: no sign-in through a provider)", "", false, text(&o.Issuer)},
		{"oidc-client-id", "OIDC_CLIENT_ID", "client id registered at the OpenID provider", "", false, text(&o.ClientID)},
		// No flag: a secret stays out of process lists and shell history.
		{"", "OIDC_CLIENT_SECRET", "", "", false, text(&o.ClientSecret)},
		{"oidc-redirect-url", "OIDC_REDIRECT_URL", "the portal's callback URL as registered at the provider, e.g. https://countersign.example.com/oidc/callback", "", false, text(&o.RedirectURL)},
		{"oidc-scopes", "OIDC_SCOPES", "scopes asked for at sign-in, separated by spaces or commas; openid is required", "openid profile email", false, o.setScopes},
		{"oidc-username-claim", "OIDC_USERNAME_CLAIM", "ID token claim giving the username", "preferred_username", false, nonEmpty(&o.UsernameClaim)},
		{"oidc-groups-claim", "OIDC_GROUPS_CLAIM", "ID token claim listing the user's groups", "groups", false, nonEmpty(&o.GroupsClaim)},
		{"oidc-group-map", "OIDC_GROUP_MAP", "JSON file mapping provider groups to organizations, teams and roles", "", false, text(&o.GroupMapFile)},
		{"oidc-provider-name", "OIDC_PROVIDER_NAME", "the provider's name on the portal's sign-in button, \"Sign in with <name>\" (default: the issuer's host name)", "", false, o.setProviderName},
		{"portal-token-signin", "PORTAL_TOKEN_SIGNIN", "offer sign-in to the portal with an API token: true or false (default: true without OIDC_ISSUER, false with it)", "", false, o.setTokenSignIn},
	}
}

func nonEmpty(p *string) func(string) error {
	return func(v string) error {
		if v = strings.TrimSpace(v); v == "" {
			return errors.New("must not be empty")
		}
		*p = v
		return nil
	}
}

func (o *OIDCSettings) setScopes(v string) error {
	o.Scopes = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if !slices.Contains(o.Scopes, "openid") {
		return errors.New("must include openid")
	}
	return nil
}

// check judges the OIDC settings together. Errors never repeat the client
// secret.
func (o OIDCSettings) check() error {
	if !o.Enabled() && !o.TokenSignIn() {
		return errors.New("PORTAL_TOKEN_SIGNIN=false needs OIDC_ISSUER: otherwise nobody can sign in to the portal")
	}
	if !o.Enabled() {
		for _, s := range []struct{ name, value string }{
			{"OIDC_CLIENT_ID", o.ClientID}, {"OIDC_CLIENT_SECRET", o.ClientSecret},
			{"OIDC_REDIRECT_URL", o.RedirectURL}, {"OIDC_GROUP_MAP", o.GroupMapFile},
			{"OIDC_PROVIDER_NAME", o.ProviderName},
		} {
			if s.value != "" {
				return fmt.Errorf("%s is set but OIDC_ISSUER is not: set both, or neither", s.name)
			}
		}
		return nil
	}
	if err := checkProviderURL("OIDC_ISSUER", o.Issuer); err != nil {
		return err
	}
	var missing []string
	for _, s := range []struct{ name, value string }{
		{"OIDC_CLIENT_ID", o.ClientID}, {"OIDC_CLIENT_SECRET", o.ClientSecret}, {"OIDC_REDIRECT_URL", o.RedirectURL},
	} {
		if s.value == "" {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("OIDC_ISSUER is set, so %s %s required too", strings.Join(missing, ", "), map[bool]string{true: "is", false: "are"}[len(missing) == 1])
	}
	return checkProviderURL("OIDC_REDIRECT_URL", o.RedirectURL)
}

// checkProviderURL requires an absolute https URL, or http on this host
// (the local provider of `countersign dev`): codes and tokens must never
// cross a network in clear.
// Its errors show the URL without its user, query and fragment, where a
// password or token may hide, and nothing of a URL that does not parse.
func checkProviderURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s must be an absolute https URL", name)
	}
	shown := *u
	shown.User, shown.RawQuery, shown.ForceQuery, shown.Fragment, shown.RawFragment = nil, "", false, "", ""
	switch {
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("%s %q must be an absolute https URL", name, shown.String())
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return fmt.Errorf("%s %q must use https (http only on localhost or a loopback address)", name, shown.String())
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%s %q must have no user, query or fragment", name, shown.String())
	}
	return nil
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LogValue shows the OIDC settings without the client secret.
func (o OIDCSettings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", o.Issuer),
		slog.String("client_id", o.ClientID),
		slog.Bool("client_secret_set", o.ClientSecret != ""),
		slog.String("redirect_url", o.RedirectURL),
		slog.String("scopes", strings.Join(o.Scopes, " ")),
		slog.String("username_claim", o.UsernameClaim),
		slog.String("groups_claim", o.GroupsClaim),
		slog.String("group_map", o.GroupMapFile),
		slog.String("provider_name", o.ProviderName),
		slog.Bool("portal_token_signin", o.TokenSignIn()),
	)
}
