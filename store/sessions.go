package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// sessionIDBytes is the randomness of a session id: 256 bits, so ids can
// neither be guessed nor enumerated.
const sessionIDBytes = 32

// MaxUserAgent is how much of a browser's User-Agent a session keeps, in
// bytes (the schema allows as many characters).
const MaxUserAgent = 256

// Session is a portal session as stored: never its id as the cookie holds
// it, only the row's own ID.
type Session struct {
	ID       int64     `db:"id"`
	UserID   int64     `db:"user_id"`
	Created  time.Time `db:"created"`
	LastSeen time.Time `db:"last_seen"`
	// Expires is the absolute end of the session, however active.
	Expires time.Time `db:"expires"`
	// AuthTime is when the user last signed in to this session.
	AuthTime  time.Time  `db:"auth_time"`
	RevokedAt *time.Time `db:"revoked_at"`
	UserAgent string     `db:"user_agent"`
}

// SessionLimits say when a session ends on its own, at Now: after Idle
// without use, and at the expiry it was given when created.
type SessionLimits struct {
	Now  time.Time
	Idle time.Duration
}

const sessionColumns = `id, user_id, created, last_seen, expires, auth_time, revoked_at, user_agent`

var sessionSort = sortFields{
	{name: "id", column: "id"}, {name: "created", column: "created"},
	{name: "last_seen", column: "last_seen"}, {name: "expires", column: "expires"},
}

// CreateSession starts a session for a user who has just signed in at now,
// ending at now+lifetime at the latest. It returns the session id for the
// cookie, which is not kept: only its SHA-256 hash is stored. userAgent is
// cut to MaxUserAgent bytes (on a character boundary; invalid UTF-8
// replaced). ErrInvalidReference when there is no such user.
func (s *Store) CreateSession(ctx context.Context, userID int64, userAgent string, now time.Time, lifetime time.Duration) (string, Session, error) {
	return s.CreateSessionAuthenticated(ctx, userID, userAgent, now, now, lifetime)
}

// CreateSessionAuthenticated is CreateSession for a user who proved who
// they are at authTime rather than now: at their identity provider, which
// may have let them through on its own earlier login. An authTime after
// now is taken as now.
func (s *Store) CreateSessionAuthenticated(ctx context.Context, userID int64, userAgent string, now, authTime time.Time, lifetime time.Duration) (string, Session, error) {
	const q = `INSERT INTO sessions (user_id, id_hash, created, last_seen, expires, auth_time, user_agent)
		VALUES (:user_id, :id_hash, :now, :now, :expires, :auth_time, :user_agent)
		RETURNING ` + sessionColumns
	if authTime.After(now) {
		authTime = now
	}
	secret := make([]byte, sessionIDBytes)
	if _, err := rand.Read(secret); err != nil {
		return "", Session{}, fmt.Errorf("store: create session: %w", err)
	}
	plain := base64.RawURLEncoding.EncodeToString(secret)
	var out Session
	err := namedGet(ctx, s.db, &out, q, map[string]any{
		"user_id": userID, "id_hash": hashToken(plain), "now": now, "expires": now.Add(lifetime), "auth_time": authTime,
		"user_agent": TruncateUserAgent(userAgent),
	})
	if err != nil {
		return "", Session{}, wrap("create session", err)
	}
	return plain, out, nil
}

// TruncateUserAgent is what a session keeps of a User-Agent.
func TruncateUserAgent(ua string) string {
	ua = strings.ToValidUTF8(ua, "\uFFFD")
	if len(ua) <= MaxUserAgent {
		return ua
	}
	cut := MaxUserAgent
	for cut > 0 && !utf8.RuneStart(ua[cut]) {
		cut--
	}
	return ua[:cut]
}

// AuthenticateSession returns the session whose id is plain and its user,
// in one round trip, if it is still live under lim: not revoked, used
// within lim.Idle, not past its expiry, its user active. ErrNotFound
// otherwise; callers should not tell these apart to the client. The use
// is recorded as LastSeen unless one less than a minute old already is,
// so a busy portal costs at most one write a minute per session.
func (s *Store) AuthenticateSession(ctx context.Context, plain string, lim SessionLimits) (User, Session, error) {
	// The session's columns come under "session." so that sqlx scans them
	// into the nested Session, apart from the user's of the same names.
	const q = `WITH found AS (
			SELECT s.id AS session_id, s.user_id, s.created AS session_created, s.last_seen, s.expires,
				s.auth_time, s.revoked_at, s.user_agent, ` + qualifiedUserColumns + `
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id_hash = :id_hash AND s.revoked_at IS NULL AND u.is_active
				AND s.expires > :now AND s.last_seen > :idle_since
		), touched AS (
			UPDATE sessions SET last_seen = :now
			WHERE id = (SELECT session_id FROM found)
				AND last_seen < CAST(:now AS timestamptz) - interval '1 minute'
			RETURNING last_seen
		)
		SELECT f.session_id AS "session.id", f.user_id AS "session.user_id", f.session_created AS "session.created",
			COALESCE((SELECT last_seen FROM touched), f.last_seen) AS "session.last_seen",
			f.expires AS "session.expires", f.auth_time AS "session.auth_time", f.revoked_at AS "session.revoked_at",
			f.user_agent AS "session.user_agent",
			f.id, f.username, f.email, f.first_name, f.last_name, f.is_superuser, f.is_active, f.created, f.modified
		FROM found f`
	var row struct {
		User
		Session Session `db:"session"`
	}
	err := namedGet(ctx, s.db, &row, q, map[string]any{
		"id_hash": hashToken(plain), "now": lim.Now, "idle_since": lim.Now.Add(-lim.Idle),
	})
	if err != nil {
		return User{}, Session{}, wrap("authenticate session", err)
	}
	return row.User, row.Session, nil
}

// GetSession returns the session with this id (the row's, not the
// cookie's), live or not, or ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id int64) (Session, error) {
	const q = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = $1`
	var out Session
	err := s.db.GetContext(ctx, &out, q, id)
	return out, wrap("get session", err)
}

// ListSessions returns a page of a user's live sessions under lim (as
// AuthenticateSession judges them, the user's being active aside) and how
// many there are. Sortable: id, created, last_seen, expires. ErrNotFound
// when there is no such user; ErrInvalid for bad ListOptions.
func (s *Store) ListSessions(ctx context.Context, userID int64, lim SessionLimits, opts ListOptions) ([]Session, int, error) {
	p, err := opts.resolve(sessionSort)
	if err != nil {
		return nil, 0, wrap("list sessions", err)
	}
	const (
		live = ` FROM sessions WHERE user_id = :user_id AND revoked_at IS NULL
			AND expires > :now AND last_seen > :idle_since`
		q      = `SELECT ` + sessionColumns + live + ` ORDER BY `
		qCount = `SELECT EXISTS (SELECT 1 FROM users WHERE id = :user_id) AS found,
			(SELECT count(*)` + live + `) AS total`
	)
	var (
		rows  []Session
		count struct {
			Found bool `db:"found"`
			Total int  `db:"total"`
		}
	)
	arg := p.args(map[string]any{"user_id": userID, "now": lim.Now, "idle_since": lim.Now.Add(-lim.Idle)})
	if err := selectPage(ctx, s.db, &rows, q+p.orderBy+pageClause, &count, qCount, arg); err != nil {
		return nil, 0, wrap("list sessions", err)
	}
	if !count.Found {
		return nil, 0, wrap("list sessions", ErrNotFound)
	}
	return nonNil(rows), count.Total, nil
}

// RevokeSession ends a session now; revoking it again keeps the first
// revocation time. ErrNotFound when there is no such session.
func (s *Store) RevokeSession(ctx context.Context, id int64) error {
	const q = `UPDATE sessions SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`
	n, err := rowsAffected(s.db.ExecContext(ctx, q, id))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return wrap("revoke session", err)
}

// RevokeSessionSecret ends, at once, the session whose id is plain (the
// cookie's value), in one statement: how a browser signs out. A session
// unknown or already ended is not an error: nothing is left to end.
func (s *Store) RevokeSessionSecret(ctx context.Context, plain string) error {
	const q = `UPDATE sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL`
	_, err := s.db.ExecContext(ctx, q, hashToken(plain))
	return wrap("revoke session", err)
}

// RevokeUserSessions ends every session of a user now, such as when the
// user is deactivated. A user without sessions, or no such user, is not an
// error.
func (s *Store) RevokeUserSessions(ctx context.Context, userID int64) error {
	const q = `UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`
	_, err := s.db.ExecContext(ctx, q, userID)
	return wrap("revoke user sessions", err)
}

// DeleteEndedSessions deletes up to batch sessions (batch <= 0: none) that
// have ended under lim: revoked, past their expiry, or unused for lim.Idle.
// It returns how many it deleted; fewer than batch means none is left but
// rows locked meanwhile. An ended session is never listed and never
// authenticates again, so a revoked one is kept no longer than an expired
// one; once deleted, GetSession and RevokeSession answer ErrNotFound for
// it. Each call is one short statement on the oldest rows first; rows that
// another transaction holds are skipped rather than waited for, so several
// API replicas may clean up at once without queueing behind each other.
func (s *Store) DeleteEndedSessions(ctx context.Context, lim SessionLimits, batch int) (int, error) {
	const q = `DELETE FROM sessions WHERE id IN (
			SELECT id FROM sessions
			WHERE revoked_at IS NOT NULL OR expires <= $1 OR last_seen <= $2
			ORDER BY id LIMIT $3
			FOR UPDATE SKIP LOCKED)`
	if batch <= 0 {
		return 0, nil
	}
	n, err := rowsAffected(s.db.ExecContext(ctx, q, lim.Now, lim.Now.Add(-lim.Idle), batch))
	return int(n), wrap("delete ended sessions", err)
}
