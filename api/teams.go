package api

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

func (s *Server) teamRoutes(r *gin.RouterGroup) {
	s.teams().mount(r, "/teams/", access.Team, calls[store.Team]{list: s.listTeams, filters: teamFilters,
		create: s.createTeam, update: s.updateTeam, remove: s.deleteTeam})
	mountMembers(s, r, "/teams/:id/members/", s.teams(), s.teamMembers)
}

// teamFilters are the filters of the list of teams.
var teamFilters = []string{"organization", "name"}

func (s *Server) teams() kind[store.Team, Team] {
	return kind[store.Team, Team]{get: s.d.Store.GetTeam, object: teamObject, view: teamView}
}

func (s *Server) listTeams(c *gin.Context, scope access.Scope, opts store.ListOptions) ([]store.Team, int, error) {
	return s.d.Store.ListTeams(c.Request.Context(), store.TeamFilter{Name: c.Query("name"), OrganizationIDs: scope.Organizations}, opts)
}

func (s *Server) createTeam(c *gin.Context) (store.Team, error) {
	var b nameBody
	org, err := s.bindForCreate(c, access.Team, &b)
	if err != nil {
		return store.Team{}, err
	}
	if err := b.validate(true, true).err(); err != nil {
		return store.Team{}, err
	}
	t, err := s.d.Store.CreateTeam(c.Request.Context(), org, strings.TrimSpace(*b.Name), deref(b.Description))
	return t, teamWriteError(err)
}

func teamWriteError(err error) error {
	return nameTaken(err, "This organization already has a team with this name.")
}

func (s *Server) updateTeam(c *gin.Context, t store.Team, ro readOnly) (store.Team, error) {
	b := nameBody{readOnly: ro}
	name, desc, changed, err := b.bindChange(c, t.Name, t.Description, func(errs fieldErrors) {
		errs.staysIn(b.Organization, t.OrganizationID, "A team stays in its organization.")
	})
	if err != nil || !changed {
		return t, err
	}
	t, err = s.d.Store.UpdateTeam(c.Request.Context(), t.ID, name, desc)
	return t, teamWriteError(err)
}

func (s *Server) deleteTeam(ctx context.Context, t store.Team) error {
	// Requests waiting for this team must learn that its members no longer
	// decide; the stage loses its team id with the team, so look first.
	ids, err := s.d.Store.PendingRequestsUsingTeam(ctx, t.ID)
	if err != nil {
		return err
	}
	if err := s.d.Store.DeleteTeam(ctx, t.ID); err != nil {
		if errors.Is(err, store.ErrReferenced) {
			err = conflict(fmt.Sprintf("Team %q still approves catalog items or policy stages; change those first.", t.Name))
		}
		return err
	}
	s.approversChanged(ctx, approversChange{Requests: ids, Reason: fmt.Sprintf("team %s was deleted", t.Name)})
	return nil
}

// teamMembers are t's members; a change tells the waiting requests whose
// open stage t decides (SPEC 3.5: eligibility follows team membership
// while a request waits).
func (s *Server) teamMembers(t store.Team) membership {
	return membership{group: t.ID, org: t.OrganizationID, scope: sameOrganization,
		list: s.d.Store.ListTeamMemberUsers, add: s.d.Store.AddTeamMember, remove: s.d.Store.RemoveTeamMember,
		changed: &approversChange{Team: &t.ID, Reason: fmt.Sprintf("the members of team %s changed", t.Name)}}
}
