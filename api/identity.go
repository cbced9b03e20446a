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
	s.organizations().mount(r, "/organizations/", access.Organization, calls[store.Organization]{list: s.listOrganizations,
		filters: organizationFilters, create: s.createOrganization, update: s.updateOrganization, remove: s.deleteOrganization})
	r.GET("/organizations/:id/admins/", s.listOrgUsers(s.d.Store.ListOrgAdminUsers))
	r.POST("/organizations/:id/admins/", handle(s.changeOrgAdmins))
	r.GET("/organizations/:id/users/", s.listOrgUsers(s.d.Store.ListOrgMemberUsers))
	r.POST("/organizations/:id/users/", handle(s.changeOrgMembers))
}

// organizationFilters are the filters of the list of organizations.
var organizationFilters = []string{"name"}

func (s *Server) organizations() kind[store.Organization, Organization] {
	return kind[store.Organization, Organization]{get: s.d.Store.GetOrganization,
		object: func(o store.Organization) access.Object { return orgObject(o.ID) }, view: orgView}
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

func (s *Server) listOrganizations(c *gin.Context, scope access.Scope, opts store.ListOptions) ([]store.Organization, int, error) {
	return s.d.Store.ListOrganizations(c.Request.Context(), store.OrganizationFilter{Name: c.Query("name"), IDs: scope.Organizations}, opts)
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

// bindChange binds a PATCH body of an object stored with name and desc,
// forgets what it gives unchanged and validates the rest; check adds the
// caller's own field errors. It returns the name and description to store
// and whether either changes.
func (b *nameBody) bindChange(c *gin.Context, name, desc string, check func(fieldErrors)) (string, string, bool, error) {
	if err := bind(c, b); err != nil {
		return name, desc, false, err
	}
	dropSame(&b.Name, name)
	dropSame(&b.Description, desc)
	errs := b.validate(false, true)
	check(errs)
	if err := errs.err(); err != nil {
		return name, desc, false, err
	}
	if b.Name != nil {
		name = strings.TrimSpace(*b.Name)
	}
	if b.Description != nil {
		desc = *b.Description
	}
	return name, desc, b.Name != nil || b.Description != nil, nil
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

func (s *Server) createOrganization(c *gin.Context) (store.Organization, error) {
	if err := access.CanCreateIn(caller(c), access.Organization, 0); err != nil {
		return store.Organization{}, err
	}
	var b orgBody
	if err := bind(c, &b); err != nil {
		return store.Organization{}, err
	}
	errs, awxOrg, linked := b.validate(true)
	if err := errs.err(); err != nil {
		return store.Organization{}, err
	}
	ctx := c.Request.Context()
	o, err := s.d.Store.CreateOrganization(ctx, strings.TrimSpace(*b.Name), deref(b.Description))
	if err == nil && linked {
		o, err = s.d.Store.LinkAWXOrganization(ctx, o.ID, awxOrg)
	}
	return o, orgWriteError(err)
}

func orgWriteError(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return fieldErrors{"name": {"An organization with this name already exists."}}.err()
	}
	return err
}

func (s *Server) updateOrganization(c *gin.Context, o store.Organization, ro readOnly) (store.Organization, error) {
	b := orgBody{readOnly: ro}
	if err := bind(c, &b); err != nil {
		return o, err
	}
	dropSame(&b.Name, o.Name)
	dropSame(&b.Description, o.Description)
	errs, awxOrg, linked := b.validate(false)
	if err := errs.err(); err != nil {
		return o, err
	}
	linked = linked && !sameID(awxOrg, o.AWXOrganization)
	if b.Name == nil && b.Description == nil && !linked {
		return o, nil
	}
	name, desc := o.Name, o.Description
	if b.Name != nil {
		name = strings.TrimSpace(*b.Name)
	}
	if b.Description != nil {
		desc = *b.Description
	}
	ctx := c.Request.Context()
	o, err := s.d.Store.UpdateOrganization(ctx, o.ID, name, desc)
	if err == nil && linked {
		o, err = s.d.Store.LinkAWXOrganization(ctx, o.ID, awxOrg)
	}
	return o, orgWriteError(err)
}

func (s *Server) deleteOrganization(ctx context.Context, o store.Organization) error {
	err := s.d.Store.DeleteOrganization(ctx, o.ID)
	if errors.Is(err, store.ErrReferenced) {
		err = conflict(fmt.Sprintf("Organization %q still has catalog items, policies or requests.", o.Name))
	}
	return err
}

// listOrgUsers answers a list of the users of a membership of the
// organization of the path (its admins, its members) that list returns.
func (s *Server) listOrgUsers(list func(context.Context, int64, store.ListOptions) ([]store.User, int, error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		o, err := s.organizations().load(c, access.View)
		if err != nil {
			return err
		}
		return s.listMembersOf(c, o.ID, func(ctx context.Context, opts store.ListOptions) ([]store.User, int, error) {
			return list(ctx, o.ID, opts)
		})
	})
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

// changeOrgAdmins adds or removes an admin, then tells waiting requests
// decided by the organization's admins.
func (s *Server) changeOrgAdmins(c *gin.Context) error {
	o, err := s.organizations().load(c, access.Members)
	if err != nil {
		return err
	}
	if err := s.changeMembership(c, o.ID, o.ID, sameOrganization, s.d.Store.AddOrgAdmin, s.d.Store.RemoveOrgAdmin); err != nil {
		return err
	}
	s.approversChanged(c.Request.Context(), approversChange{OrgAdmins: &o.ID, Reason: fmt.Sprintf("the admins of organization %s changed", o.Name)})
	c.Status(http.StatusNoContent)
	return nil
}

// changeOrgMembers adds or removes a member of the organization (someone
// who may request from its catalog without being in one of its teams).
func (s *Server) changeOrgMembers(c *gin.Context) error {
	o, err := s.organizations().load(c, access.Members)
	if err != nil {
		return err
	}
	if err := s.changeMembership(c, o.ID, o.ID, anyOfCallers, s.d.Store.AddOrgMember, s.d.Store.RemoveOrgMember); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// listMembersOf pages the users of a membership (admins, members, team
// members) of organization org that list returns: in full to the
// organization's admins, as fellow members see them to others.
func (s *Server) listMembersOf(c *gin.Context, org int64, list func(context.Context, store.ListOptions) ([]store.User, int, error)) error {
	opts, err := listQuery(c)
	if err != nil {
		return err
	}
	users, total, err := list(c.Request.Context(), opts)
	if err != nil {
		return err
	}
	if p := caller(c); p.Admin(org) {
		return writePage(c, opts, total, views(p, users, userView))
	}
	return writePage(c, opts, total, views(caller(c), users, func(_ access.Principal, u store.User) UserSummary { return userSummary(u) }))
}

// changeMembership adds the user of an association body to group (an
// organization's admins or members, a team) of organization org, or
// removes them; removing someone who is not there is no error.
func (s *Server) changeMembership(c *gin.Context, group, org int64, scope associationScope,
	add, remove func(ctx context.Context, group, user int64) error) error {
	b, err := s.bindAssociation(c, org, scope)
	if err != nil {
		return err
	}
	if !b.Disassociate {
		return add(c.Request.Context(), group, *b.ID)
	}
	if err := remove(c.Request.Context(), group, *b.ID); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil // already not there
}
