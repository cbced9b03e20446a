package storefake

import (
	"context"
	"time"

	"github.com/countersign/countersign/store"
)

var delegationSort = sortFields[store.Delegation]{
	{name: "id", cmp: byValue(func(d store.Delegation) int64 { return d.ID })},
	{name: "starts", cmp: byTime(func(d store.Delegation) time.Time { return d.Starts })},
	{name: "ends", cmp: byTime(func(d store.Delegation) time.Time { return d.Ends })},
	{name: "created", cmp: byTime(func(d store.Delegation) time.Time { return d.Created })},
}

func cloneDelegation(d store.Delegation) store.Delegation {
	d.CreatedBy = clonePtr(d.CreatedBy)
	return d
}

// CreateDelegation is store.Store.CreateDelegation.
func (s *Store) CreateDelegation(ctx context.Context, n store.NewDelegation) (store.Delegation, error) {
	const op = "create delegation"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateDelegation", op); err != nil {
		return store.Delegation{}, err
	}
	if _, ok := s.users[n.DelegatorID]; ok && n.MaxOpen > 0 {
		open := 0
		for _, d := range s.delegations {
			if d.DelegatorID == n.DelegatorID && d.Ends.After(n.Now) {
				open++
			}
		}
		if open >= n.MaxOpen {
			return store.Delegation{}, fail(op, store.ErrLimit, "the user has %d delegations that have not ended", open)
		}
	}
	id := s.next("delegations")
	switch {
	case len(n.Reason) > 500:
		return store.Delegation{}, fail(op, store.ErrInvalid, "delegations_reason_check")
	case n.DelegatorID == n.DelegateID:
		return store.Delegation{}, fail(op, store.ErrInvalid, "delegations_self_check")
	case !n.Ends.After(n.Starts):
		return store.Delegation{}, fail(op, store.ErrInvalid, "delegations_span_check")
	}
	delegator, ok := s.users[n.DelegatorID]
	if !ok {
		return store.Delegation{}, fail(op, store.ErrInvalidReference, "delegations_delegator_fkey")
	}
	delegate, ok := s.users[n.DelegateID]
	if !ok {
		return store.Delegation{}, fail(op, store.ErrInvalidReference, "delegations_delegate_fkey")
	}
	var by *int64
	if _, ok := s.users[n.CreatedBy]; ok {
		by = &n.CreatedBy
	} else if n.CreatedBy != 0 {
		return store.Delegation{}, fail(op, store.ErrInvalidReference, "delegations_created_by_fkey")
	}
	d := &store.Delegation{ID: id, DelegatorID: n.DelegatorID, DelegatorUsername: delegator.Username,
		DelegateID: n.DelegateID, DelegateUsername: delegate.Username, Starts: micro(n.Starts), Ends: micro(n.Ends),
		Reason: n.Reason, CreatedBy: clonePtr(by), Created: micro(n.Now)}
	s.delegations[id] = d
	return cloneDelegation(*d), nil
}

// GetDelegation is store.Store.GetDelegation.
func (s *Store) GetDelegation(ctx context.Context, id int64) (store.Delegation, error) {
	const op = "get delegation"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetDelegation", op); err != nil {
		return store.Delegation{}, err
	}
	d, ok := s.delegations[id]
	if !ok {
		return store.Delegation{}, notFound(op)
	}
	return cloneDelegation(*d), nil
}

// ListDelegations is store.Store.ListDelegations.
func (s *Store) ListDelegations(ctx context.Context, userID int64, opts store.ListOptions) ([]store.Delegation, int, error) {
	const op = "list delegations"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListDelegations", op); err != nil {
		return nil, 0, err
	}
	var rows []store.Delegation
	for _, d := range s.delegations {
		if d.DelegatorID == userID {
			rows = append(rows, cloneDelegation(*d))
		}
	}
	out, total, err := page(op, rows, delegationSort, opts)
	if err != nil {
		return nil, 0, err
	}
	if _, ok := s.users[userID]; !ok {
		return nil, 0, notFound(op)
	}
	return out, total, nil
}

// DeleteDelegation is store.Store.DeleteDelegation.
func (s *Store) DeleteDelegation(ctx context.Context, id int64) error {
	const op = "delete delegation"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DeleteDelegation", op); err != nil {
		return err
	}
	if _, ok := s.delegations[id]; !ok {
		return notFound(op)
	}
	delete(s.delegations, id)
	return nil
}
