package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lib/pq"
)

// UserBySubject returns the user linked to this OpenID provider identity
// (issuer and subject, compared exactly), active or not, or ErrNotFound.
func (s *Store) UserBySubject(ctx context.Context, issuer, subject string) (User, error) {
	const q = `SELECT ` + userColumns + ` FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`
	var u User
	err := s.db.GetContext(ctx, &u, q, issuer, subject)
	return u, wrap("get user by subject", err)
}

// LinkUserSubject links a user to an OpenID provider identity, for good: a
// link is never replaced. Linking again to the same identity is a no-op.
// ErrNotFound when there is no such user; ErrConflict when the user is
// linked to another identity or the identity to another user; ErrInvalid
// when issuer or subject is empty.
func (s *Store) LinkUserSubject(ctx context.Context, userID int64, issuer, subject string) error {
	const q = `UPDATE users SET oidc_issuer = $2, oidc_subject = $3
		WHERE id = $1 AND (oidc_subject IS NULL OR (oidc_issuer = $2 AND oidc_subject = $3))
		RETURNING id`
	var id int64
	err := s.db.GetContext(ctx, &id, q, userID, issuer, subject)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.GetUser(ctx, userID); gerr != nil {
			return gerr
		}
		return fmt.Errorf("store: link user subject: %w: the user is linked to another identity", ErrConflict)
	}
	return wrap("link user subject", err)
}

// DirectOrgMemberships returns the organizations a user is a member of in
// their own right (AddOrgMember), ascending, without those they belong to
// through a team or as an admin only; ErrNotFound when there is no such
// user.
func (s *Store) DirectOrgMemberships(ctx context.Context, userID int64) ([]int64, error) {
	const q = `SELECT ARRAY(SELECT m.organization_id FROM organization_members m
			WHERE m.user_id = u.id ORDER BY 1)
		FROM users u WHERE u.id = $1`
	var ids pq.Int64Array
	if err := s.db.GetContext(ctx, &ids, q, userID); err != nil {
		return nil, wrap("direct organization memberships", err)
	}
	return nonNil(ids), nil
}
