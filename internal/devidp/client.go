package devidp

import (
	"fmt"
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Client is a registered relying party: a confidential web application
// that uses the authorization code flow with PKCE.
type Client struct {
	ID     string
	Secret string
	// RedirectURIs are compared exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs may follow a sign-out at the end_session
	// endpoint.
	PostLogoutRedirectURIs []string
}

func (c Client) validate() error {
	if c.ID == "" || c.Secret == "" {
		return fmt.Errorf("devidp: client %q needs an id and a secret", c.ID)
	}
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("devidp: client %q needs a redirect URI", c.ID)
	}
	for _, r := range append(append([]string{}, c.RedirectURIs...), c.PostLogoutRedirectURIs...) {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			return fmt.Errorf("devidp: client %q: redirect URI %q must be an absolute http(s) URL without a fragment", c.ID, r)
		}
	}
	return nil
}

// groupsScope may be asked for (some relying parties must, for Okta's
// sake); the groups claim is given either way.
const groupsScope = "groups"

// DefaultIDTokenLifetime is short, as a relying party keeps its own
// session.
const DefaultIDTokenLifetime = 10 * time.Minute

// opClient is a Client as op sees it.
type opClient struct {
	Client
	loginURL        func(authRequestID string) string
	idTokenLifetime time.Duration
}

var _ op.Client = opClient{}

func (c opClient) GetID() string                    { return c.ID }
func (c opClient) RedirectURIs() []string           { return c.Client.RedirectURIs }
func (c opClient) PostLogoutRedirectURIs() []string { return c.Client.PostLogoutRedirectURIs }
func (c opClient) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c opClient) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }
func (c opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c opClient) GrantTypes() []oidc.GrantType        { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c opClient) LoginURL(id string) string           { return c.loginURL(id) }
func (c opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c opClient) IDTokenLifetime() time.Duration      { return c.idTokenLifetime }
func (c opClient) DevMode() bool                       { return false }
func (c opClient) IsScopeAllowed(scope string) bool    { return scope == groupsScope }

// IDTokenUserinfoClaimsAssertion puts names and e-mail in the ID token
// even with an access token, as Keycloak and Entra ID do: the portal reads
// the ID token and calls no userinfo.
func (c opClient) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c opClient) ClockSkew() time.Duration { return 0 }
func (c opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
