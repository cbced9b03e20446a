package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

func (s *Server) organizationRoutes(r *gin.RouterGroup) {
	s.organizations().mount(r, "/organizations/", access.Organization, calls[store.Organization]{list: s.listOrganizations,
		filters: organizationFilters, create: s.createOrganization, update: s.updateOrganization, remove: s.deleteOrganization})
	mountMembers(s, r, "/organizations/:id/admins/", s.organizations(), s.orgAdmins)
	mountMembers(s, r, "/organizations/:id/users/", s.organizations(), s.orgMembers)
}

// orgAdmins are o's admins; a change tells the waiting requests they
// decide.
func (s *Server) orgAdmins(o store.Organization) membership {
	return membership{group: o.ID, org: o.ID, scope: sameOrganization,
		list: s.d.Store.ListOrgAdminUsers, add: s.d.Store.AddOrgAdmin, remove: s.d.Store.RemoveOrgAdmin,
		changed: &approversChange{OrgAdmins: &o.ID, Reason: fmt.Sprintf("the admins of organization %s changed", o.Name)}}
}

// orgMembers are o's members: people who may request from its catalog
// without being in one of its teams, whom its admins may bring from any
// organization they administer.
func (s *Server) orgMembers(o store.Organization) membership {
	return membership{group: o.ID, org: o.ID, scope: anyOfCallers,
		list: s.d.Store.ListOrgMemberUsers, add: s.d.Store.AddOrgMember, remove: s.d.Store.RemoveOrgMember}
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
	return nameTaken(err, "An organization with this name already exists.")
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
