package api

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

// Portal sessions start by signing in to the portal (package web) and end
// by signing out, by revocation here, by deactivating their user, or on
// their own (Deps.SessionIdleTimeout, SessionMaxLifetime). Only live ones
// are listed; their secret id is never shown, only the row's.
func (s *Server) sessionRoutes(r *gin.RouterGroup) {
	r.GET("/users/:id/sessions/", handle(s.listSessions))
	r.GET("/me/sessions/", handle(s.listSessions))
	r.DELETE("/sessions/:id/", revoke(access.Session, s.d.Store.GetSession, s.d.Store.RevokeSession,
		func(x store.Session) (int64, int64) { return x.ID, x.UserID }))
}

// Session is a live portal session.
type Session struct {
	Head
	User    int64     `json:"user"`
	Created time.Time `json:"created"`
	// LastSeen is when the session was last used, to the minute.
	LastSeen time.Time `json:"last_seen"`
	// Expires is when the session ends however used.
	Expires time.Time `json:"expires"`
	// AuthTime is when the user signed in to it.
	AuthTime  time.Time `json:"auth_time"`
	UserAgent string    `json:"user_agent"`
	// Current is the session of the call that lists it.
	Current       bool `json:"current"`
	SummaryFields struct {
		UserCapabilities access.DeleteCapabilities `json:"user_capabilities"`
	} `json:"summary_fields"`
}

func sessionView(p access.Principal, x store.Session, current int64) Session {
	v := Session{Head: head("session", "sessions", x.ID), User: x.UserID, Created: x.Created, LastSeen: x.LastSeen,
		Expires: x.Expires, AuthTime: x.AuthTime, UserAgent: x.UserAgent, Current: x.ID == current}
	v.SummaryFields.UserCapabilities = access.DeleteCapabilitiesOf(p, access.Object{Resource: access.Session, Owner: x.UserID})
	return v
}

// listSessions lists a user's live sessions: their own, or anyone's for a
// superuser.
func (s *Server) listSessions(c *gin.Context) error {
	u, err := s.credentialOwner(c, access.Session)
	if err != nil {
		return err
	}
	p, current := caller(c), currentSession(c)
	list := func(ctx context.Context, user int64, opts store.ListOptions) ([]store.Session, int, error) {
		return s.d.Store.ListSessions(ctx, user, s.sessionLimits(), opts)
	}
	return listOwned(c, u.ID, list, func(x store.Session) Session { return sessionView(p, x, current) })
}

// currentSession is the row id of the portal session the call came with,
// 0 for a bearer token.
func currentSession(c *gin.Context) int64 {
	return c.GetInt64(string(keySession))
}
