package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/slackapp"
	"github.com/countersign/countersign/sso"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/web"
)

// mountPortal serves the web portal beside the API: "/" and everything
// under /ui/ and /static/. The portal signs users in with the API's own
// token check and keeps their sessions here, server-side; afterwards its
// pages call /api/v2/ with the session cookie.
func (s *Server) mountPortal(r *gin.Engine) {
	cfg := web.Config{SignIn: s.portalSignIn, Session: s.portalSession, SignOut: s.portalSignOut, Logger: s.log}
	if s.d.DevTokens {
		cfg.DevUsers = s.portalDevUsers
	}
	cfg.NoTokenSignIn = s.d.NoTokenSignIn
	if s.d.SlackLinks != nil {
		cfg.SlackLinks = slackLinks{s}
	}
	if s.d.MailLinkKey != nil && s.d.MailLinks != nil {
		cfg.MailLinks = mailLinks{s: s, key: s.d.MailLinkKey}
	}
	if s.d.OIDC != nil {
		cfg.Federation = federation{s: s, o: s.d.OIDC, p: sso.NewProvisioner(s.d.Store, s.requests, s.d.OIDC.mapping)}
	}
	h := gin.WrapH(web.New(cfg))
	if s.d.OIDC != nil {
		r.GET(s.d.OIDC.callback, h)
	}
	r.GET("/", h)
	r.HEAD("/", h)
	for _, prefix := range []string{"/ui/*path", "/static/*path"} {
		r.Any(prefix, h)
	}
}

// portalSignIn checks a token for the portal's sign-in and starts a
// session for its user, now: the moment they proved who they are.
func (s *Server) portalSignIn(ctx context.Context, token, userAgent string) (string, error) {
	u, _, err := s.userForToken(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return "", web.ErrBadToken
	}
	if err != nil {
		return "", err
	}
	id, _, err := s.d.Store.CreateSession(ctx, u.ID, userAgent, s.now(), s.d.SessionMaxLifetime)
	return id, err
}

// portalSession is the user of a live session, for the portal's shell.
func (s *Server) portalSession(ctx context.Context, id string) (web.User, error) {
	u, _, err := s.d.Store.AuthenticateSession(ctx, id, s.sessionLimits())
	if errors.Is(err, store.ErrNotFound) {
		return web.User{}, web.ErrNoSession
	}
	if err != nil {
		return web.User{}, err
	}
	return web.User{Username: u.Username, Name: fullName(u)}, nil
}

// portalSignOut revokes a session; one that is unknown or already ended
// has nothing left to revoke.
func (s *Server) portalSignOut(ctx context.Context, id string) error {
	return s.d.Store.RevokeSessionSecret(ctx, id)
}

// sessionLimits are the limits of portal sessions at this moment.
func (s *Server) sessionLimits() store.SessionLimits {
	return store.SessionLimits{Now: s.now(), Idle: s.d.SessionIdleTimeout}
}

// portalDevUsers are the active users, for the dev-mode sign-in picker.
func (s *Server) portalDevUsers(ctx context.Context) ([]web.User, error) {
	users, _, err := s.d.Store.ListUsers(ctx, store.UserFilter{}, store.ListOptions{PageSize: store.MaxPageSize, OrderBy: []string{"id"}})
	if err != nil {
		return nil, err
	}
	out := make([]web.User, 0, len(users))
	for _, u := range users {
		if u.IsActive {
			out = append(out, web.User{Username: u.Username, Name: fullName(u)})
		}
	}
	return out, nil
}

func fullName(u store.User) string {
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// credentials are the secret of a call: the bearer token of its
// Authorization header or, without that header, the session id of the
// portal's session cookie (fromCookie).
func credentials(c *gin.Context) (secret string, fromCookie, ok bool) {
	if authz := strings.TrimSpace(c.GetHeader("Authorization")); authz != "" {
		scheme, token, ok := strings.Cut(authz, " ")
		token = strings.TrimSpace(token)
		return token, false, ok && strings.EqualFold(scheme, "Bearer") && token != ""
	}
	secret, ok = web.SessionID(c.Request)
	return secret, true, ok
}

// csrfSafe reports whether a cookie-authenticated call may go ahead:
// reads always, anything else only with the CSRF header matching the CSRF
// cookie.
func csrfSafe(c *gin.Context) bool {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return web.CSRFValid(c.Request)
}

// SlackLinkStore is what the confirmation of the Slack app's one-time
// links needs of PostgreSQL.
type SlackLinkStore interface {
	SlackLinkToken(ctx context.Context, hash []byte, now time.Time) (string, error)
	UseSlackLinkToken(ctx context.Context, hash []byte, userID int64, now time.Time) (string, error)
}

// slackLinks confirms the Slack app's one-time links for the portal.
type slackLinks struct{ s *Server }

func (l slackLinks) Pending(ctx context.Context, t string) error {
	_, err := l.s.d.SlackLinks.SlackLinkToken(ctx, slackapp.HashLinkToken(t), l.s.now())
	if errors.Is(err, store.ErrNotFound) {
		return web.ErrNoLink
	}
	return err
}

func (l slackLinks) Confirm(ctx context.Context, sessionID, t string) error {
	u, _, err := l.s.d.Store.AuthenticateSession(ctx, sessionID, l.s.sessionLimits())
	if errors.Is(err, store.ErrNotFound) {
		return web.ErrNoSession
	}
	if err != nil {
		return err
	}
	slackID, err := l.s.d.SlackLinks.UseSlackLinkToken(ctx, slackapp.HashLinkToken(t), u.ID, l.s.now())
	if errors.Is(err, store.ErrNotFound) {
		return web.ErrNoLink
	}
	if err == nil {
		l.s.log.Info("Slack user linked by a one-time link", "slack_user", slackID, "user", u.Username)
	}
	return err
}
