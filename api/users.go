package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

func (s *Server) userRoutes(r *gin.RouterGroup) {
	r.GET("/users/", s.listUsers)
	r.POST("/users/", s.createUser)
	r.GET("/users/:id/", s.getUser)
	r.PATCH("/users/:id/", s.updateUser)
	r.DELETE("/users/:id/", s.deleteUser)
	r.GET("/users/:id/tokens/", s.listTokens)
	r.POST("/users/:id/tokens/", s.createToken)
	r.DELETE("/tokens/:id/", s.revokeToken)
}

// userFor loads the user of the path and checks that the caller may do a.
func (s *Server) userFor(c *gin.Context, a access.Action) (store.User, error) {
	id, err := pathID(c)
	if err != nil {
		return store.User{}, err
	}
	ctx := c.Request.Context()
	u, err := s.d.Store.GetUser(ctx, id)
	if err != nil {
		return u, err
	}
	roles, err := s.d.Store.UserRoles(ctx, id)
	if err != nil {
		return u, err
	}
	return u, access.Check(caller(c), a, access.Object{Resource: access.User, Owner: u.ID, SharedOrgs: roles.MemberOf})
}

func (s *Server) listUsers(c *gin.Context) {
	opts, err := listQuery(c, "username", "search")
	if err != nil {
		c.Error(err)
		return
	}
	f := store.UserFilter{Username: c.Query("username"), Search: c.Query("search")}
	if p := caller(c); !p.IsSuperuser {
		f.Visibility = &store.UserVisibility{UserID: p.UserID, AdminOrgIDs: nonNilIDs(p.AdminOf)}
	}
	users, total, err := s.d.Store.ListUsers(c.Request.Context(), f, opts)
	s.renderUsers(c, opts, users, total, err, true)
}

func (s *Server) getUser(c *gin.Context) {
	u, err := s.userFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	c.JSON(http.StatusOK, userView(u))
}

type userBody struct {
	readOnly
	Username    *string `json:"username"`
	Email       *string `json:"email"`
	FirstName   *string `json:"first_name"`
	LastName    *string `json:"last_name"`
	IsSuperuser *bool   `json:"is_superuser"`
	IsActive    *bool   `json:"is_active"`
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9@.+_-]{1,150}$`)

func (b userBody) validate(creating bool) fieldErrors {
	errs := fieldErrors{}
	switch {
	case b.Username == nil && creating:
		errs.add("username", "This field is required.")
	case b.Username != nil && !creating:
		errs.add("username", "A username cannot change: decisions are recorded under it.")
	case b.Username != nil && !usernamePattern.MatchString(*b.Username):
		errs.add("username", "Use 1 to 150 letters, digits and @.+-_ only.")
	}
	if b.Email != nil && *b.Email != "" && (len(*b.Email) > 254 || !strings.Contains(*b.Email, "@")) {
		errs.add("email", "Enter a valid email address.")
	}
	for name, v := range map[string]*string{"first_name": b.FirstName, "last_name": b.LastName} {
		if v != nil && len(*v) > 150 {
			errs.add(name, "Use at most 150 characters.")
		}
	}
	return errs
}

func (s *Server) createUser(c *gin.Context) {
	if err := access.CanCreateIn(caller(c), access.User, 0); err != nil {
		c.Error(err)
		return
	}
	var b userBody
	if err := bind(c, &b); err != nil {
		c.Error(err)
		return
	}
	if err := b.validate(true).err(); err != nil {
		c.Error(err)
		return
	}
	u, err := s.d.Store.CreateUser(c.Request.Context(), store.NewUser{
		Username: *b.Username, Email: deref(b.Email), FirstName: deref(b.FirstName), LastName: deref(b.LastName),
		IsSuperuser: b.IsSuperuser != nil && *b.IsSuperuser,
	})
	if errors.Is(err, store.ErrConflict) {
		err = fieldErrors{"username": {"A user with that username already exists."}}.err()
	}
	if err != nil {
		c.Error(err)
		return
	}
	if b.IsActive != nil && !*b.IsActive {
		if u, err = s.d.Store.UpdateUser(c.Request.Context(), u.ID, store.UserUpdate{IsActive: b.IsActive}); err != nil {
			c.Error(err)
			return
		}
	}
	if u.IsSuperuser && u.IsActive {
		s.approversChanged(c.Request.Context(), approversChange{Superuser: true, Reason: fmt.Sprintf("user %s was created a superuser", u.Username)})
	}
	c.JSON(http.StatusCreated, userView(u))
}

// updateUser changes a profile. Users edit their own names and email; only
// superusers change who is a superuser or active, and such a change makes
// every waiting request resolve its approvers again.
func (s *Server) updateUser(c *gin.Context) {
	u, err := s.userFor(c, access.Update)
	if err != nil {
		c.Error(err)
		return
	}
	p := caller(c)
	b := userBody{readOnly: shown(userView(u))}
	err = bindAuthorized(c, &b, func(peek func(any) error) error {
		if p.IsSuperuser {
			return nil
		}
		// Who is a superuser or active is the superusers' to say: anyone
		// else sending either with another value than the user's is
		// refused, whatever the value or the rest of the body.
		var head struct {
			IsSuperuser json.RawMessage `json:"is_superuser"`
			IsActive    json.RawMessage `json:"is_active"`
		}
		if err := peek(&head); err != nil {
			return err
		}
		if (head.IsSuperuser != nil && !sameValue(head.IsSuperuser, u.IsSuperuser)) ||
			(head.IsActive != nil && !sameValue(head.IsActive, u.IsActive)) {
			return access.ErrForbidden
		}
		return nil
	})
	if err != nil {
		c.Error(err)
		return
	}
	dropSame(&b.Username, u.Username)
	dropSame(&b.Email, u.Email)
	dropSame(&b.FirstName, u.FirstName)
	dropSame(&b.LastName, u.LastName)
	dropSame(&b.IsSuperuser, u.IsSuperuser)
	dropSame(&b.IsActive, u.IsActive)
	errs := b.validate(false)
	if p.UserID == u.ID && ((b.IsSuperuser != nil && !*b.IsSuperuser) || (b.IsActive != nil && !*b.IsActive)) {
		errs.add("is_superuser", "You cannot demote or deactivate yourself.")
	}
	if err := errs.err(); err != nil {
		c.Error(err)
		return
	}
	if b.Email == nil && b.FirstName == nil && b.LastName == nil && b.IsSuperuser == nil && b.IsActive == nil {
		c.JSON(http.StatusOK, userView(u)) // nothing to change
		return
	}
	ctx := c.Request.Context()
	updated, err := s.d.Store.UpdateUser(ctx, u.ID, store.UserUpdate{
		Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, IsSuperuser: b.IsSuperuser, IsActive: b.IsActive,
	})
	if err != nil {
		c.Error(err)
		return
	}
	switch {
	case updated.IsSuperuser != u.IsSuperuser:
		s.approversChanged(ctx, approversChange{Superuser: true, User: &u.ID, Reason: fmt.Sprintf("user %s became or stopped being a superuser", u.Username)})
	case updated.IsActive != u.IsActive:
		s.approversChanged(ctx, approversChange{Superuser: u.IsSuperuser, User: &u.ID, Reason: fmt.Sprintf("user %s was activated or deactivated", u.Username)})
	}
	c.JSON(http.StatusOK, userView(updated))
}

func (s *Server) deleteUser(c *gin.Context) {
	u, err := s.userFor(c, access.Delete)
	if err != nil {
		c.Error(err)
		return
	}
	if u.ID == caller(c).UserID {
		c.Error(conflict("You cannot delete yourself."))
		return
	}
	ctx := c.Request.Context()
	ids, err := s.requests.Affected(ctx, approversChange{User: &u.ID})
	if err != nil {
		c.Error(err)
		return
	}
	if err := s.d.Store.DeleteUser(ctx, u.ID); err != nil {
		if errors.Is(err, store.ErrReferenced) {
			err = conflict(fmt.Sprintf("User %s has requested or decided on service requests; deactivate the account instead (is_active false).", u.Username))
		}
		c.Error(err)
		return
	}
	s.approversChanged(ctx, approversChange{Superuser: u.IsSuperuser, Requests: ids, Reason: fmt.Sprintf("user %s was deleted", u.Username)})
	c.Status(http.StatusNoContent)
}

func (s *Server) listTokens(c *gin.Context) {
	u, err := s.userFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	if p := caller(c); !p.IsSuperuser && p.UserID != u.ID {
		c.Error(access.ErrForbidden)
		return
	}
	opts, err := listQuery(c)
	if err != nil {
		c.Error(err)
		return
	}
	tokens, total, err := s.d.Store.ListTokens(c.Request.Context(), u.ID, opts)
	if err != nil {
		c.Error(err)
		return
	}
	out := make([]gin.H, len(tokens))
	for i, t := range tokens {
		out[i] = tokenView(t)
	}
	page(c, opts, total, out)
}

// createToken issues a token for the user; its text is in this answer only.
func (s *Server) createToken(c *gin.Context) {
	u, err := s.userFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	if err := access.Check(caller(c), access.Create, access.Object{Resource: access.Token, Owner: u.ID}); err != nil {
		if errors.Is(err, access.ErrHidden) {
			err = access.ErrForbidden // the user is visible; their tokens are not theirs to issue
		}
		c.Error(err)
		return
	}
	var b struct {
		Description *string `json:"description"`
	}
	if err := bind(c, &b); err != nil {
		c.Error(err)
		return
	}
	if len(deref(b.Description)) > 512 {
		c.Error(fieldErrors{"description": {"Use at most 512 characters."}}.err())
		return
	}
	plain, t, err := s.d.Store.CreateToken(c.Request.Context(), u.ID, deref(b.Description))
	if err != nil {
		c.Error(err)
		return
	}
	out := tokenView(t)
	out["token"] = plain
	c.JSON(http.StatusCreated, out)
}

func (s *Server) revokeToken(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		c.Error(err)
		return
	}
	ctx := c.Request.Context()
	t, err := s.d.Store.GetToken(ctx, id)
	if err != nil {
		c.Error(err)
		return
	}
	if err := access.Check(caller(c), access.Delete, access.Object{Resource: access.Token, Owner: t.UserID}); err != nil {
		c.Error(err)
		return
	}
	if err := s.d.Store.RevokeToken(ctx, t.ID); err != nil {
		c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}
