package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

func (s *Server) policyRoutes(r *gin.RouterGroup) {
	r.GET("/approval_policies/", s.listPolicies)
	r.POST("/approval_policies/", s.createPolicy)
	r.GET("/approval_policies/:id/", s.getPolicy)
	r.PATCH("/approval_policies/:id/", s.updatePolicy)
	r.DELETE("/approval_policies/:id/", s.deletePolicy)
}

func (s *Server) policyFor(c *gin.Context, a access.Action) (store.Policy, error) {
	return loadFor(c, a, s.d.Store.GetPolicy, func(p store.Policy) access.Object {
		return access.Object{Resource: access.Policy, Organization: p.OrganizationID}
	})
}

func (s *Server) listPolicies(c *gin.Context) {
	opts, err := listQuery(c, "organization")
	if err != nil {
		c.Error(err)
		return
	}
	var f store.PolicyFilter
	if p := caller(c); !p.IsSuperuser {
		f.OrganizationIDs = nonNilIDs(p.AdminOf)
	}
	org, err := idParam(c, "organization")
	if err != nil {
		c.Error(err)
		return
	}
	if org != nil {
		f.OrganizationIDs = intersect(f.OrganizationIDs, *org)
	}
	policies, total, err := s.d.Store.ListPolicies(c.Request.Context(), f, opts)
	if err != nil {
		c.Error(err)
		return
	}
	out := make([]gin.H, len(policies))
	for i, p := range policies {
		out[i] = policyView(p)
	}
	page(c, opts, total, out)
}

func (s *Server) getPolicy(c *gin.Context) {
	p, err := s.policyFor(c, access.View)
	if err != nil {
		c.Error(err)
		return
	}
	c.JSON(http.StatusOK, policyView(p))
}

// policyBody is a policy as written; stages, when given, replace all of
// them. Durations are Go duration strings ("72h", "30m").
type policyBody struct {
	readOnly
	Organization *int64       `json:"organization"`
	Name         *string      `json:"name"`
	Priority     *int         `json:"priority"`
	Condition    *string      `json:"condition"`
	Enabled      *bool        `json:"enabled"`
	Stages       *[]stageBody `json:"stages"`
}

// stageBody is a stage as written. Its order is its place in the list:
// sent back as GET shows it, it must be that place (a stage is moved in the
// list, not renumbered); its summary_fields are ignored.
type stageBody struct {
	Order            *int            `json:"order"`
	SummaryFields    json.RawMessage `json:"summary_fields"`
	Name             *string         `json:"name"`
	ApproverTeam     *int64          `json:"approver_team"`
	MinApprovers     *int            `json:"min_approvers"`
	DenialMessage    *string         `json:"denial_message"`
	Timeout          *string         `json:"timeout"`
	ReminderInterval *string         `json:"reminder_interval"`
}

// maxStages bounds a policy's stages.
const maxStages = 20

// validate checks a policy body: names, the CEL condition (see
// approval.CheckCondition; compiling it costs up to milliseconds, so only
// callers already authorized get here), and each stage's approvers and
// durations (timeout default 72h, reminder interval default 24h, "0s" for
// none), which must be within limits.
func (b policyBody) validate(creating bool, limits approval.StageLimits) (fieldErrors, []store.PolicyStage) {
	errs := nameBody{Name: b.Name}.validate(creating, false)
	if b.Condition != nil {
		if err := approval.CheckCondition(*b.Condition); err != nil {
			errs.add("condition", err.Error())
		}
	}
	if b.Priority != nil && (*b.Priority < -1_000_000 || *b.Priority > 1_000_000) {
		errs.add("priority", "Use a number between -1000000 and 1000000.")
	}
	if b.Stages == nil {
		if creating {
			errs.add("stages", "Give at least one stage.")
		}
		return errs, nil
	}
	if len(*b.Stages) == 0 || len(*b.Stages) > maxStages {
		errs.add("stages", fmt.Sprintf("Give 1 to %d stages.", maxStages))
	}
	stages := make([]store.PolicyStage, 0, len(*b.Stages))
	for i, sb := range *b.Stages {
		key := func(f string) string { return fmt.Sprintf("stages.%d.%s", i, f) }
		if sb.Order != nil && *sb.Order != i+1 {
			errs.add(key("order"), fmt.Sprintf("A stage's order is its place in the list (%d here): move the stage to reorder.", i+1))
		}
		st := store.PolicyStage{Name: strings.TrimSpace(deref(sb.Name)), ApproverTeamID: sb.ApproverTeam,
			MinApprovers: 1, DenialMessage: deref(sb.DenialMessage),
			Timeout: approval.DefaultStageTimeout, ReminderInterval: approval.DefaultReminderInterval}
		if st.Name == "" || len(st.Name) > 512 {
			errs.add(key("name"), "Give a name of 1 to 512 characters.")
		}
		if sb.MinApprovers != nil {
			st.MinApprovers = *sb.MinApprovers
			if st.MinApprovers < 1 || st.MinApprovers > 100 {
				errs.add(key("min_approvers"), "Use 1 to 100 approvers.")
			}
		}
		if len(st.DenialMessage) > 2000 {
			errs.add(key("denial_message"), "Use at most 2000 characters.")
		}
		durationsRead := true
		if sb.Timeout != nil {
			d, err := time.ParseDuration(*sb.Timeout)
			if err != nil {
				errs.add(key("timeout"), fmt.Sprintf("Use a duration such as \"72h\" or \"30m\", not %q.", *sb.Timeout))
				durationsRead = false
			}
			st.Timeout = d
		}
		if sb.ReminderInterval != nil {
			d, err := time.ParseDuration(*sb.ReminderInterval)
			if err != nil {
				errs.add(key("reminder_interval"), fmt.Sprintf("Use a duration such as \"24h\", or \"0s\" for no reminders, not %q.", *sb.ReminderInterval))
				durationsRead = false
			}
			st.ReminderInterval = d
		}
		if durationsRead {
			timeoutProblem, intervalProblem := limits.Check(st.Timeout, st.ReminderInterval)
			if timeoutProblem != "" {
				errs.add(key("timeout"), timeoutProblem)
			}
			if intervalProblem != "" {
				errs.add(key("reminder_interval"), intervalProblem)
			}
		}
		stages = append(stages, st)
	}
	return errs, stages
}

// createPolicy authorizes before it validates: the condition is compiled
// only for an admin of the organization the body names.
func (s *Server) createPolicy(c *gin.Context) {
	var b policyBody
	org, err := s.bindForCreate(c, access.Policy, &b)
	if err != nil {
		c.Error(err)
		return
	}
	errs, stages := b.validate(true, s.d.StageLimits)
	if err := errs.err(); err != nil {
		c.Error(err)
		return
	}
	if err := s.staffPolicyStages(c.Request.Context(), org, stages); err != nil {
		c.Error(err)
		return
	}
	p, err := s.d.Store.CreatePolicy(c.Request.Context(), store.NewPolicy{
		OrganizationID: org, Name: strings.TrimSpace(*b.Name), Priority: derefInt(b.Priority),
		Condition: deref(b.Condition), Enabled: b.Enabled, Stages: stages,
		MaxPerOrganization: approval.MaxPolicies,
	})
	if err != nil {
		c.Error(policyWriteError(err))
		return
	}
	c.JSON(http.StatusCreated, policyView(p))
}

// updatePolicy changes a policy; requests already submitted keep the plan
// they were given. The policy is loaded and the caller authorized before
// the body is read.
func (s *Server) updatePolicy(c *gin.Context) {
	p, err := s.policyFor(c, access.Update)
	if err != nil {
		c.Error(err)
		return
	}
	b := policyBody{readOnly: shown(policyView(p))}
	if err := bind(c, &b); err != nil {
		c.Error(err)
		return
	}
	if !b.dropUnchanged(p) {
		c.JSON(http.StatusOK, policyView(p)) // nothing to change
		return
	}
	errs, stages := b.validate(false, s.d.StageLimits)
	if b.Organization != nil && *b.Organization != p.OrganizationID {
		errs.add("organization", "A policy stays in its organization.")
	}
	if err := errs.err(); err != nil {
		c.Error(err)
		return
	}
	if b.Stages != nil {
		if err := s.staffPolicyStages(c.Request.Context(), p.OrganizationID, stages); err != nil {
			c.Error(err)
			return
		}
	}
	u := store.PolicyUpdate{Name: p.Name, Priority: p.Priority, Condition: p.Condition, Enabled: p.Enabled, Stages: p.Stages}
	if b.Name != nil {
		u.Name = strings.TrimSpace(*b.Name)
	}
	if b.Priority != nil {
		u.Priority = *b.Priority
	}
	if b.Condition != nil {
		u.Condition = *b.Condition
	}
	if b.Enabled != nil {
		u.Enabled = *b.Enabled
	}
	if b.Stages != nil {
		u.Stages = stages
	}
	updated, err := s.d.Store.UpdatePolicy(c.Request.Context(), p.ID, u)
	if err != nil {
		c.Error(policyWriteError(err))
		return
	}
	c.JSON(http.StatusOK, policyView(updated))
}

// dropUnchanged forgets the fields of an update that equal p's (see
// dropSame): a condition or stages sent back as they are are not checked
// against today's rules again, so a policy saved under other limits can
// still be renamed. It reports whether anything is left to change.
func (b *policyBody) dropUnchanged(p store.Policy) bool {
	dropSame(&b.Name, p.Name)
	dropSame(&b.Priority, p.Priority)
	dropSame(&b.Condition, p.Condition)
	dropSame(&b.Enabled, p.Enabled)
	if b.Organization != nil && *b.Organization == p.OrganizationID {
		b.Organization = nil
	}
	if b.Stages != nil && sameStages(*b.Stages, p.Stages) {
		b.Stages = nil
	}
	return b.Name != nil || b.Priority != nil || b.Condition != nil || b.Enabled != nil || b.Organization != nil || b.Stages != nil
}

// sameStages reports whether stage bodies, read with validate's defaults,
// are the stored stages in their order.
func sameStages(bodies []stageBody, stored []store.PolicyStage) bool {
	if len(bodies) != len(stored) {
		return false
	}
	for i, sb := range bodies {
		st := stored[i]
		if (sb.Order != nil && *sb.Order != i+1) || sb.Name == nil || strings.TrimSpace(*sb.Name) != st.Name ||
			!sameID(sb.ApproverTeam, st.ApproverTeamID) || deref(sb.DenialMessage) != st.DenialMessage ||
			derefOr(sb.MinApprovers, 1) != st.MinApprovers ||
			!sameDuration(sb.Timeout, approval.DefaultStageTimeout, st.Timeout) ||
			!sameDuration(sb.ReminderInterval, approval.DefaultReminderInterval, st.ReminderInterval) {
			return false
		}
	}
	return true
}

// sameDuration reports whether an optional duration string, def when
// absent, is d.
func sameDuration(s *string, def, d time.Duration) bool {
	if s == nil {
		return def == d
	}
	v, err := time.ParseDuration(*s)
	return err == nil && v == d
}

func derefOr(i *int, def int) int {
	if i == nil {
		return def
	}
	return *i
}

func (s *Server) deletePolicy(c *gin.Context) {
	p, err := s.policyFor(c, access.Delete)
	if err != nil {
		c.Error(err)
		return
	}
	if err := s.d.Store.DeletePolicy(c.Request.Context(), p.ID); err != nil {
		c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}

func policyWriteError(err error) error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return fieldErrors{"name": {"This organization already has a policy with this name."}}.err()
	case errors.Is(err, store.ErrInvalidReference):
		return fieldErrors{"stages": {"A stage names a team that is not in the policy's organization."}}.err()
	case errors.Is(err, store.ErrLimit):
		return conflict(fmt.Sprintf("This organization already has %d approval policies, the most it may have; delete or merge some first.", approval.MaxPolicies))
	}
	return err
}

func derefInt(i *int) int {
	if i == nil {
		return 0
	}
	return *i
}
