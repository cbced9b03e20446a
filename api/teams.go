package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

func (s *Server) teamRoutes(r *gin.RouterGroup) {
	r.GET("/teams/", s.listTeams)
	r.POST("/teams/", s.createTeam)
	r.GET("/teams/:id/", s.getTeam)
	r.PATCH("/teams/:id/", s.updateTeam)
	r.DELETE("/teams/:id/", s.deleteTeam)
	r.GET("/teams/:id/members/", s.listMembers)
	r.POST("/teams/:id/members/", s.changeMembers)
}

func (s *Server) teamFor(c *gin.Context, a access.Action) (store.Team, error) {
	return loadFor(c, a, s.d.Store.GetTeam, func(t store.Team) access.Object {
		return access.Object{Resource: access.Team, Organization: t.OrganizationID}
	})
}

func (s *Server) listTeams(c *gin.Context) {
	opts, err := listQuery(c, "organization", "name")
	if err != nil {
		c.Error(err)
		return
	}
	f := store.TeamFilter{Name: c.Query("name")}
	if p := caller(c); !p.IsSuperuser {
		f.OrganizationIDs = nonNilIDs(append(append([]int64{}, p.MemberOf...), p.AdminOf...))
	}
	org, err := idParam(c, "organization")
	if err != nil {
		c.Error(err)
		return
	}
	if org != nil {
		f.OrganizationIDs = intersect(f.OrganizationIDs, *org)
	}
	teams, total, err := s.d.Store.ListTeams(c.Request.Context(), f, opts)
	if err != nil {
		c.Error(err)
		return
	}
	out := make([]gin.H, len(teams))
	for i, t := range teams {
		out[i] = teamView(t)
	}
	page(c, opts, total, out)
}

func (s *Server) createTeam(c *gin.Context) {
	var b nameBody
	org, err := s.bindForCreate(c, access.Team, &b)
	if err != nil {
		c.Error(err)
		return
	}
	if err := b.validate(true, true).err(); err != nil {
		c.Error(err)
		return
	}
	t, err := s.d.Store.CreateTeam(c.Request.Context(), org, strings.TrimSpace(*b.Name), deref(b.Description))
	if err != nil {
		c.Error(teamWriteError(err))
		return
	}
	c.JSON(http.StatusCreated, teamView(t))
}

func teamWriteError(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return fieldErrors{"name": {"This organization already has a team with this name."}}.err()
	}
	return err
}

func (s *Server) getTeam(c *gin.Context) {
	t, err := s.teamFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	c.JSON(http.StatusOK, teamView(t))
}

func (s *Server) updateTeam(c *gin.Context) {
	t, err := s.teamFor(c, access.Update)
	if err != nil {
		c.Error(err)
		return
	}
	b := nameBody{readOnly: shown(teamView(t))}
	if err := bind(c, &b); err != nil {
		c.Error(err)
		return
	}
	dropSame(&b.Name, t.Name)
	dropSame(&b.Description, t.Description)
	errs := b.validate(false, true)
	if b.Organization != nil && *b.Organization != t.OrganizationID {
		errs.add("organization", "A team stays in its organization.")
	}
	if err := errs.err(); err != nil {
		c.Error(err)
		return
	}
	if b.Name == nil && b.Description == nil {
		c.JSON(http.StatusOK, teamView(t)) // nothing to change
		return
	}
	name, desc := t.Name, t.Description
	if b.Name != nil {
		name = strings.TrimSpace(*b.Name)
	}
	if b.Description != nil {
		desc = *b.Description
	}
	t, err = s.d.Store.UpdateTeam(c.Request.Context(), t.ID, name, desc)
	if err != nil {
		c.Error(teamWriteError(err))
		return
	}
	c.JSON(http.StatusOK, teamView(t))
}

func (s *Server) deleteTeam(c *gin.Context) {
	t, err := s.teamFor(c, access.Delete)
	if err != nil {
		c.Error(err)
		return
	}
	ctx := c.Request.Context()
	// Requests waiting for this team must learn that its members no longer
	// decide; the stage loses its team id with the team, so look first.
	ids, err := s.d.Store.PendingRequestsUsingTeam(ctx, t.ID)
	if err != nil {
		c.Error(err)
		return
	}
	if err := s.d.Store.DeleteTeam(ctx, t.ID); err != nil {
		if errors.Is(err, store.ErrReferenced) {
			err = conflict(fmt.Sprintf("Team %q still approves catalog items or policy stages; change those first.", t.Name))
		}
		c.Error(err)
		return
	}
	s.approversChanged(ctx, approversChange{Requests: ids, Reason: fmt.Sprintf("team %s was deleted", t.Name)})
	c.Status(http.StatusNoContent)
}

func (s *Server) listMembers(c *gin.Context) {
	t, err := s.teamFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	s.listMembersOf(c, caller(c).Admin(t.OrganizationID), func(ctx context.Context, opts store.ListOptions) ([]store.User, int, error) {
		return s.d.Store.ListTeamMemberUsers(ctx, t.ID, opts)
	})
}

// changeMembers adds or removes a member, then tells the waiting requests
// whose open stage this team decides (SPEC 3.5: eligibility follows team
// membership while a request waits).
func (s *Server) changeMembers(c *gin.Context) {
	t, err := s.teamFor(c, access.Members)
	if err != nil {
		c.Error(err)
		return
	}
	if !s.changeMembership(c, t.ID, t.OrganizationID, sameOrganization, s.d.Store.AddTeamMember, s.d.Store.RemoveTeamMember) {
		return
	}
	s.approversChanged(c.Request.Context(), approversChange{Team: &t.ID, Reason: fmt.Sprintf("the members of team %s changed", t.Name)})
	c.Status(http.StatusNoContent)
}
