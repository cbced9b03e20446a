package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

// devTokenPrefix marks the demo tokens of `countersign dev`.
const devTokenPrefix = "dev-"

// authenticate resolves the bearer token into a Principal, or answers 401
// as AWX does. Tokens are looked up by hash; a token's last-used time is
// written at most once a minute. Without an Authorization header, the
// portal's session cookie authenticates instead (its session must be live;
// a token is never accepted as a cookie); a call that changes something
// then needs the CSRF header too (403 otherwise).
func (s *Server) authenticate(c *gin.Context) { s.authenticateCaller(c, true) }

// authenticateForCodec authenticates codec calls without the CSRF check:
// they change nothing, and only CODEC_ORIGINS may read their answers, so
// the Temporal Web UI may call them with the portal's session.
func (s *Server) authenticateForCodec(c *gin.Context) { s.authenticateCaller(c, false) }

func (s *Server) authenticateCaller(c *gin.Context, checkCSRF bool) {
	secret, fromCookie, ok := credentials(c)
	if !ok {
		s.unauthorized(c)
		return
	}
	var (
		user  store.User
		roles *store.Roles
		err   error
	)
	if fromCookie {
		var session store.Session
		user, session, err = s.d.Store.AuthenticateSession(c.Request.Context(), secret, s.sessionLimits())
		if err == nil {
			c.Set(string(keySession), session.ID)
			c.Set(string(keySignedIn), session.AuthTime)
		}
	} else {
		user, roles, err = s.userForToken(c.Request.Context(), secret)
	}
	if errors.Is(err, store.ErrNotFound) {
		s.unauthorized(c)
		return
	}
	if err != nil {
		abort(c, err)
		return
	}
	if fromCookie && checkCSRF && !csrfSafe(c) {
		abort(c, refuse(csrfFailed, "CSRF token missing or incorrect."))
		return
	}
	if roles == nil {
		r, err := s.d.Store.UserRoles(c.Request.Context(), user.ID)
		if err != nil {
			abort(c, err)
			return
		}
		roles = &r
	}
	c.Set(string(keyPrincipal), requests.PrincipalOf(user, *roles))
	c.Set(string(keyRoles), *roles)
	channel := proof.ChannelAPI
	if fromCookie {
		channel = proof.ChannelPortal
	}
	c.Set(string(keyChannel), channel)
	c.Next()
}

// channelOf is how the caller reached the API: "portal" with the portal's
// session, "api" with a bearer token. Decisions record it.
func channelOf(c *gin.Context) string {
	if v, ok := c.Get(string(keyChannel)); ok {
		if ch, ok := v.(string); ok {
			return ch
		}
	}
	return proof.ChannelAPI
}

// userForToken is the user a bearer token stands for, with their roles
// when the token's lookup read them (API tokens; not dev tokens).
func (s *Server) userForToken(ctx context.Context, token string) (store.User, *store.Roles, error) {
	if name, ok := strings.CutPrefix(token, devTokenPrefix); ok && s.d.DevTokens {
		u, err := s.d.Store.GetUserByUsername(ctx, name)
		if err == nil && !u.IsActive {
			return u, nil, store.ErrNotFound
		}
		return u, nil, err
	}
	user, tok, roles, err := s.d.Store.AuthenticateToken(ctx, token)
	if err != nil {
		return user, nil, err
	}
	if tok.LastUsed == nil || time.Since(*tok.LastUsed) > time.Minute {
		if err := s.d.Store.TouchToken(ctx, tok.ID, time.Now()); err != nil {
			s.log.Warn("recording a token's use failed", "token_id", tok.ID, "error", err)
		}
	}
	return user, &roles, nil
}

func (s *Server) unauthorized(c *gin.Context) {
	abort(c, refuse(notAuthenticated, "Authentication credentials were not provided or are not valid."))
}

func principalOf(c *gin.Context) (access.Principal, bool) {
	v, ok := c.Get(string(keyPrincipal))
	if !ok {
		return access.Principal{}, false
	}
	p, ok := v.(access.Principal)
	return p, ok
}

// caller is the authenticated principal; routes behind authenticate always
// have one.
func caller(c *gin.Context) access.Principal {
	p, _ := principalOf(c)
	return p
}

// callerRoles are the caller's roles, as loaded when the call was
// authenticated.
func callerRoles(c *gin.Context) store.Roles {
	r, _ := c.Get(string(keyRoles))
	roles, _ := r.(store.Roles)
	return roles
}

// nonNilIDs keeps "no organizations" from meaning "no restriction".
func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// actor is the caller as the request service knows them.
func actor(c *gin.Context) requests.Actor {
	a := requests.Actor{Principal: caller(c), Teams: callerRoles(c).Teams, Channel: channelOf(c)}
	if t, ok := c.Get(string(keySignedIn)); ok {
		if at, ok := t.(time.Time); ok {
			a.SignedInAt = &at
		}
	}
	return a
}
