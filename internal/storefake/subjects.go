package storefake

import (
	"context"
	"slices"

	"github.com/countersign/countersign/store"
)

// subject is a user's OpenID provider identity (users.oidc_issuer and
// oidc_subject).
type subject struct{ issuer, subject string }

// UserBySubject is store.Store.UserBySubject.
func (s *Store) UserBySubject(ctx context.Context, issuer, sub string) (store.User, error) {
	const op = "get user by subject"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UserBySubject", op); err != nil {
		return store.User{}, err
	}
	for id, linked := range s.subjects {
		if linked == (subject{issuer, sub}) {
			return *s.users[id], nil
		}
	}
	return store.User{}, notFound(op)
}

// LinkUserSubject is store.Store.LinkUserSubject.
func (s *Store) LinkUserSubject(ctx context.Context, userID int64, issuer, sub string) error {
	const op = "link user subject"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "LinkUserSubject", op); err != nil {
		return err
	}
	if _, ok := s.users[userID]; !ok {
		return notFound(op)
	}
	want := subject{issuer, sub}
	if linked, ok := s.subjects[userID]; ok {
		if linked != want {
			return fail(op, store.ErrConflict, "the user is linked to another identity")
		}
		return nil
	}
	if issuer == "" || sub == "" {
		return fail(op, store.ErrInvalid, "users_oidc_check")
	}
	for _, linked := range s.subjects {
		if linked == want {
			return fail(op, store.ErrConflict, "users_oidc_key")
		}
	}
	s.subjects[userID] = want
	return nil
}

// DirectOrgMemberships is store.Store.DirectOrgMemberships.
func (s *Store) DirectOrgMemberships(ctx context.Context, userID int64) ([]int64, error) {
	const op = "direct organization memberships"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DirectOrgMemberships", op); err != nil {
		return nil, err
	}
	if _, ok := s.users[userID]; !ok {
		return nil, notFound(op)
	}
	ids := []int64{}
	for p := range s.orgMembers {
		if p.user == userID {
			ids = append(ids, p.parent)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
