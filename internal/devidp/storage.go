package devidp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// How long the things the provider keeps stay valid.
const (
	// authRequestLifetime bounds the time from /authorize to the code's
	// exchange, login page included.
	authRequestLifetime = 10 * time.Minute
	accessTokenLifetime = time.Hour
)

var errNotFound = errors.New("devidp: not found")

// storage is op.Storage in memory: auth requests, their codes and access
// tokens live as long as the process; users and clients come from the
// configuration.
type storage struct {
	users       *users
	key         *signingKey
	groupsClaim string
	loginURL    func(string) string
	now         func() time.Time
	// idTokenLifetime is the validity of the ID tokens issued from now on.
	idTokenLifetime atomic.Int64

	mu           sync.Mutex
	clients      map[string]Client
	authRequests map[string]*authRequest
	codes        map[string]string // code → auth request id
	tokens       map[string]accessToken
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// authRequest is one sign-in in progress, from /authorize to the code's
// exchange.
type authRequest struct {
	id           string
	created      time.Time
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	prompt       []string
	loginHint    string
	// maxAge is nil when the client did not ask; op turns prompt=login
	// into a max_age of 0.
	maxAge    *time.Duration
	challenge *oidc.CodeChallenge

	subject  string
	authTime time.Time
	done     bool
	// redeemed is set when the code's tokens are issued: a code works once.
	redeemed bool
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string         { return a.id }
func (a *authRequest) GetACR() string        { return "" }
func (a *authRequest) GetAudience() []string { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.authTime
}
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }
func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

// needsLogin says whether a session authenticated at authTime is too old
// for this request (max_age, or prompt=login as max_age 0).
func (a *authRequest) needsLogin(now, authTime time.Time) bool {
	if a.maxAge == nil {
		return false
	}
	return *a.maxAge == 0 || now.Sub(authTime) > *a.maxAge
}

func (a *authRequest) promptNone() bool { return slices.Contains(a.prompt, oidc.PromptNone) }

// snapshot is a copy handed out of the lock: op reads it while the login
// page may complete the original.
func (a *authRequest) snapshot() *authRequest {
	c := *a
	c.scopes = slices.Clone(a.scopes)
	c.prompt = slices.Clone(a.prompt)
	return &c
}

type accessToken struct {
	subject, clientID string
	scopes            []string
	expires           time.Time
}

func newStorage(u *users, key *signingKey, groupsClaim string) *storage {
	s := &storage{
		users: u, clients: map[string]Client{}, key: key, groupsClaim: groupsClaim, now: time.Now,
		authRequests: map[string]*authRequest{}, codes: map[string]string{}, tokens: map[string]accessToken{},
	}
	s.idTokenLifetime.Store(int64(DefaultIDTokenLifetime))
	return s
}

// CreateAuthRequest stores a validated authorization request. PKCE with
// S256 is required of every client: the portal must never exchange a code
// without it, and a provider that insists catches a relying party that
// forgot.
func (s *storage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if r.CodeChallenge == "" || r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send a code_challenge with code_challenge_method S256")
	}
	if !slices.Contains(r.Scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	a := &authRequest{
		id: randomID(), created: s.now(), clientID: r.ClientID, redirectURI: r.RedirectURI,
		state: r.State, nonce: r.Nonce, scopes: slices.Clone(r.Scopes),
		responseType: r.ResponseType, responseMode: r.ResponseMode,
		prompt: slices.Clone(r.Prompt), loginHint: r.LoginHint,
		challenge: &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod},
	}
	if r.MaxAge != nil {
		d := time.Duration(*r.MaxAge) * time.Second
		a.maxAge = &d
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpiredLocked()
	s.authRequests[a.id] = a
	return a.snapshot(), nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.authRequestLocked(id)
	if err != nil {
		return nil, err
	}
	return a.snapshot(), nil
}

// AuthRequestByCode finds the sign-in of a code. The code stays valid
// until CreateAccessToken redeems it, so that a request refused for a
// wrong client secret or PKCE verifier does not burn it for the client.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, errors.New("devidp: unknown or used code")
	}
	a, err := s.authRequestLocked(id)
	if err != nil {
		return nil, err
	}
	if !a.done || a.redeemed {
		return nil, errors.New("devidp: code of an unfinished or redeemed sign-in")
	}
	return a.snapshot(), nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.authRequestLocked(id); err != nil {
		return err
	}
	s.codes[code] = id
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteAuthRequestLocked(id)
	return nil
}

func (s *storage) authRequestLocked(id string) (*authRequest, error) {
	a, ok := s.authRequests[id]
	if !ok || s.now().Sub(a.created) > authRequestLifetime {
		return nil, fmt.Errorf("%w: sign-in request %q (unknown or expired)", errNotFound, id)
	}
	return a, nil
}

func (s *storage) deleteAuthRequestLocked(id string) {
	delete(s.authRequests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
}

// dropExpiredLocked forgets abandoned sign-ins and old tokens, so a
// long-running provider does not grow.
func (s *storage) dropExpiredLocked() {
	now := s.now()
	for id, a := range s.authRequests {
		if now.Sub(a.created) > authRequestLifetime {
			s.deleteAuthRequestLocked(id)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, id)
		}
	}
}

// completeLogin marks a sign-in done by subject, authenticated at
// authTime; the code is issued on the callback.
func (s *storage) completeLogin(id, subject string, authTime time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.authRequestLocked(id)
	if err != nil {
		return err
	}
	a.subject, a.authTime, a.done = subject, authTime, true
	return nil
}

// CreateAccessToken is the first step of issuing a code's tokens: it
// redeems the code, under the lock, so that of two exchanges of one code
// racing each other only one gets tokens.
func (s *storage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	if _, err := s.users.active(r.GetSubject()); err != nil {
		return "", time.Time{}, oidc.ErrAccessDenied().WithParent(err)
	}
	id, exp := randomID(), s.now().Add(accessTokenLifetime)
	var clientID string
	s.mu.Lock()
	defer s.mu.Unlock()
	if req, ok := r.(*authRequest); ok {
		a, err := s.authRequestLocked(req.id)
		if err != nil || a.redeemed {
			return "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the code was used already")
		}
		a.redeemed = true
		clientID = a.clientID
	}
	s.tokens[id] = accessToken{subject: r.GetSubject(), clientID: clientID, scopes: slices.Clone(r.GetScopes()), expires: exp}
	return id, exp, nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession has nothing to do: the end_session handler
// (Provider.endSession) ends the browser's session at the provider, which
// is the only state a sign-out concerns; access tokens expire on their own.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tokenOrID]; ok && t.clientID == clientID {
		delete(s.tokens, tokenOrID)
	}
	return nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

func (s *storage) client(id string) (Client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	return c, ok
}

// addClient registers a client, or fails if its id is taken.
func (s *storage) addClient(c Client) error {
	if err := c.validate(); err != nil {
		return err
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return fmt.Errorf("devidp: client %q given twice", c.ID)
	}
	s.clients[c.ID] = c
	return nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.client(id)
	if !ok {
		return nil, fmt.Errorf("%w: client %q", errNotFound, id)
	}
	return opClient{Client: c, loginURL: s.loginURL, idTokenLifetime: time.Duration(s.idTokenLifetime.Load())}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.client(id)
	if !ok || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return errors.New("devidp: wrong client id or secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest does
// the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims from the user as the
// directory has them now: a group changed since the last sign-in shows
// in the next token. A user disabled since signing in gets no token.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.fillUserinfo(info, r.GetSubject(), scopes)
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.token(tokenID, subject)
	if err != nil {
		return err
	}
	return s.fillUserinfo(info, subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.token(tokenID, subject)
	if err != nil || t.clientID != clientID {
		return errors.New("devidp: token not active")
	}
	info := new(oidc.UserInfo)
	if err := s.fillUserinfo(info, subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Active, resp.Scope, resp.ClientID = true, t.scopes, t.clientID
	resp.Expiration = oidc.FromTime(t.expires)
	return nil
}

func (s *storage) token(id, subject string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || t.subject != subject || s.now().After(t.expires) {
		return accessToken{}, errors.New("devidp: access token unknown or expired")
	}
	return t, nil
}

func (s *storage) fillUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, err := s.users.active(subject)
	if err != nil {
		return oidc.ErrAccessDenied().WithParent(err)
	}
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername = u.Username
		info.Name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
		info.GivenName, info.FamilyName = u.GivenName, u.FamilyName
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != "" {
		info.Email, info.EmailVerified = u.Email, true
	}
	groups := u.Groups
	if groups == nil {
		groups = []string{} // an empty claim says "no groups", not "unknown"
	}
	info.AppendClaims(s.groupsClaim, groups)
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("devidp: JWT client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("devidp: the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// randomID is an unguessable identifier: auth request ids travel in URLs,
// session ids in cookies.
func randomID() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
