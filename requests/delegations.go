package requests

import (
	"context"
	"fmt"
	"time"

	"github.com/countersign/countersign/store"
)

// Bounds on delegations, which every channel enforces.
const (
	// MaxDelegationSpan is the longest a delegation may last.
	MaxDelegationSpan = 366 * 24 * time.Hour
	// MaxOpenDelegations is how many delegations that have not ended one
	// user may have.
	MaxOpenDelegations = 20
	// MaxDelegationReason bounds a delegation's reason, in bytes (the
	// schema's bound).
	MaxDelegationReason = 500
)

// Delegate records a delegation (n.MaxOpen is set to MaxOpenDelegations)
// and tells the waiting requests its delegator may decide that who may
// decide them changed, through ApproversChanged as membership changes do.
// The caller has checked who asks and validated n. Errors are the store's
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
