package api

// Memberships: the users of an organization's admins, of its members and
// of a team, listed and changed with AWX's association bodies.

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

// membership is a group of users of organization org that association
// bodies change: the organization's admins or members, a team.
type membership struct {
	group, org  int64
	scope       associationScope
	list        func(ctx context.Context, group int64, opts store.ListOptions) ([]store.User, int, error)
	add, remove func(ctx context.Context, group, user int64) error
	// changed, when the group decides waiting requests, tells them.
	changed *approversChange
}

// mountMembers serves, at path, the users of a group of the object of
// the path: GET lists them (to those who may view the object), POST adds
// or removes one (for those who may change its members). of says which
// group of the object.
func mountMembers[T, V any](s *Server, r *gin.RouterGroup, path string, k kind[T, V], of func(T) membership) {
	r.GET(path, handle(func(c *gin.Context) error {
		x, err := k.load(c, access.View)
		if err != nil {
			return err
		}
		return s.listMembers(c, of(x))
	}))
	r.POST(path, handle(func(c *gin.Context) error {
		x, err := k.load(c, access.Members)
		if err != nil {
			return err
		}
		return s.changeMembership(c, of(x))
	}))
}

// association is AWX's body to add ({"id": N}) or remove
// ({"id": N, "disassociate": true}) a member.
type association struct {
	ID           *int64 `json:"id"`
	Disassociate bool   `json:"disassociate"`
}

// bindAssociation reads an association body for a membership of org. The
// user added must be one the caller may place there (access.CanPlace; with
// scope anyOfCallers, from any organization the caller administers); any
// other id reads as nonexistent, so ids cannot be probed.
func (s *Server) bindAssociation(c *gin.Context, org int64, scope associationScope) (association, error) {
	var b association
	if err := bind(c, &b); err != nil {
		return b, err
	}
	if b.ID == nil || *b.ID < 1 {
		return b, fieldErrors{"id": {"Give the id of a user."}}.err()
	}
	invalid := fieldErrors{"id": {fmt.Sprintf("Invalid pk \"%d\" - object does not exist.", *b.ID)}}.err()
	roles, err := s.d.Store.UserRoles(c.Request.Context(), *b.ID)
	if errors.Is(err, store.ErrNotFound) {
		return b, invalid
	} else if err != nil {
		return b, err
	}
	if b.Disassociate || access.CanPlace(caller(c), roles.MemberOf, org, scope == anyOfCallers) {
		return b, nil
	}
	return b, invalid
}

// associationScope says where the users an org admin may place come from.
type associationScope int

const (
	sameOrganization associationScope = iota
	anyOfCallers
)

// listMembers pages the users of m's group: in full to the admins of its
// organization, as fellow members see them to others.
func (s *Server) listMembers(c *gin.Context, m membership) error {
	opts, err := listQuery(c)
	if err != nil {
		return err
	}
	users, total, err := m.list(c.Request.Context(), m.group, opts)
	if err != nil {
		return err
	}
	if p := caller(c); p.Admin(m.org) {
		return writePage(c, opts, total, views(p, users, userView))
	}
	return writePage(c, opts, total, views(caller(c), users, func(_ access.Principal, u store.User) UserSummary { return userSummary(u) }))
}

// changeMembership adds the user of an association body to m's group, or
// removes them (removing someone who is not there is no error), and
// answers 204.
func (s *Server) changeMembership(c *gin.Context, m membership) error {
	b, err := s.bindAssociation(c, m.org, m.scope)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	if !b.Disassociate {
		err = m.add(ctx, m.group, *b.ID)
	} else if err = m.remove(ctx, m.group, *b.ID); errors.Is(err, store.ErrNotFound) {
		err = nil // already not there
	}
	if err != nil {
		return err
	}
	if m.changed != nil {
		s.approversChanged(ctx, *m.changed)
	}
	c.Status(http.StatusNoContent)
	return nil
}
