package requests

import (
	"context"
	"fmt"

	"github.com/countersign/countersign/store"
)

// MaxOpenDelegations is how many delegations that have not ended one user
// may have (the terms of each are approval.CheckDelegationTerms').
const MaxOpenDelegations = 20

// Delegate records a delegation (n.MaxOpen is set to MaxOpenDelegations)
// and tells the waiting requests its delegator may decide that who may
// decide them changed, through ApproversChanged as membership changes do.
// The caller has checked who asks and n (its terms with
// approval.CheckDelegationTerms). Errors are the store's
// (ErrLimit when the delegator has too many).
func (s *Service) Delegate(ctx context.Context, n store.NewDelegation) (store.Delegation, error) {
	n.MaxOpen = MaxOpenDelegations
	d, err := s.cfg.Store.CreateDelegation(ctx, n)
	if err != nil {
		return d, err
	}
	s.ApproversChanged(ctx, Change{User: &d.DelegatorID,
		Reason: fmt.Sprintf("user %s delegated to %s", d.DelegatorUsername, d.DelegateUsername)})
	return d, nil
}

// Undelegate deletes a delegation and tells the waiting requests its
// delegator may decide, as Delegate does.
func (s *Service) Undelegate(ctx context.Context, d store.Delegation) error {
	if err := s.cfg.Store.DeleteDelegation(ctx, d.ID); err != nil {
		return err
	}
	s.ApproversChanged(ctx, Change{User: &d.DelegatorID,
		Reason: fmt.Sprintf("user %s's delegation to %s was deleted", d.DelegatorUsername, d.DelegateUsername)})
	return nil
}
