package storefake

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/countersign/countersign/store"
)

// sessionRow is a session as stored: the session and the hash of its id.
type sessionRow struct {
	store.Session
	hash [sha256.Size]byte
}

func cloneSession(x store.Session) store.Session {
	x.RevokedAt = clonePtr(x.RevokedAt)
	return x
}

var sessionSort = sortFields[store.Session]{
	{name: "id", cmp: byValue(func(x store.Session) int64 { return x.ID })},
	{name: "created", cmp: byTime(func(x store.Session) time.Time { return x.Created })},
	{name: "last_seen", cmp: byTime(func(x store.Session) time.Time { return x.LastSeen })},
	{name: "expires", cmp: byTime(func(x store.Session) time.Time { return x.Expires })},
}

// live is whether a session is still usable under lim, its user aside.
func live(x store.Session, lim store.SessionLimits) bool {
	now := micro(lim.Now)
	return x.RevokedAt == nil && x.Expires.After(now) && x.LastSeen.After(micro(lim.Now.Add(-lim.Idle)))
}

// CreateSession is store.Store.CreateSession.
func (s *Store) CreateSession(ctx context.Context, userID int64, userAgent string, now time.Time, lifetime time.Duration) (string, store.Session, error) {
	return s.createSession(ctx, "CreateSession", userID, userAgent, now, now, lifetime)
}

// CreateSessionAuthenticated is store.Store.CreateSessionAuthenticated.
func (s *Store) CreateSessionAuthenticated(ctx context.Context, userID int64, userAgent string, now, authTime time.Time, lifetime time.Duration) (string, store.Session, error) {
	return s.createSession(ctx, "CreateSessionAuthenticated", userID, userAgent, now, authTime, lifetime)
}

func (s *Store) createSession(ctx context.Context, method string, userID int64, userAgent string, now, authTime time.Time, lifetime time.Duration) (string, store.Session, error) {
	const op = "create session"
	defer s.mu.Unlock()
	if err := s.begin(ctx, method, op); err != nil {
		return "", store.Session{}, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", store.Session{}, fmt.Errorf("store: %s: %w", op, err)
	}
	plain := base64.RawURLEncoding.EncodeToString(secret)
	id := s.next("sessions")
	if _, ok := s.users[userID]; !ok {
		return "", store.Session{}, fail(op, store.ErrInvalidReference, "sessions_user_id_fkey")
	}
	at := micro(now)
	if authTime.After(now) {
		authTime = now
	}
	x := &sessionRow{
		Session: store.Session{ID: id, UserID: userID, Created: at, LastSeen: at, Expires: micro(now.Add(lifetime)),
			AuthTime: micro(authTime), UserAgent: store.TruncateUserAgent(userAgent)},
		hash: sha256.Sum256([]byte(plain)),
	}
	s.sessions[id] = x
	return plain, cloneSession(x.Session), nil
}

// AuthenticateSession is store.Store.AuthenticateSession.
func (s *Store) AuthenticateSession(ctx context.Context, plain string, lim store.SessionLimits) (store.User, store.Session, error) {
	const op = "authenticate session"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "AuthenticateSession", op); err != nil {
		return store.User{}, store.Session{}, err
	}
	hash := sha256.Sum256([]byte(plain))
	for _, x := range s.sessions {
		if x.hash != hash || !live(x.Session, lim) || !s.users[x.UserID].IsActive {
			continue
		}
		now := micro(lim.Now)
		if x.LastSeen.Before(now.Add(-time.Minute)) {
			x.LastSeen = now
		}
		return *s.users[x.UserID], cloneSession(x.Session), nil
	}
	return store.User{}, store.Session{}, notFound(op)
}

// GetSession is store.Store.GetSession.
func (s *Store) GetSession(ctx context.Context, id int64) (store.Session, error) {
	const op = "get session"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetSession", op); err != nil {
		return store.Session{}, err
	}
	x, ok := s.sessions[id]
	if !ok {
		return store.Session{}, notFound(op)
	}
	return cloneSession(x.Session), nil
}

// ListSessions is store.Store.ListSessions.
func (s *Store) ListSessions(ctx context.Context, userID int64, lim store.SessionLimits, opts store.ListOptions) ([]store.Session, int, error) {
	const op = "list sessions"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListSessions", op); err != nil {
		return nil, 0, err
	}
	var rows []store.Session
	for _, x := range s.sessions {
		if x.UserID == userID && live(x.Session, lim) {
			rows = append(rows, cloneSession(x.Session))
		}
	}
	out, total, err := page(op, rows, sessionSort, opts)
	if err != nil {
		return nil, 0, err
	}
	if _, ok := s.users[userID]; !ok {
		return nil, 0, notFound(op)
	}
	return out, total, nil
}

// RevokeSession is store.Store.RevokeSession.
func (s *Store) RevokeSession(ctx context.Context, id int64) error {
	const op = "revoke session"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "RevokeSession", op); err != nil {
		return err
	}
	x, ok := s.sessions[id]
	if !ok {
		return notFound(op)
	}
	if x.RevokedAt == nil {
		now := s.now()
		x.RevokedAt = &now
	}
	return nil
}

// RevokeSessionSecret is store.Store.RevokeSessionSecret.
func (s *Store) RevokeSessionSecret(ctx context.Context, plain string) error {
	defer s.mu.Unlock()
	if err := s.begin(ctx, "RevokeSessionSecret", "revoke session"); err != nil {
		return err
	}
	hash := sha256.Sum256([]byte(plain))
	for _, x := range s.sessions {
		if x.hash == hash && x.RevokedAt == nil {
			now := s.now()
			x.RevokedAt = &now
		}
	}
	return nil
}

// RevokeUserSessions is store.Store.RevokeUserSessions.
func (s *Store) RevokeUserSessions(ctx context.Context, userID int64) error {
	defer s.mu.Unlock()
	if err := s.begin(ctx, "RevokeUserSessions", "revoke user sessions"); err != nil {
		return err
	}
	now := s.now()
	for _, x := range s.sessions {
		if x.UserID == userID && x.RevokedAt == nil {
			x.RevokedAt = &now
		}
	}
	return nil
}

// DeleteEndedSessions is store.Store.DeleteEndedSessions.
func (s *Store) DeleteEndedSessions(ctx context.Context, lim store.SessionLimits, batch int) (int, error) {
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DeleteEndedSessions", "delete ended sessions"); err != nil {
		return 0, err
	}
	var ended []int64
	for id, x := range s.sessions {
		if !live(x.Session, lim) {
			ended = append(ended, id)
		}
	}
	slices.Sort(ended)
	ended = ended[:min(len(ended), max(batch, 0))]
	for _, id := range ended {
		delete(s.sessions, id)
	}
	return len(ended), nil
}
