package api

import (
	"context"
	"log/slog"
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

// RunSessionCleanup deletes the portal sessions that have ended (revoked,
// expired, or idle past Deps.SessionIdleTimeout) right away, then every
// Deps.SessionCleanupInterval, until ctx is canceled; it returns once the
// sweep under way has stopped. Without it the sessions table only grows.
// It needs Deps.Store. Every API replica may run it: each sweep deletes in batches of
// Deps.SessionCleanupBatch rows, so none holds the table for long, and a
// row another replica deletes first is simply no longer there. A sweep
// that fails is logged and the next one tries again.
func (s *Server) RunSessionCleanup(ctx context.Context) {
	t := time.NewTicker(s.d.SessionCleanupInterval)
	defer t.Stop()
	for {
		s.cleanUpSessions(ctx)
		s.cleanUpMailLinks(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// cleanUpMailLinks deletes the uses of mail links that expired: an
// expired link is refused before its use is looked up.
func (s *Server) cleanUpMailLinks(ctx context.Context) {
	if s.d.MailLinks == nil {
		return
	}
	n, err := s.d.MailLinks.DeleteExpiredMailLinks(ctx, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("deleting the uses of expired mail links failed", "error", err)
		}
		return
	}
	if n > 0 {
		s.log.Info("deleted the uses of expired mail links", "deleted", n)
	}
}

// cleanUpSessions deletes every session ended by now, batch by batch.
func (s *Server) cleanUpSessions(ctx context.Context) {
	lim := s.sessionLimits()
	deleted := 0
	for ctx.Err() == nil {
		n, err := s.d.Store.DeleteEndedSessions(ctx, lim, s.d.SessionCleanupBatch)
		deleted += n
		s.sessionsDeleted.Add(float64(n))
		if err != nil {
			// A sweep cut short by the stop is no failure.
			if ctx.Err() == nil {
				s.log.Warn("deleting ended portal sessions failed", "deleted", deleted, "error", err)
			}
			return
		}
		if n < s.d.SessionCleanupBatch {
			break
		}
	}
	level := slog.LevelDebug
	if deleted > 0 {
		level = slog.LevelInfo
	}
	s.log.Log(ctx, level, "deleted ended portal sessions", "deleted", deleted)
}
