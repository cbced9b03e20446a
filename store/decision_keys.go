package store

import (
	"context"
	"time"
)

// DecisionKey is the public half of a user's decision key, which proves
// that a decision sent through Temporal was made by that user (package
// proof). The private half is never stored.
type DecisionKey struct {
	ID          int64      `db:"id"`
	UserID      int64      `db:"user_id"`
	KeyID       string     `db:"key_id"`
	PublicKey   []byte     `db:"public_key"`
	Description string     `db:"description"`
	Created     time.Time  `db:"created"`
	Expires     time.Time  `db:"expires"`
	LastUsed    *time.Time `db:"last_used"`
	RevokedAt   *time.Time `db:"revoked_at"`
}

// DecisionKeyOwner is a decision key with what a check of its proof needs
// to know of its owner.
type DecisionKeyOwner struct {
	DecisionKey
	Username   string `db:"username"`
	UserActive bool   `db:"is_active"`
}

const decisionKeyColumns = `id, user_id, key_id, public_key, description, created, expires, last_used, revoked_at`

var decisionKeySort = sortFields{
	{name: "id", column: "id"}, {name: "description", column: "description"},
	{name: "created", column: "created"}, {name: "expires", column: "expires"},
	{name: "last_used", column: "last_used", nullsLast: true},
}

// CreateDecisionKey stores the public half of a new decision key.
// ErrInvalidReference when there is no such user; ErrConflict when the key
// id is taken; ErrInvalid for a malformed key id or public key.
func (s *Store) CreateDecisionKey(ctx context.Context, k DecisionKey) (DecisionKey, error) {
	const q = `INSERT INTO decision_keys (user_id, key_id, public_key, description, expires)
		VALUES (:user_id, :key_id, :public_key, :description, :expires)
		RETURNING ` + decisionKeyColumns
	var out DecisionKey
	err := namedGet(ctx, s.db, &out, q, map[string]any{
		"user_id": k.UserID, "key_id": k.KeyID, "public_key": k.PublicKey, "description": k.Description, "expires": k.Expires,
	})
	return out, wrap("create decision key", err)
}

// DecisionKeyByKeyID returns the key with this public key id and its
// owner, revoked or expired keys included (the caller says why it refuses
// them). ErrNotFound when there is none.
func (s *Store) DecisionKeyByKeyID(ctx context.Context, keyID string) (DecisionKeyOwner, error) {
	const q = `SELECT k.id, k.user_id, k.key_id, k.public_key, k.description, k.created, k.expires,
			k.last_used, k.revoked_at, u.username, u.is_active
		FROM decision_keys k JOIN users u ON u.id = k.user_id WHERE k.key_id = $1`
	var k DecisionKeyOwner
	err := s.db.GetContext(ctx, &k, q, keyID)
	return k, wrap("get decision key", err)
}

// GetDecisionKey returns the key with this id, or ErrNotFound.
func (s *Store) GetDecisionKey(ctx context.Context, id int64) (DecisionKey, error) {
	const q = `SELECT ` + decisionKeyColumns + ` FROM decision_keys WHERE id = $1`
	var k DecisionKey
	err := s.db.GetContext(ctx, &k, q, id)
	return k, wrap("get decision key", err)
}

// ListDecisionKeys returns a page of a user's decision keys, revoked ones
// included, and how many there are. Sortable: id, description, created,
// expires, last_used. ErrNotFound when there is no such user; ErrInvalid
// for bad ListOptions.
func (s *Store) ListDecisionKeys(ctx context.Context, userID int64, opts ListOptions) ([]DecisionKey, int, error) {
	p, err := opts.resolve(decisionKeySort)
	if err != nil {
		return nil, 0, wrap("list decision keys", err)
	}
	const (
		q      = `SELECT ` + decisionKeyColumns + ` FROM decision_keys WHERE user_id = :user_id ORDER BY `
		qCount = `SELECT EXISTS (SELECT 1 FROM users WHERE id = :user_id) AS found,
			(SELECT count(*) FROM decision_keys WHERE user_id = :user_id) AS total`
	)
	var (
		rows  []DecisionKey
		count struct {
			Found bool `db:"found"`
			Total int  `db:"total"`
		}
	)
	arg := p.args(map[string]any{"user_id": userID})
	if err := selectPage(ctx, s.db, &rows, q+p.orderBy+pageClause, &count, qCount, arg); err != nil {
		return nil, 0, wrap("list decision keys", err)
	}
	if !count.Found {
		return nil, 0, wrap("list decision keys", ErrNotFound)
	}
	return nonNil(rows), count.Total, nil
}

// RevokeDecisionKey makes a decision key unusable from now on; revoking it
// again keeps the first revocation time. ErrNotFound when there is none.
func (s *Store) RevokeDecisionKey(ctx context.Context, id int64) error {
	const q = `UPDATE decision_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`
	n, err := rowsAffected(s.db.ExecContext(ctx, q, id))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return wrap("revoke decision key", err)
}

// TouchDecisionKey records that a key proved a decision at now, at most
// once a minute.
func (s *Store) TouchDecisionKey(ctx context.Context, id int64, now time.Time) error {
	const q = `UPDATE decision_keys SET last_used = $2
		WHERE id = $1 AND (last_used IS NULL OR last_used < CAST($2 AS timestamptz) - interval '1 minute')`
	_, err := s.db.ExecContext(ctx, q, id, now)
	return wrap("touch decision key", err)
}
