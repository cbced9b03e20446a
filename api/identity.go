package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

func (s *Server) organizationRoutes(r *gin.RouterGroup) {
	r.GET("/organizations/", s.listOrganizations)
	r.POST("/organizations/", s.createOrganization)
	r.GET("/organizations/:id/", s.getOrganization)
	r.PATCH("/organizations/:id/", s.updateOrganization)
	r.DELETE("/organizations/:id/", s.deleteOrganization)
	r.GET("/organizations/:id/admins/", s.listOrgAdmins)
	r.POST("/organizations/:id/admins/", s.changeOrgAdmins)
	r.GET("/organizations/:id/users/", s.listOrgMembers)
	r.POST("/organizations/:id/users/", s.changeOrgMembers)
}

// canCreate checks that the caller may create a resource in org; an
// organization they cannot see is a bad reference in the body, as AWX
// answers for an invalid pk.
func (s *Server) canCreate(c *gin.Context, r access.Resource, org int64) error {
	invalid := fieldErrors{"organization": {fmt.Sprintf("Invalid pk \"%d\" - object does not exist.", org)}}.err()
	err := access.CanCreateIn(caller(c), r, org)
	if errors.Is(err, access.ErrHidden) {
		return invalid
	}
	if err != nil {
		return err
	}
	if _, err := s.d.Store.GetOrganization(c.Request.Context(), org); errors.Is(err, store.ErrNotFound) {
		return invalid
	} else if err != nil {
		return err
	}
	return nil
}

// bindForCreate decodes into dst the body of a call that creates an object
// of resource r in the organization the body names, authorizing before
// validating (bindAuthorized): a caller who may create r in no
// organization is refused before the body is read; then only the
// organization is read from the body and checked as canCreate does; only
// then is the whole body decoded, strictly, for the handler to validate the
// rest. It returns the organization's id.
func (s *Server) bindForCreate(c *gin.Context, r access.Resource, dst any) (int64, error) {
	var org int64
	err := bindAuthorized(c, dst, func(peek func(any) error) error {
		if err := access.CanCreateSomewhere(caller(c), r); err != nil {
			return err
		}
		var head struct {
			Organization *int64 `json:"organization"`
		}
		if err := peek(&head); err != nil {
			return err
		}
		if head.Organization == nil {
			return fieldErrors{"organization": {"This field is required."}}.err()
		}
		org = *head.Organization
		return s.canCreate(c, r, org)
	})
	return org, err
}

func orgObject(id int64) access.Object {
	return access.Object{Resource: access.Organization, Organization: id}
}

func (s *Server) orgFor(c *gin.Context, a access.Action) (store.Organization, error) {
	id, err := pathID(c)
	if err != nil {
		return store.Organization{}, err
	}
	if err := access.Check(caller(c), a, orgObject(id)); err != nil {
		return store.Organization{}, err
	}
	return s.d.Store.GetOrganization(c.Request.Context(), id)
}

func (s *Server) listOrganizations(c *gin.Context) {
	opts, err := listQuery(c, "name")
	if err != nil {
		c.Error(err)
		return
	}
	f := store.OrganizationFilter{Name: c.Query("name")}
	if p := caller(c); !p.IsSuperuser {
		f.IDs = nonNilIDs(append(append([]int64{}, p.MemberOf...), p.AdminOf...))
	}
	orgs, total, err := s.d.Store.ListOrganizations(c.Request.Context(), f, opts)
	if err != nil {
		c.Error(err)
		return
	}
	out := make([]gin.H, len(orgs))
	for i, o := range orgs {
		out[i] = orgView(o)
	}
	page(c, opts, total, out)
}

// nameBody is the body of objects that have a name and a description.
type nameBody struct {
	readOnly
	Name         *string `json:"name"`
	Description  *string `json:"description"`
	Organization *int64  `json:"organization"`
}

func (b nameBody) validate(creating, needsOrg bool) fieldErrors {
	errs := fieldErrors{}
	switch {
	case b.Name == nil && creating:
		errs.add("name", "This field is required.")
	case b.Name != nil && (strings.TrimSpace(*b.Name) == "" || len(*b.Name) > 512):
		errs.add("name", "Give a name of 1 to 512 characters.")
	}
	if b.Description != nil && len(*b.Description) > 4000 {
		errs.add("description", "Use at most 4000 characters.")
	}
	if !needsOrg && b.Organization != nil {
		errs.add("organization", "Unknown field.")
	}
	return errs
}

// orgBody is an organization as written; awx_organization (an AWX
// organization id, or null) links it to the AWX organization whose
// templates its admins may offer.
type orgBody struct {
	readOnly
	Name            *string         `json:"name"`
	Description     *string         `json:"description"`
	AWXOrganization json.RawMessage `json:"awx_organization"`
}

func (b orgBody) validate(creating bool) (fieldErrors, *int64, bool) {
	errs := nameBody{Name: b.Name, Description: b.Description}.validate(creating, false)
	awxOrg, set, err := nullableID(b.AWXOrganization)
	if err != nil {
		errs.add("awx_organization", "Give an AWX organization id, or null.")
	}
	return errs, awxOrg, set
}

func (s *Server) createOrganization(c *gin.Context) {
	if err := access.CanCreateIn(caller(c), access.Organization, 0); err != nil {
		c.Error(err)
		return
	}
	var b orgBody
	if err := bind(c, &b); err != nil {
		c.Error(err)
		return
	}
	errs, awxOrg, linked := b.validate(true)
	if err := errs.err(); err != nil {
		c.Error(err)
		return
	}
	ctx := c.Request.Context()
	o, err := s.d.Store.CreateOrganization(ctx, strings.TrimSpace(*b.Name), deref(b.Description))
	if errors.Is(err, store.ErrConflict) {
		err = fieldErrors{"name": {"An organization with this name already exists."}}.err()
	}
	if err == nil && linked {
		o, err = s.d.Store.LinkAWXOrganization(ctx, o.ID, awxOrg)
	}
	if err != nil {
		c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, orgView(o))
}

func (s *Server) getOrganization(c *gin.Context) {
	o, err := s.orgFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	c.JSON(http.StatusOK, orgView(o))
}

func (s *Server) updateOrganization(c *gin.Context) {
	o, err := s.orgFor(c, access.Update)
	if err != nil {
		c.Error(err)
		return
	}
	b := orgBody{readOnly: shown(orgView(o))}
	if err := bind(c, &b); err != nil {
		c.Error(err)
		return
	}
	dropSame(&b.Name, o.Name)
	dropSame(&b.Description, o.Description)
	errs, awxOrg, linked := b.validate(false)
	if err := errs.err(); err != nil {
		c.Error(err)
		return
	}
	linked = linked && !sameID(awxOrg, o.AWXOrganization)
	if b.Name == nil && b.Description == nil && !linked {
		c.JSON(http.StatusOK, orgView(o)) // nothing to change
		return
	}
	name, desc := o.Name, o.Description
	if b.Name != nil {
		name = strings.TrimSpace(*b.Name)
	}
	if b.Description != nil {
		desc = *b.Description
	}
	o, err = s.d.Store.UpdateOrganization(c.Request.Context(), o.ID, name, desc)
	if errors.Is(err, store.ErrConflict) {
		err = fieldErrors{"name": {"An organization with this name already exists."}}.err()
	}
	if err == nil && linked {
		o, err = s.d.Store.LinkAWXOrganization(c.Request.Context(), o.ID, awxOrg)
	}
	if err != nil {
		c.Error(err)
		return
	}
	c.JSON(http.StatusOK, orgView(o))
}

func (s *Server) deleteOrganization(c *gin.Context) {
	o, err := s.orgFor(c, access.Delete)
	if err != nil {
		c.Error(err)
		return
	}
	if err := s.d.Store.DeleteOrganization(c.Request.Context(), o.ID); err != nil {
		if errors.Is(err, store.ErrReferenced) {
			err = conflict(fmt.Sprintf("Organization %q still has catalog items, policies or requests.", o.Name))
		}
		c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) listOrgAdmins(c *gin.Context) {
	o, err := s.orgFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	s.listMembersOf(c, caller(c).Admin(o.ID), func(ctx context.Context, opts store.ListOptions) ([]store.User, int, error) {
		return s.d.Store.ListOrgAdminUsers(ctx, o.ID, opts)
	})
}

// association is AWX's body to add ({"id": N}) or remove
// ({"id": N, "disassociate": true}) a member.
type association struct {
	ID           *int64 `json:"id"`
	Disassociate bool   `json:"disassociate"`
}

// bindAssociation reads an association body for a membership of org. The
// user must be one the caller may place there: superusers anyone; org
// admins the members of org itself (for teams and admins) or, when
// scope is anyOfCallers, of any organization they administer. Any other id
// reads as nonexistent, so ids cannot be probed.
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
	p := caller(c)
	switch {
	case p.IsSuperuser, b.Disassociate, containsID(roles.MemberOf, org):
		return b, nil
	case scope == anyOfCallers:
		for _, o := range roles.MemberOf {
			if p.Admin(o) {
				return b, nil
			}
		}
	}
	return b, invalid
}

// associationScope says where the users an org admin may place come from.
type associationScope int

const (
	sameOrganization associationScope = iota
	anyOfCallers
)

// changeOrgAdmins adds or removes an admin, then tells waiting requests
// decided by the organization's admins.
func (s *Server) changeOrgAdmins(c *gin.Context) {
	o, err := s.orgFor(c, access.Members)
	if err != nil {
		c.Error(err)
		return
	}
	if !s.changeMembership(c, o.ID, o.ID, sameOrganization, s.d.Store.AddOrgAdmin, s.d.Store.RemoveOrgAdmin) {
		return
	}
	s.approversChanged(c.Request.Context(), approversChange{OrgAdmins: &o.ID, Reason: fmt.Sprintf("the admins of organization %s changed", o.Name)})
	c.Status(http.StatusNoContent)
}

func (s *Server) listOrgMembers(c *gin.Context) {
	o, err := s.orgFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	s.listMembersOf(c, caller(c).Admin(o.ID), func(ctx context.Context, opts store.ListOptions) ([]store.User, int, error) {
		return s.d.Store.ListOrgMemberUsers(ctx, o.ID, opts)
	})
}

// changeOrgMembers adds or removes a member of the organization (someone
// who may request from its catalog without being in one of its teams).
func (s *Server) changeOrgMembers(c *gin.Context) {
	o, err := s.orgFor(c, access.Members)
	if err != nil {
		c.Error(err)
		return
	}
	if s.changeMembership(c, o.ID, o.ID, anyOfCallers, s.d.Store.AddOrgMember, s.d.Store.RemoveOrgMember) {
		c.Status(http.StatusNoContent)
	}
}

// listMembersOf pages the users of a membership (admins, members, team
// members) that list returns.
func (s *Server) listMembersOf(c *gin.Context, full bool, list func(context.Context, store.ListOptions) ([]store.User, int, error)) {
	opts, err := listQuery(c)
	if err != nil {
		c.Error(err)
		return
	}
	users, total, err := list(c.Request.Context(), opts)
	s.renderUsers(c, opts, users, total, err, full)
}

// changeMembership adds the user of an association body to group (an
// organization's admins or members, a team) of organization org, or
// removes them; removing someone who is not there is no error. It reports
// whether it succeeded, having answered the error otherwise.
func (s *Server) changeMembership(c *gin.Context, group, org int64, scope associationScope,
	add, remove func(ctx context.Context, group, user int64) error) bool {
	b, err := s.bindAssociation(c, org, scope)
	if err == nil {
		if b.Disassociate {
			if err = remove(c.Request.Context(), group, *b.ID); errors.Is(err, store.ErrNotFound) {
				err = nil // already not there
			}
		} else {
			err = add(c.Request.Context(), group, *b.ID)
		}
	}
	if err != nil {
		c.Error(err)
		return false
	}
	return true
}

// renderUsers pages users; only admins see more than who they are (no
// email, no account flags for fellow members).
func (s *Server) renderUsers(c *gin.Context, opts store.ListOptions, users []store.User, total int, err error, full bool) {
	if err != nil {
		c.Error(err)
		return
	}
	out := make([]gin.H, len(users))
	for i, u := range users {
		if full {
			out[i] = userView(u)
		} else {
			out[i] = userSummary(u)
		}
	}
	page(c, opts, total, out)
}
