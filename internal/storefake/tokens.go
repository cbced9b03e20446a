package storefake

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"time"

	"github.com/countersign/countersign/store"
)

// tokenRow is a token as stored: the token and the hash of its text.
type tokenRow struct {
	store.Token
	hash [sha256.Size]byte
}

func cloneToken(t store.Token) store.Token {
	t.LastUsed = clonePtr(t.LastUsed)
	t.RevokedAt = clonePtr(t.RevokedAt)
	return t
}

func cloneKey(k store.DecisionKey) store.DecisionKey {
	k.PublicKey = cloneSlice(k.PublicKey)
	k.LastUsed = clonePtr(k.LastUsed)
	k.RevokedAt = clonePtr(k.RevokedAt)
	return k
}

var (
	tokenSort = sortFields[store.Token]{
		{name: "id", cmp: byValue(func(t store.Token) int64 { return t.ID })},
		{name: "description", cmp: byValue(func(t store.Token) string { return t.Description })},
		{name: "created", cmp: byTime(func(t store.Token) time.Time { return t.Created })},
		lastUsedField(func(t store.Token) *time.Time { return t.LastUsed }),
	}
	decisionKeySort = sortFields[store.DecisionKey]{
		{name: "id", cmp: byValue(func(k store.DecisionKey) int64 { return k.ID })},
		{name: "description", cmp: byValue(func(k store.DecisionKey) string { return k.Description })},
		{name: "created", cmp: byTime(func(k store.DecisionKey) time.Time { return k.Created })},
		{name: "expires", cmp: byTime(func(k store.DecisionKey) time.Time { return k.Expires })},
		lastUsedField(func(k store.DecisionKey) *time.Time { return k.LastUsed }),
	}
)

func lastUsedField[T any](get func(T) *time.Time) sortField[T] {
	c, null := byTimePtr(get)
	return sortField[T]{name: "last_used", cmp: c, null: null}
}

// CreateToken is store.Store.CreateToken.
func (s *Store) CreateToken(ctx context.Context, userID int64, description string) (string, store.Token, error) {
	const op = "create token"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateToken", op); err != nil {
		return "", store.Token{}, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", store.Token{}, fmt.Errorf("store: %s: %w", op, err)
	}
	plain := "cs_" + base64.RawURLEncoding.EncodeToString(secret)
	id := s.next("api_tokens")
	if _, ok := s.users[userID]; !ok {
		return "", store.Token{}, fail(op, store.ErrInvalidReference, "api_tokens_user_id_fkey")
	}
	t := &tokenRow{
		Token: store.Token{ID: id, UserID: userID, Description: description, Prefix: plain[:8], Created: s.now()},
		hash:  sha256.Sum256([]byte(plain)),
	}
	s.tokens[id] = t
	return plain, cloneToken(t.Token), nil
}

// AuthenticateToken is store.Store.AuthenticateToken.
func (s *Store) AuthenticateToken(ctx context.Context, plain string) (store.User, store.Token, store.Roles, error) {
	const op = "authenticate token"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "AuthenticateToken", op); err != nil {
		return store.User{}, store.Token{}, store.Roles{}, err
	}
	hash := sha256.Sum256([]byte(plain))
	for _, t := range s.tokens {
		if t.hash == hash && t.RevokedAt == nil && s.users[t.UserID].IsActive {
			return *s.users[t.UserID], cloneToken(t.Token), s.rolesOf(t.UserID), nil
		}
	}
	return store.User{}, store.Token{}, store.Roles{}, notFound(op)
}

// TouchToken is store.Store.TouchToken.
func (s *Store) TouchToken(ctx context.Context, tokenID int64, now time.Time) error {
	defer s.mu.Unlock()
	if err := s.begin(ctx, "TouchToken", "touch token"); err != nil {
		return err
	}
	now = micro(now)
	if t, ok := s.tokens[tokenID]; ok && (t.LastUsed == nil || t.LastUsed.Before(now.Add(-time.Minute))) {
		t.LastUsed = &now
	}
	return nil
}

// ListTokens is store.Store.ListTokens.
func (s *Store) ListTokens(ctx context.Context, userID int64, opts store.ListOptions) ([]store.Token, int, error) {
	const op = "list tokens"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListTokens", op); err != nil {
		return nil, 0, err
	}
	var rows []store.Token
	for _, t := range s.tokens {
		if t.UserID == userID {
			rows = append(rows, cloneToken(t.Token))
		}
	}
	out, total, err := page(op, rows, tokenSort, opts)
	if err != nil {
		return nil, 0, err
	}
	if _, ok := s.users[userID]; !ok {
		return nil, 0, notFound(op)
	}
	return out, total, nil
}

// GetToken is store.Store.GetToken.
func (s *Store) GetToken(ctx context.Context, id int64) (store.Token, error) {
	const op = "get token"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetToken", op); err != nil {
		return store.Token{}, err
	}
	t, ok := s.tokens[id]
	if !ok {
		return store.Token{}, notFound(op)
	}
	return cloneToken(t.Token), nil
}

// RevokeToken is store.Store.RevokeToken.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	const op = "revoke token"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "RevokeToken", op); err != nil {
		return err
	}
	t, ok := s.tokens[id]
	if !ok {
		return notFound(op)
	}
	if t.RevokedAt == nil {
		now := s.now()
		t.RevokedAt = &now
	}
	return nil
}

// keyIDPattern is the schema's CHECK on decision key ids.
var keyIDPattern = regexp.MustCompile(`^dk_[0-9a-f]{16}$`)

// CreateDecisionKey is store.Store.CreateDecisionKey.
func (s *Store) CreateDecisionKey(ctx context.Context, k store.DecisionKey) (store.DecisionKey, error) {
	const op = "create decision key"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateDecisionKey", op); err != nil {
		return store.DecisionKey{}, err
	}
	id := s.next("decision_keys")
	if !keyIDPattern.MatchString(k.KeyID) {
		return store.DecisionKey{}, fail(op, store.ErrInvalid, "decision_keys_key_id_check")
	}
	if len(k.PublicKey) != 32 {
		return store.DecisionKey{}, fail(op, store.ErrInvalid, "decision_keys_public_key_check")
	}
	for _, other := range s.keys {
		if other.KeyID == k.KeyID {
			return store.DecisionKey{}, fail(op, store.ErrConflict, "decision_keys_key_id_key")
		}
	}
	if _, ok := s.users[k.UserID]; !ok {
		return store.DecisionKey{}, fail(op, store.ErrInvalidReference, "decision_keys_user_id_fkey")
	}
	out := &store.DecisionKey{
		ID: id, UserID: k.UserID, KeyID: k.KeyID, PublicKey: cloneSlice(k.PublicKey),
		Description: k.Description, Created: s.now(), Expires: micro(k.Expires),
	}
	s.keys[id] = out
	return cloneKey(*out), nil
}

// GetDecisionKey is store.Store.GetDecisionKey.
func (s *Store) GetDecisionKey(ctx context.Context, id int64) (store.DecisionKey, error) {
	const op = "get decision key"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetDecisionKey", op); err != nil {
		return store.DecisionKey{}, err
	}
	k, ok := s.keys[id]
	if !ok {
		return store.DecisionKey{}, notFound(op)
	}
	return cloneKey(*k), nil
}

// ListDecisionKeys is store.Store.ListDecisionKeys.
func (s *Store) ListDecisionKeys(ctx context.Context, userID int64, opts store.ListOptions) ([]store.DecisionKey, int, error) {
	const op = "list decision keys"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListDecisionKeys", op); err != nil {
		return nil, 0, err
	}
	var rows []store.DecisionKey
	for _, k := range s.keys {
		if k.UserID == userID {
			rows = append(rows, cloneKey(*k))
		}
	}
	out, total, err := page(op, rows, decisionKeySort, opts)
	if err != nil {
		return nil, 0, err
	}
	if _, ok := s.users[userID]; !ok {
		return nil, 0, notFound(op)
	}
	return out, total, nil
}

// RevokeDecisionKey is store.Store.RevokeDecisionKey.
func (s *Store) RevokeDecisionKey(ctx context.Context, id int64) error {
	const op = "revoke decision key"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "RevokeDecisionKey", op); err != nil {
		return err
	}
	k, ok := s.keys[id]
	if !ok {
		return notFound(op)
	}
	if k.RevokedAt == nil {
		now := s.now()
		k.RevokedAt = &now
	}
	return nil
}
