package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"
)

// Tokens are "cs_" followed by tokenBytes random bytes in unpadded
// base64url: 256 bits, far beyond guessing.
const (
	tokenTextPrefix = "cs_"
	tokenBytes      = 32
	// tokenPrefixLen is how much of a token is kept in clear to recognise it.
	tokenPrefixLen = 8
)

// Token is an API token as stored: never the token itself, only its first
// characters (Prefix) to tell tokens apart.
type Token struct {
	ID          int64      `db:"id"`
	UserID      int64      `db:"user_id"`
	Description string     `db:"description"`
	Prefix      string     `db:"prefix"`
	Created     time.Time  `db:"created"`
	LastUsed    *time.Time `db:"last_used"`
	RevokedAt   *time.Time `db:"revoked_at"`
}

const tokenColumns = `id, user_id, description, prefix, created, last_used, revoked_at`

var tokenSort = sortFields{
	{name: "id", column: "id"}, {name: "description", column: "description"},
	{name: "created", column: "created"}, {name: "last_used", column: "last_used", nullsLast: true},
}

// CreateToken issues a new token for a user and returns its text, which is
// shown once: only its SHA-256 hash is stored. ErrInvalidReference when
// there is no such user.
func (s *Store) CreateToken(ctx context.Context, userID int64, description string) (string, Token, error) {
	secret := make([]byte, tokenBytes)
	if _, err := rand.Read(secret); err != nil {
		return "", Token{}, fmt.Errorf("store: create token: %w", err)
	}
	plain := tokenTextPrefix + base64.RawURLEncoding.EncodeToString(secret)
	t, err := s.insertToken(ctx, userID, description, plain)
	if err != nil {
		return "", Token{}, wrap("create token", err)
	}
	return plain, t, nil
}

// ImportToken stores a token whose text the caller chose, such as the
// well-known tokens of a demo installation; like every token only its hash
// is kept. ErrConflict when that text is already a token;
// ErrInvalidReference when there is no such user; ErrInvalid for an empty
// text. Prefer CreateToken for anything real.
func (s *Store) ImportToken(ctx context.Context, userID int64, description, plain string) (Token, error) {
	if plain == "" {
		return Token{}, wrap("import token", fmt.Errorf("%w: empty token", ErrInvalid))
	}
	t, err := s.insertToken(ctx, userID, description, plain)
	return t, wrap("import token", err)
}

func (s *Store) insertToken(ctx context.Context, userID int64, description, plain string) (Token, error) {
	const q = `INSERT INTO api_tokens (user_id, description, token_hash, prefix)
		VALUES (:user_id, :description, :token_hash, :prefix)
		RETURNING ` + tokenColumns
	prefix := plain
	if len(prefix) > tokenPrefixLen {
		prefix = prefix[:tokenPrefixLen]
	}
	var t Token
	err := namedGet(ctx, s.db, &t, q, map[string]any{
		"user_id": userID, "description": description, "token_hash": hashToken(plain), "prefix": prefix,
	})
	return t, err
}

// hashToken is what is stored for a token. A plain hash, not a slow
// password hash, is enough: tokens are random and long, not chosen by people.
func hashToken(plain string) []byte {
	sum := sha256.Sum256([]byte(plain))
	return sum[:]
}

// AuthenticateToken returns the user a token belongs to, the token and
// the user's roles (as UserRoles), in one query: every call with a token
// needs all three. ErrNotFound when the token is unknown or revoked, or its
// user is inactive; callers should not tell these apart to the client.
func (s *Store) AuthenticateToken(ctx context.Context, plain string) (User, Token, Roles, error) {
	const q = `SELECT t.id AS token_id, t.user_id, t.description, t.prefix, t.created AS token_created,
			t.last_used, t.revoked_at, ` + qualifiedUserColumns + `, ` + rolesColumns + `
		FROM api_tokens t JOIN users u ON u.id = t.user_id ` + rolesJoin + `
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.is_active`
	var row struct {
		User
		rolesRow
		TokenID      int64      `db:"token_id"`
		UserID       int64      `db:"user_id"`
		Description  string     `db:"description"`
		Prefix       string     `db:"prefix"`
		TokenCreated time.Time  `db:"token_created"`
		LastUsed     *time.Time `db:"last_used"`
		RevokedAt    *time.Time `db:"revoked_at"`
	}
	if err := s.getPrepared(ctx, &row, q, hashToken(plain)); err != nil {
		return User{}, Token{}, Roles{}, wrap("authenticate token", err)
	}
	return row.User, Token{
		ID: row.TokenID, UserID: row.UserID, Description: row.Description, Prefix: row.Prefix,
		Created: row.TokenCreated, LastUsed: row.LastUsed, RevokedAt: row.RevokedAt,
	}, row.roles(), nil
}

// TouchToken records that a token was used at now, unless it was already
// recorded as used less than a minute before now, so a busy client costs
// at most one write a minute. An unknown token is left alone.
func (s *Store) TouchToken(ctx context.Context, tokenID int64, now time.Time) error {
	const q = `UPDATE api_tokens SET last_used = $2
		WHERE id = $1 AND (last_used IS NULL OR last_used < CAST($2 AS timestamptz) - interval '1 minute')`
	_, err := s.db.ExecContext(ctx, q, tokenID, now)
	return wrap("touch token", err)
}

// ListTokens returns a page of a user's tokens, revoked ones included, and
// how many there are. Sortable: id, description, created, last_used.
// ErrNotFound when there is no such user; ErrInvalid for bad ListOptions.
func (s *Store) ListTokens(ctx context.Context, userID int64, opts ListOptions) ([]Token, int, error) {
	p, err := opts.resolve(tokenSort)
	if err != nil {
		return nil, 0, wrap("list tokens", err)
	}
	const (
		q      = `SELECT ` + tokenColumns + ` FROM api_tokens WHERE user_id = :user_id ORDER BY `
		qCount = `SELECT EXISTS (SELECT 1 FROM users WHERE id = :user_id) AS found,
			(SELECT count(*) FROM api_tokens WHERE user_id = :user_id) AS total`
	)
	var (
		rows  []Token
		count struct {
			Found bool `db:"found"`
			Total int  `db:"total"`
		}
	)
	arg := p.args(map[string]any{"user_id": userID})
	if err := selectPage(ctx, s.db, &rows, q+p.orderBy+pageClause, &count, qCount, arg); err != nil {
		return nil, 0, wrap("list tokens", err)
	}
	if !count.Found {
		return nil, 0, wrap("list tokens", ErrNotFound)
	}
	return nonNil(rows), count.Total, nil
}

// GetToken returns the token with this id, or ErrNotFound.
func (s *Store) GetToken(ctx context.Context, id int64) (Token, error) {
	const q = `SELECT ` + tokenColumns + ` FROM api_tokens WHERE id = $1`
	var t Token
	err := s.db.GetContext(ctx, &t, q, id)
	return t, wrap("get token", err)
}

// RevokeToken makes a token unusable from now on; revoking it again keeps
// the first revocation time. ErrNotFound when there is no such token.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	const q = `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`
	n, err := rowsAffected(s.db.ExecContext(ctx, q, id))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return wrap("revoke token", err)
}
