package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

func (s *Server) policyRoutes(r *gin.RouterGroup) {
	policies := kind[store.Policy, Policy]{get: s.d.Store.GetPolicy, object: policyObject, view: policyView}
	policies.mount(r, "/approval_policies/", access.Policy, calls[store.Policy]{list: s.listPolicies, filters: policyFilters,
		create: s.createPolicy, update: s.updatePolicy, remove: func(ctx context.Context, p store.Policy) error { return s.d.Store.DeletePolicy(ctx, p.ID) }})
}

// policyFilters are the filters of the list of policies.
var policyFilters = []string{"organization"}

func (s *Server) listPolicies(c *gin.Context, scope access.Scope, opts store.ListOptions) ([]store.Policy, int, error) {
	return s.d.Store.ListPolicies(c.Request.Context(), store.PolicyFilter{OrganizationIDs: scope.Organizations}, opts)
}

// policyBody is a policy as written (approval.PolicyDraft).
type policyBody struct {
	readOnly
	Organization *int64       `json:"organization"`
	Name         *string      `json:"name"`
	Priority     *int         `json:"priority"`
	Condition    *string      `json:"condition"`
	Enabled      *bool        `json:"enabled"`
	Stages       *[]stageBody `json:"stages"`
}

// stageBody is a stage as written: as GET shows it, whose summary_fields
// are ignored.
type stageBody struct {
	approval.StageDraft
	SummaryFields json.RawMessage `json:"summary_fields"`
}

func (b policyBody) draft() approval.PolicyDraft {
	d := approval.PolicyDraft{Name: b.Name, Priority: b.Priority, Condition: b.Condition}
	if b.Stages != nil {
		stages := make([]approval.StageDraft, len(*b.Stages))
		for i, sb := range *b.Stages {
			stages[i] = sb.StageDraft
		}
		d.Stages = &stages
	}
	return d
}

// validate checks a policy body (approval.PolicyDraft.Check) and returns
// its stages as the store keeps them.
func (b policyBody) validate(creating bool, limits approval.StageLimits) (fieldErrors, []store.PolicyStage) {
	problems, stages := b.draft().Check(creating, limits)
	var out []store.PolicyStage
	for _, st := range stages {
		ps := store.PolicyStage{Name: st.Name, MinApprovers: st.MinApprovers, DenialMessage: st.DenialMessage,
			Timeout: st.Timeout.Std(), ReminderInterval: st.ReminderInterval.Std(), RequireRecentLogin: st.RequireRecentLogin.Std(),
			MaxExtension: st.MaxExtension.Std(), WarnBefore: st.WarnBefore.Std()}
		if st.ApproverTeam != nil {
			ps.ApproverTeamID = &st.ApproverTeam.ID
		}
		for _, e := range st.Escalations {
			ps.Escalations = append(ps.Escalations, store.PolicyEscalation{After: e.After.Std(), ApproverTeamID: e.ApproverTeam.ID})
		}
		out = append(out, ps)
	}
	return fieldErrors(problems), out
}

// createPolicy authorizes before it validates: the condition is compiled
// only for an admin of the organization the body names.
func (s *Server) createPolicy(c *gin.Context) (store.Policy, error) {
	var b policyBody
	org, err := s.bindForCreate(c, access.Policy, &b)
	if err != nil {
		return store.Policy{}, err
	}
	errs, stages := b.validate(true, s.d.StageLimits)
	if err := errs.err(); err != nil {
		return store.Policy{}, err
	}
	if err := s.staffPolicyStages(c.Request.Context(), org, stages); err != nil {
		return store.Policy{}, err
	}
	p, err := s.d.Store.CreatePolicy(c.Request.Context(), store.NewPolicy{
		OrganizationID: org, Name: strings.TrimSpace(*b.Name), Priority: derefInt(b.Priority),
		Condition: deref(b.Condition), Enabled: b.Enabled, Stages: stages,
		MaxPerOrganization: approval.MaxPolicies,
	})
	return p, policyWriteError(err)
}

// updatePolicy changes a policy; requests already submitted keep the plan
// they were given. The policy is loaded and the caller authorized before
// the body is read.
func (s *Server) updatePolicy(c *gin.Context, p store.Policy, ro readOnly) (store.Policy, error) {
	b := policyBody{readOnly: ro}
	if err := bind(c, &b); err != nil || !b.dropUnchanged(p) {
		return p, err
	}
	errs, stages := b.validate(false, s.d.StageLimits)
	errs.staysIn(b.Organization, p.OrganizationID, "A policy stays in its organization.")
	if err := errs.err(); err != nil {
		return p, err
	}
	if b.Stages != nil {
		if err := s.staffPolicyStages(c.Request.Context(), p.OrganizationID, stages); err != nil {
			return p, err
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
	return updated, policyWriteError(err)
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
	dropSame(&b.Organization, p.OrganizationID)
	if b.Stages != nil && approval.SameStages(*b.draft().Stages, requests.ApprovalStages(p.Stages)) {
		b.Stages = nil
	}
	return b.Name != nil || b.Priority != nil || b.Condition != nil || b.Enabled != nil || b.Organization != nil || b.Stages != nil
}

func policyWriteError(err error) error {
	switch {
	case errors.Is(err, store.ErrInvalidReference):
		return fieldErrors{"stages": {"A stage names a team that is not in the policy's organization."}}.err()
	case errors.Is(err, store.ErrLimit):
		return conflict(fmt.Sprintf("This organization already has %d approval policies, the most it may have; delete or merge some first.", approval.MaxPolicies))
	}
	return nameTaken(err, "This organization already has a policy with this name.")
}

func derefInt(i *int) int {
	if i == nil {
		return 0
	}
	return *i
}
