package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// How a Slack user was linked (SlackLink.LinkedBy).
const (
	SlackLinkedByEmail = "email"
	SlackLinkedByLink  = "link"
)

// SlackMessage is the direct message a user got about a request.
type SlackMessage struct {
	RequestID int64  `db:"request_id"`
	UserID    int64  `db:"user_id"`
	Username  string `db:"username"`
	Channel   string `db:"channel"`
	TS        string `db:"ts"`
	// NotificationID is the notification the message was posted for.
	NotificationID string `db:"notification_id"`
}

// SlackRecipient is a Countersign user linked to a Slack user.
type SlackRecipient struct {
	UserID      int64  `db:"user_id"`
	Username    string `db:"username"`
	SlackUserID string `db:"slack_user_id"`
}

// LinkSlackUser links Slack user slackID to user userID (by, one of
// SlackLinkedByEmail and SlackLinkedByLink), replacing any link either of
// them had. ErrInvalidReference when there is no such user, ErrInvalid for
// an id Slack would not give.
func (s *Store) LinkSlackUser(ctx context.Context, slackID string, userID int64, by string) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		return wrap("link slack user", linkSlackUser(ctx, tx, slackID, userID, by))
	})
}

// linkSlackUser replaces, in tx, any link of Slack user slackID or of user
// userID by one between them, made by.
func linkSlackUser(ctx context.Context, tx *sqlx.Tx, slackID string, userID int64, by string) error {
	const del = `DELETE FROM slack_users WHERE slack_user_id = $1 OR user_id = $2`
	if _, err := tx.ExecContext(ctx, del, slackID, userID); err != nil {
		return err
	}
	const ins = `INSERT INTO slack_users (slack_user_id, user_id, linked_by) VALUES ($1, $2, $3)`
	_, err := tx.ExecContext(ctx, ins, slackID, userID, by)
	return err
}

// SlackUser is the active Countersign user Slack user slackID is linked
// to, or ErrNotFound.
func (s *Store) SlackUser(ctx context.Context, slackID string) (User, error) {
	const q = `SELECT ` + qualifiedUserColumns + `
		FROM slack_users l JOIN users u ON u.id = l.user_id WHERE l.slack_user_id = $1 AND u.is_active`
	var u User
	err := s.db.GetContext(ctx, &u, q, slackID)
	return u, wrap("slack user", err)
}

// SlackRecipients are the active users among usernames who are linked to
// a Slack user, sorted by username.
func (s *Store) SlackRecipients(ctx context.Context, usernames []string) ([]SlackRecipient, error) {
	if len(usernames) == 0 {
		return []SlackRecipient{}, nil
	}
	const q = `SELECT u.id AS user_id, u.username, l.slack_user_id
		FROM slack_users l JOIN users u ON u.id = l.user_id
		WHERE u.username = ANY($1) AND u.is_active ORDER BY u.username COLLATE "C"`
	var out []SlackRecipient
	if err := s.db.SelectContext(ctx, &out, q, pq.Array(usernames)); err != nil {
		return nil, wrap("slack recipients", err)
	}
	return nonNil(out), nil
}

// UserByEmail is the one active user whose e-mail address is exactly
// email; ErrNotFound when there is none, or more than one (an address
// several users share links none of them).
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	if email == "" {
		return User{}, fmt.Errorf("store: user by email: %w", ErrNotFound)
	}
	const q = `SELECT ` + userColumns + ` FROM users WHERE email = $1 AND is_active LIMIT 2`
	var us []User
	if err := s.db.SelectContext(ctx, &us, q, email); err != nil {
		return User{}, wrap("user by email", err)
	}
	if len(us) != 1 {
		return User{}, fmt.Errorf("store: user by email: %w", ErrNotFound)
	}
	return us[0], nil
}

// CreateSlackLinkToken records a one-time link token (its SHA-256) for
// Slack user slackID, valid until expires. Expired tokens are deleted on
// the way.
func (s *Store) CreateSlackLinkToken(ctx context.Context, hash []byte, slackID string, expires time.Time) error {
	const purge = `DELETE FROM slack_link_tokens WHERE expires <= now()`
	if _, err := s.db.ExecContext(ctx, purge); err != nil {
		return wrap("create slack link token", err)
	}
	const q = `INSERT INTO slack_link_tokens (token_hash, slack_user_id, expires) VALUES ($1, $2, $3)`
	_, err := s.db.ExecContext(ctx, q, hash, slackID, expires)
	return wrap("create slack link token", err)
}

// SlackLinkToken is the Slack user of the unexpired token whose SHA-256 is
// hash, or ErrNotFound; it does not use the token.
func (s *Store) SlackLinkToken(ctx context.Context, hash []byte, now time.Time) (string, error) {
	const q = `SELECT slack_user_id FROM slack_link_tokens WHERE token_hash = $1 AND expires > $2`
	var id string
	err := s.db.GetContext(ctx, &id, q, hash, now)
	return id, wrap("slack link token", err)
}

// UseSlackLinkToken links the Slack user of the unexpired token whose
// SHA-256 is hash to user userID and deletes the token, in one
// transaction: a token links once. ErrNotFound when the token is unknown,
// used or expired.
func (s *Store) UseSlackLinkToken(ctx context.Context, hash []byte, userID int64, now time.Time) (string, error) {
	var slackID string
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		const q = `DELETE FROM slack_link_tokens WHERE token_hash = $1 AND expires > $2 RETURNING slack_user_id`
		if err := tx.GetContext(ctx, &slackID, q, hash, now); err != nil {
			return wrap("use slack link token", err)
		}
		return wrap("use slack link token", linkSlackUser(ctx, tx, slackID, userID, SlackLinkedByLink))
	})
	return slackID, err
}

// SaveSlackMessage records the direct message user userID got about
// request requestID, replacing the one recorded before.
func (s *Store) SaveSlackMessage(ctx context.Context, m SlackMessage) error {
	const q = `INSERT INTO slack_messages (request_id, user_id, channel, ts, notification_id)
		VALUES (:request_id, :user_id, :channel, :ts, :notification_id)
		ON CONFLICT (request_id, user_id) DO UPDATE
		SET channel = EXCLUDED.channel, ts = EXCLUDED.ts, notification_id = EXCLUDED.notification_id`
	_, err := s.db.NamedExecContext(ctx, q, m)
	return wrap("save slack message", err)
}

// SlackMessages are the direct messages sent about request requestID,
// by username.
func (s *Store) SlackMessages(ctx context.Context, requestID int64) ([]SlackMessage, error) {
	const q = `SELECT m.request_id, m.user_id, u.username, m.channel, m.ts, m.notification_id
		FROM slack_messages m JOIN users u ON u.id = m.user_id
		WHERE m.request_id = $1 ORDER BY u.username COLLATE "C"`
	var out []SlackMessage
	if err := s.db.SelectContext(ctx, &out, q, requestID); err != nil {
		return nil, wrap("slack messages", err)
	}
	return nonNil(out), nil
}

// DeleteSlackMessage forgets the message user userID got about request
// requestID (it was closed); no error when there is none.
func (s *Store) DeleteSlackMessage(ctx context.Context, requestID, userID int64) error {
	const q = `DELETE FROM slack_messages WHERE request_id = $1 AND user_id = $2`
	_, err := s.db.ExecContext(ctx, q, requestID, userID)
	return wrap("delete slack message", err)
}
