package api

import (
	"context"
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
	s.users().mount(r, "/users/", access.User, calls[account]{list: s.listUsers, filters: userFilters,
		create: s.createUser, update: s.updateUser, remove: s.deleteUser})
	r.GET("/users/:id/tokens/", handle(s.listTokens))
	r.POST("/users/:id/tokens/", handle(s.createToken))
	r.DELETE("/tokens/:id/", revoke(access.Token, s.d.Store.GetToken, s.d.Store.RevokeToken,
		func(t store.Token) (int64, int64) { return t.ID, t.UserID }))
}

// userFilters are the filters of the list of users.
var userFilters = []string{"username", "search"}

// account is a user and the organizations they belong to, which decide
// who sees them (nil in lists, which show only users their caller sees).
type account struct {
	store.User
	orgs []int64
}

func (s *Server) users() kind[account, User] {
	return kind[account, User]{get: s.getAccount,
		object: func(a account) access.Object { return userObject(a.User, a.orgs) },
		view:   func(p access.Principal, a account) User { return userView(p, a.User) }}
}

func (s *Server) getAccount(ctx context.Context, id int64) (account, error) {
	u, err := s.d.Store.GetUser(ctx, id)
	if err != nil {
		return account{}, err
	}
	roles, err := s.d.Store.UserRoles(ctx, id)
	return account{User: u, orgs: roles.MemberOf}, err
}

// userFor loads the user of the path and checks that the caller may do a.
func (s *Server) userFor(c *gin.Context, a access.Action) (store.User, error) {
	acc, err := s.users().load(c, a)
	return acc.User, err
}

func (s *Server) listUsers(c *gin.Context, scope access.Scope, opts store.ListOptions) ([]account, int, error) {
	f := store.UserFilter{Username: c.Query("username"), Search: c.Query("search")}
	if scope.Organizations != nil {
		f.Visibility = &store.UserVisibility{UserID: scope.Self, AdminOrgIDs: scope.Organizations}
	}
	users, total, err := s.d.Store.ListUsers(c.Request.Context(), f, opts)
	accounts := make([]account, len(users))
	for i, u := range users {
		accounts[i] = account{User: u}
	}
	return accounts, total, err
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

func (s *Server) createUser(c *gin.Context) (account, error) {
	if err := access.CanCreateIn(caller(c), access.User, 0); err != nil {
		return account{}, err
	}
	var b userBody
	if err := bind(c, &b); err != nil {
		return account{}, err
	}
	if err := b.validate(true).err(); err != nil {
		return account{}, err
	}
	u, err := s.d.Store.CreateUser(c.Request.Context(), store.NewUser{
		Username: *b.Username, Email: deref(b.Email), FirstName: deref(b.FirstName), LastName: deref(b.LastName),
		IsSuperuser: b.IsSuperuser != nil && *b.IsSuperuser,
	})
	if errors.Is(err, store.ErrConflict) {
		err = fieldErrors{"username": {"A user with that username already exists."}}.err()
	}
	if err != nil {
		return account{}, err
	}
	if b.IsActive != nil && !*b.IsActive {
		if u, err = s.d.Store.UpdateUser(c.Request.Context(), u.ID, store.UserUpdate{IsActive: b.IsActive}); err != nil {
			return account{}, err
		}
	}
	if u.IsSuperuser && u.IsActive {
		s.approversChanged(c.Request.Context(), approversChange{Superuser: true, Reason: fmt.Sprintf("user %s was created a superuser", u.Username)})
	}
	return account{User: u}, nil
}

// updateUser changes a profile. Users edit their own names and email; only
// superusers change who is a superuser or active, and such a change makes
// every waiting request resolve its approvers again.
func (s *Server) updateUser(c *gin.Context, acc account, ro readOnly) (account, error) {
	u, obj := acc.User, userObject(acc.User, acc.orgs)
	p := caller(c)
	b := userBody{readOnly: ro}
	err := bindAuthorized(c, &b, func(peek func(any) error) error {
		if access.Can(p, access.Manage, obj) {
			return nil
		}
		// Anyone who may not say who is a superuser or active, sending
		// either with another value than the user's, is refused, whatever
		// the value or the rest of the body.
		var head struct {
			IsSuperuser json.RawMessage `json:"is_superuser"`
			IsActive    json.RawMessage `json:"is_active"`
		}
		if err := peek(&head); err != nil {
			return err
		}
		if (head.IsSuperuser != nil && !sameValue(head.IsSuperuser, u.IsSuperuser)) ||
			(head.IsActive != nil && !sameValue(head.IsActive, u.IsActive)) {
			return access.Check(p, access.Manage, obj)
		}
		return nil
	})
	if err != nil {
		return acc, err
	}
	dropSame(&b.Username, u.Username)
	dropSame(&b.Email, u.Email)
	dropSame(&b.FirstName, u.FirstName)
	dropSame(&b.LastName, u.LastName)
	dropSame(&b.IsSuperuser, u.IsSuperuser)
	dropSame(&b.IsActive, u.IsActive)
	errs := b.validate(false)
	demotes := (b.IsSuperuser != nil && !*b.IsSuperuser) || (b.IsActive != nil && !*b.IsActive)
	if demotes && errors.Is(access.Check(p, access.Demote, obj), access.ErrSelf) {
		errs.add("is_superuser", "You cannot demote or deactivate yourself.")
	}
	if err := errs.err(); err != nil {
		return acc, err
	}
	if b.Email == nil && b.FirstName == nil && b.LastName == nil && b.IsSuperuser == nil && b.IsActive == nil {
		return acc, nil
	}
	ctx := c.Request.Context()
	updated, err := s.d.Store.UpdateUser(ctx, u.ID, store.UserUpdate{
		Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, IsSuperuser: b.IsSuperuser, IsActive: b.IsActive,
	})
	if err != nil {
		return acc, err
	}
	switch {
	case updated.IsSuperuser != u.IsSuperuser:
		s.approversChanged(ctx, approversChange{Superuser: true, User: &u.ID, Reason: fmt.Sprintf("user %s became or stopped being a superuser", u.Username)})
	case updated.IsActive != u.IsActive:
		s.approversChanged(ctx, approversChange{Superuser: u.IsSuperuser, User: &u.ID, Reason: fmt.Sprintf("user %s was activated or deactivated", u.Username)})
	}
	if u.IsActive && !updated.IsActive {
		// An inactive user is refused anyway; revoking their sessions
		// keeps them ended should the user be activated again.
		if err := s.d.Store.RevokeUserSessions(ctx, u.ID); err != nil {
			return acc, err
		}
	}
	return account{User: updated, orgs: acc.orgs}, nil
}

// deleteUser deletes an account, and with it their tokens, keys and
// sessions; nobody deletes their own (access.ErrSelf).
func (s *Server) deleteUser(ctx context.Context, acc account) error {
	u := acc.User
	ids, err := s.requests.Affected(ctx, approversChange{User: &u.ID})
	if err != nil {
		return err
	}
	if err := s.d.Store.DeleteUser(ctx, u.ID); err != nil {
		if errors.Is(err, store.ErrReferenced) {
			err = conflict(fmt.Sprintf("User %s has requested or decided on service requests; deactivate the account instead (is_active false).", u.Username))
		}
		return err
	}
	s.approversChanged(ctx, approversChange{Superuser: u.IsSuperuser, Requests: ids, Reason: fmt.Sprintf("user %s was deleted", u.Username)})
	return nil
}

func (s *Server) listTokens(c *gin.Context) error {
	u, err := s.credentialOwner(c, access.Token)
	if err != nil {
		return err
	}
	return listOwned(c, u.ID, s.d.Store.ListTokens, tokenView)
}

// listOwned answers a list of what a user owns (tokens, decision keys),
// as list returns it.
func listOwned[T, V any](c *gin.Context, owner int64, list func(context.Context, int64, store.ListOptions) ([]T, int, error), view func(T) V) error {
	opts, err := listQuery(c)
	if err != nil {
		return err
	}
	xs, total, err := list(c.Request.Context(), owner, opts)
	if err != nil {
		return err
	}
	return writePage(c, opts, total, views(access.Principal{}, xs, func(_ access.Principal, x T) V { return view(x) }))
}

// tokenBody is a token as asked for.
type tokenBody struct {
	Description *string `json:"description"`
}

// createToken issues a token for the user; its text is in this answer only.
func (s *Server) createToken(c *gin.Context) error {
	u, err := s.userFor(c, access.View)
	if err != nil {
		return err
	}
	if err := access.Check(caller(c), access.Create, access.Object{Resource: access.Token, Owner: u.ID}); err != nil {
		return access.ErrForbidden // the user is visible; their tokens are not theirs to issue
	}
	var b tokenBody
	if err := bind(c, &b); err != nil {
		return err
	}
	if len(deref(b.Description)) > 512 {
		return fieldErrors{"description": {"Use at most 512 characters."}}.err()
	}
	plain, t, err := s.d.Store.CreateToken(c.Request.Context(), u.ID, deref(b.Description))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, NewToken{Token: tokenView(t), Secret: plain})
	return nil
}

// revoke answers DELETE of a credential (a token, a decision key) of
// resource r: loaded with get, revoked with revokeID by its owner or a
// superuser; ids tells a credential's id and owner.
func revoke[T any](r access.Resource, get func(context.Context, int64) (T, error), revokeID func(context.Context, int64) error,
	ids func(T) (id, owner int64)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		x, err := loadFor(c, access.Delete, get, func(x T) access.Object {
			_, owner := ids(x)
			return access.Object{Resource: r, Owner: owner}
		})
		if err != nil {
			return err
		}
		id, _ := ids(x)
		if err := revokeID(c.Request.Context(), id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}
