package api

// Delegations (out of office): a user's delegations, listed, set up and
// taken back by the user, the admins of their organizations and
// superusers. Creating or deleting one tells the waiting requests the
// delegator may decide, as membership changes do (requests.Delegate).

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

func (s *Server) delegationRoutes(r *gin.RouterGroup) {
	r.GET("/users/:id/delegations/", handle(s.listDelegations))
	r.POST("/users/:id/delegations/", handle(s.createDelegation))
	r.GET("/delegations/:id/", handle(s.getDelegation))
	r.DELETE("/delegations/:id/", handle(s.deleteDelegation))
}

// delegationObject describes a delegation of the user with id delegator,
// who belongs to organizations orgs, to access.
func delegationObject(delegator int64, orgs []int64) access.Object {
	return access.Object{Resource: access.Delegation, Owner: delegator, SharedOrgs: orgs}
}

// delegatorFor loads the user of the path with their organizations and
// checks that the caller may do a to their delegations: a user the
// caller may not see is ErrHidden (404), one whose delegations they may
// not change ErrForbidden (403).
func (s *Server) delegatorFor(c *gin.Context, a access.Action) (account, error) {
	acc, err := s.users().load(c, access.View)
	if err != nil {
		return acc, err
	}
	return acc, access.Check(caller(c), a, delegationObject(acc.ID, acc.orgs))
}

func (s *Server) listDelegations(c *gin.Context) error {
	acc, err := s.delegatorFor(c, access.View)
	if err != nil {
		return err
	}
	opts, err := listQuery(c)
	if err != nil {
		return err
	}
	ds, total, err := s.d.Store.ListDelegations(c.Request.Context(), acc.ID, opts)
	if err != nil {
		return err
	}
	p, now := caller(c), time.Now()
	return writePage(c, opts, total, views(p, ds, func(p access.Principal, d store.Delegation) Delegation {
		return delegationView(p, d, acc.orgs, now)
	}))
}

// delegationBody is a delegation as asked for: starts defaults to now.
type delegationBody struct {
	Delegate *int64     `json:"delegate"`
	Starts   *time.Time `json:"starts"`
	Ends     *time.Time `json:"ends"`
	Reason   *string    `json:"reason"`
}

// createDelegation sets up a delegation of the user of the path. The
// delegate must be an active user of one of the delegator's organizations
// (any active user, for a superuser); any other id reads as nonexistent,
// so ids cannot be probed.
func (s *Server) createDelegation(c *gin.Context) error {
	acc, err := s.delegatorFor(c, access.Create)
	if err != nil {
		return err
	}
	var b delegationBody
	if err := bind(c, &b); err != nil {
		return err
	}
	// To the microsecond, as PostgreSQL keeps it, so a delegation that
	// starts now is active in this answer already.
	ctx, p, now := c.Request.Context(), caller(c), time.Now().Truncate(time.Microsecond)
	errs := fieldErrors{}
	switch {
	case b.Delegate == nil:
		errs.add("delegate", "This field is required.")
	case *b.Delegate == acc.ID:
		errs.add("delegate", "Nobody delegates to themselves.")
	default:
		ok, err := s.mayDelegateTo(ctx, p, acc, *b.Delegate)
		if err != nil {
			return err
		}
		if !ok {
			errs.add("delegate", "No active user with that id belongs to the delegator's organizations.")
		}
	}
	for field, problem := range approval.CheckDelegationTerms(b.Starts, b.Ends, deref(b.Reason), now) {
		errs.add(field, problem)
	}
	starts := now
	if b.Starts != nil {
		starts = *b.Starts
	}
	if err := errs.err(); err != nil {
		return err
	}
	d, err := s.requests.Delegate(ctx, store.NewDelegation{DelegatorID: acc.ID, DelegateID: *b.Delegate,
		Starts: starts, Ends: *b.Ends, Reason: deref(b.Reason), CreatedBy: p.UserID, Now: now})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, delegationView(p, d, acc.orgs, now))
	return nil
}

// mayDelegateTo reports whether the user with id delegate may become a
// delegate of acc: active, and sharing an organization with them unless
// the caller is a superuser.
func (s *Server) mayDelegateTo(ctx context.Context, p access.Principal, acc account, delegate int64) (bool, error) {
	d, err := s.getAccount(ctx, delegate)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	if !d.IsActive {
		return false, nil
	}
	if p.IsSuperuser {
		return true, nil
	}
	for _, org := range d.orgs {
		if slices.Contains(acc.orgs, org) {
			return true, nil
		}
	}
	return false, nil
}

// delegationFor loads the delegation of the path and checks that the
// caller may do a to it; it also answers its delegator's organizations.
func (s *Server) delegationFor(c *gin.Context, a access.Action) (store.Delegation, []int64, error) {
	id, err := pathID(c)
	if err != nil {
		return store.Delegation{}, nil, err
	}
	ctx := c.Request.Context()
	d, err := s.d.Store.GetDelegation(ctx, id)
	if err != nil {
		return d, nil, err
	}
	roles, err := s.d.Store.UserRoles(ctx, d.DelegatorID)
	if err != nil {
		return d, nil, err
	}
	return d, roles.MemberOf, access.Check(caller(c), a, delegationObject(d.DelegatorID, roles.MemberOf))
}

func (s *Server) getDelegation(c *gin.Context) error {
	d, orgs, err := s.delegationFor(c, access.View)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, delegationView(caller(c), d, orgs, time.Now()))
	return nil
}

func (s *Server) deleteDelegation(c *gin.Context) error {
	d, _, err := s.delegationFor(c, access.Delete)
	if err != nil {
		return err
	}
	if err := s.requests.Undelegate(c.Request.Context(), d); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
