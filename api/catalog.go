package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/survey"
)

func (s *Server) catalogRoutes(r *gin.RouterGroup) {
	s.items().mount(r, "/service_catalog_items/", access.CatalogItem, calls[store.CatalogItem]{list: s.listItems,
		filters: itemFilters, create: s.createItem, update: s.updateItem, remove: s.deleteItem})
	r.GET("/service_catalog_items/:id/launch_data/", s.launchData)
	r.GET("/service_catalog_items/:id/requests/", s.itemRequests)
	r.POST("/service_catalog_items/:id/submit/", s.submit)
}

// itemFilters are the filters of the catalog.
var itemFilters = []string{"category", "enabled", "organization", "search", "tag"}

func (s *Server) items() kind[store.CatalogItem, Item] {
	return kind[store.CatalogItem, Item]{get: s.d.Store.GetCatalogItem, object: itemObject, view: itemViewFor}
}

// itemFor loads the item of the path and checks that the caller may do a
// to it.
func (s *Server) itemFor(c *gin.Context, a access.Action) (store.CatalogItem, error) {
	return s.items().load(c, a)
}

func (s *Server) listItems(c *gin.Context, scope access.Scope, opts store.ListOptions) ([]store.CatalogItem, int, error) {
	f := store.CatalogItemFilter{Category: c.Query("category"), Search: c.Query("search"), Tag: c.Query("tag"),
		OrganizationIDs: scope.Organizations, DisabledVisibleIn: scope.DisabledIn}
	var err error
	if f.Enabled, err = boolParam(c, "enabled"); err != nil {
		return nil, 0, err
	}
	return s.d.Store.ListCatalogItems(c.Request.Context(), f, opts)
}

// itemBody is a catalog item as written by clients. ApproverTeam is kept
// raw so that null (the organization's admins) differs from absent.
type itemBody struct {
	readOnly
	// IsWorkflow is derived from the template given: read-only, ignored.
	IsWorkflow          json.RawMessage `json:"is_workflow"`
	Organization        *int64          `json:"organization"`
	Name                *string         `json:"name"`
	Description         *string         `json:"description"`
	Icon                *string         `json:"icon"`
	Category            *string         `json:"category"`
	Tags                *[]string       `json:"tags"`
	JobTemplate         *int64          `json:"job_template"`
	WorkflowJobTemplate *int64          `json:"workflow_job_template"`
	RequiresApproval    *bool           `json:"requires_approval"`
	ApproverTeam        json.RawMessage `json:"approver_team"`
	Enabled             *bool           `json:"enabled"`
}

var iconName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// validate checks what can be checked without the database or AWX.
func (b itemBody) validate(creating bool) (fieldErrors, *int64, bool) {
	errs := fieldErrors{}
	if b.Name != nil {
		if n := strings.TrimSpace(*b.Name); n == "" || len(n) > 512 {
			errs.add("name", "Give a name of 1 to 512 characters.")
		}
	} else if creating {
		errs.add("name", "This field is required.")
	}
	if b.Icon != nil && *b.Icon != "" && (len(*b.Icon) > 64 || !iconName.MatchString(*b.Icon)) {
		errs.add("icon", "Use a lucide icon name such as \"server\" or \"database-backup\".")
	}
	if b.Category != nil && len(*b.Category) > 128 {
		errs.add("category", "Use at most 128 characters.")
	}
	if b.Description != nil && len(*b.Description) > 4000 {
		errs.add("description", "Use at most 4000 characters.")
	}
	if b.Tags != nil {
		if len(*b.Tags) > 32 {
			errs.add("tags", "Use at most 32 tags.")
		}
		for _, t := range *b.Tags {
			if strings.TrimSpace(t) == "" || len(t) > 64 {
				errs.add("tags", "Tags are 1 to 64 characters.")
				break
			}
		}
	}
	for _, id := range []*int64{b.JobTemplate, b.WorkflowJobTemplate} {
		if id != nil && *id < 1 {
			errs.add("job_template", "Template ids are positive integers.")
		}
	}
	switch {
	case b.JobTemplate != nil && b.WorkflowJobTemplate != nil:
		errs.add("job_template", "Give exactly one of job_template and workflow_job_template.")
	case creating && b.JobTemplate == nil && b.WorkflowJobTemplate == nil:
		errs.add("job_template", "Give exactly one of job_template and workflow_job_template.")
	}
	team, set, err := nullableID(b.ApproverTeam)
	if err != nil {
		errs.add("approver_team", err.Error())
	}
	return errs, team, set
}

// nullableID reads an id that may be null; set tells whether it was given.
func nullableID(raw json.RawMessage) (id *int64, set bool, err error) {
	if len(raw) == 0 {
		return nil, false, nil
	}
	if string(raw) == "null" {
		return nil, true, nil
	}
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil || v < 1 {
		return nil, true, errors.New("Give a team id, or null for the organization's admins.")
	}
	return &v, true, nil
}

func (s *Server) createItem(c *gin.Context) (store.CatalogItem, error) {
	var b itemBody
	org, err := s.bindForCreate(c, access.CatalogItem, &b)
	if err != nil {
		return store.CatalogItem{}, err
	}
	errs, team, _ := b.validate(true)
	if err := errs.err(); err != nil {
		return store.CatalogItem{}, err
	}
	if b.RequiresApproval != nil && *b.RequiresApproval {
		if err := s.staffItem(c.Request.Context(), org, team); err != nil {
			return store.CatalogItem{}, err
		}
	}
	kind, tmpl := templateOf(b.JobTemplate, b.WorkflowJobTemplate)
	if err := s.checkTemplate(c, org, kind, tmpl); err != nil {
		return store.CatalogItem{}, err
	}
	item, err := s.d.Store.CreateCatalogItem(c.Request.Context(), store.NewCatalogItem{
		OrganizationID: org, Name: strings.TrimSpace(*b.Name), Description: deref(b.Description),
		Icon: deref(b.Icon), Category: deref(b.Category), Tags: derefTags(b.Tags),
		JobTemplateID: b.JobTemplate, WorkflowJobTemplateID: b.WorkflowJobTemplate,
		RequiresApproval: b.RequiresApproval != nil && *b.RequiresApproval, ApproverTeamID: team, Enabled: b.Enabled,
	})
	return item, itemWriteError(err)
}

func (s *Server) updateItem(c *gin.Context, item store.CatalogItem, ro readOnly) (store.CatalogItem, error) {
	b := itemBody{readOnly: ro}
	if err := bind(c, &b); err != nil || !b.dropUnchanged(item) {
		return item, err
	}
	errs, team, teamSet := b.validate(false)
	errs.staysIn(b.Organization, item.OrganizationID, "An item stays in its organization.")
	if err := errs.err(); err != nil {
		return item, err
	}
	// An item that requires approval after this change needs someone to
	// give it. Only a change of its approval or approver team is checked:
	// other edits of an item whose team emptied since still go through
	// (its requests say why they cannot be completed).
	requires, approvers := item.RequiresApproval, item.ApproverTeamID
	if b.RequiresApproval != nil {
		requires = *b.RequiresApproval
	}
	if teamSet {
		approvers = team
	}
	if requires && (b.RequiresApproval != nil || teamSet) {
		if err := s.staffItem(c.Request.Context(), item.OrganizationID, approvers); err != nil {
			return item, err
		}
	}
	if b.JobTemplate != nil || b.WorkflowJobTemplate != nil {
		kind, tmpl := templateOf(b.JobTemplate, b.WorkflowJobTemplate)
		if err := s.checkTemplate(c, item.OrganizationID, kind, tmpl); err != nil {
			return item, err
		}
	}
	u := store.CatalogItemUpdate{
		Description: b.Description, Icon: b.Icon, Category: b.Category, Tags: b.Tags,
		JobTemplateID: b.JobTemplate, WorkflowJobTemplateID: b.WorkflowJobTemplate,
		RequiresApproval: b.RequiresApproval, Enabled: b.Enabled,
	}
	if b.Name != nil {
		name := strings.TrimSpace(*b.Name)
		u.Name = &name
	}
	if teamSet {
		u.ApproverTeamID, u.ClearApproverTeam = team, team == nil
	}
	updated, err := s.d.Store.UpdateCatalogItem(c.Request.Context(), item.ID, u)
	return updated, itemWriteError(err)
}

// dropUnchanged forgets the fields of an update that equal item's (see
// dropSame): a template given as it is is not checked with AWX again. It
// reports whether anything is left to change.
func (b *itemBody) dropUnchanged(item store.CatalogItem) bool {
	dropSame(&b.Name, item.Name)
	dropSame(&b.Description, item.Description)
	dropSame(&b.Icon, item.Icon)
	dropSame(&b.Category, item.Category)
	if b.Tags != nil && slices.Equal(*b.Tags, item.Tags) {
		b.Tags = nil
	}
	// The template given is the same only if the other is not given too
	// (both given stays a mistake).
	if b.JobTemplate != nil && b.WorkflowJobTemplate == nil && sameID(b.JobTemplate, item.JobTemplateID) {
		b.JobTemplate = nil
	}
	if b.WorkflowJobTemplate != nil && b.JobTemplate == nil && sameID(b.WorkflowJobTemplate, item.WorkflowJobTemplateID) {
		b.WorkflowJobTemplate = nil
	}
	dropSame(&b.RequiresApproval, item.RequiresApproval)
	dropSame(&b.Enabled, item.Enabled)
	if team, set, err := nullableID(b.ApproverTeam); err == nil && set && sameID(team, item.ApproverTeamID) {
		b.ApproverTeam = nil
	}
	dropSame(&b.Organization, item.OrganizationID)
	return b.Name != nil || b.Description != nil || b.Icon != nil || b.Category != nil || b.Tags != nil ||
		b.JobTemplate != nil || b.WorkflowJobTemplate != nil || b.RequiresApproval != nil || b.Enabled != nil ||
		b.ApproverTeam != nil || b.Organization != nil
}

func (s *Server) deleteItem(ctx context.Context, item store.CatalogItem) error {
	err := s.d.Store.DeleteCatalogItem(ctx, item.ID)
	if errors.Is(err, store.ErrReferenced) {
		return conflict(fmt.Sprintf("Catalog item %q has service requests; disable it instead of deleting it.", item.Name))
	}
	return err
}

// itemWriteError explains store refusals of an item in field terms.
func itemWriteError(err error) error {
	if errors.Is(err, store.ErrInvalidReference) {
		return fieldErrors{"approver_team": {"No such team in the item's organization."}}.err()
	}
	return nameTaken(err, "This organization already has a catalog item with this name.")
}

func templateOf(jt, wfjt *int64) (awx.TemplateKind, int64) {
	if wfjt != nil {
		return awx.WorkflowJobTemplate, *wfjt
	}
	return awx.JobTemplate, *jt
}

// checkTemplate refuses a template Countersign could not launch (SPEC 6):
// AWX must know it, be able to start it without passwords or an inventory
// Countersign cannot give, and, for workflow templates, have every node
// launchable, no variable defined by two surveys, and prompt for variables
// when node surveys add some. Organization admins may only offer the
// templates of the AWX organization linked to theirs: Countersign's AWX
// user may launch far more than any one organization should.
func (s *Server) checkTemplate(c *gin.Context, org int64, kind awx.TemplateKind, id int64) error {
	ctx := c.Request.Context()
	field := string(kind)
	info, err := s.awx.template(ctx, kind, id)
	if err != nil {
		if e := awxError(kind, id, err); templateRefused(e) {
			return fieldErrors{field: {fmt.Sprintf("AWX has no %s %d that Countersign's AWX user may launch.", strings.ReplaceAll(field, "_", " "), id)}}.err()
		}
		return awxError(kind, id, err)
	}
	if err := s.checkTemplateOrganization(c, org, field, info); err != nil {
		return err
	}
	errs := fieldErrors{}
	l := info.Launch
	if len(l.PasswordsNeededToStart) > 0 {
		errs.add(field, fmt.Sprintf("AWX needs %s to start %q, which Countersign cannot provide.", strings.Join(l.PasswordsNeededToStart, ", "), info.Name))
	}
	if l.InventoryNeededToStart {
		errs.add(field, fmt.Sprintf("%q has no inventory; give it one in AWX.", info.Name))
	}
	if len(l.NodeTemplatesMissing) > 0 {
		errs.add(field, fmt.Sprintf("Workflow nodes %v of %q have no template.", l.NodeTemplatesMissing, info.Name))
	}
	for _, id := range l.NodePromptsRejected {
		errs.add(field, rejectedNode(info, id))
	}
	nodes := info.NodeSurveys()
	for _, conflict := range survey.Conflicts(info.Survey, nodes) {
		errs.add(field, "A variable is defined by two surveys, so answers could not be merged: "+conflict)
	}
	nodeVars := false
	for _, sv := range nodes {
		nodeVars = nodeVars || len(sv.Spec) > 0
	}
	if kind == awx.WorkflowJobTemplate && nodeVars && !l.AskVariablesOnLaunch {
		errs.add(field, fmt.Sprintf("%q must prompt for variables on launch (ask_variables_on_launch) for node answers to reach its nodes.", info.Name))
	}
	return errs.err()
}

// rejectedNode explains why AWX lists node id of workflow info in
// node_prompts_rejected, from what AWX shows of the node: its template's
// survey checked against its saved extra_data as AWX checks them. AWX
// validates a node's saved prompts as a launch's, so a required question
// the node does not answer itself is missing, default or not. Saved
// passwords show as "$encrypted$" and cannot be checked here.
func rejectedNode(info *templateInfo, id int64) string {
	var node *nodeInfo
	for i := range info.Nodes {
		if info.Nodes[i].ID == id {
			node = &info.Nodes[i]
		}
	}
	if node == nil {
		return fmt.Sprintf("AWX rejects the saved prompts of node %d of %q (node_prompts_rejected); check the node's prompts in AWX.", id, info.Name)
	}
	head := fmt.Sprintf("AWX rejects the saved prompts of node %d %q (job template %q) of %q (node_prompts_rejected)", node.ID, node.Identifier, node.Name, info.Name)
	spec := awx.Survey{}
	data := map[string]any{}
	for k, v := range node.ExtraData {
		data[k] = v
	}
	for _, q := range node.Survey.Spec {
		if q.Type == awx.QuestionPassword && data[q.Variable] == survey.Encrypted {
			delete(data, q.Variable)
			continue
		}
		spec.Spec = append(spec.Spec, q)
	}
	_, errs := survey.Validate(spec, data, node.AskVariables)
	if len(errs) == 0 {
		return head + "; check the node's prompts in AWX."
	}
	var msgs []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		msgs = append(msgs, errs[k]...)
	}
	msg := head + ": " + strings.Join(msgs, "; ")
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	for _, q := range spec.Spec {
		if _, answered := data[q.Variable]; q.Required && !answered {
			return msg + " AWX requires a node's own answers to its template's required questions, defaults or not: answer them in the node's prompts in AWX, or make them optional."
		}
	}
	return msg
}

func (s *Server) checkTemplateOrganization(c *gin.Context, org int64, field string, info *templateInfo) error {
	if caller(c).IsSuperuser {
		return nil
	}
	o, err := s.d.Store.GetOrganization(c.Request.Context(), org)
	if err != nil {
		return err
	}
	switch {
	case o.AWXOrganization == nil:
		return fieldErrors{field: {fmt.Sprintf("Organization %s is not linked to an AWX organization; a superuser chooses its templates or links it (awx_organization).", o.Name)}}.err()
	case *o.AWXOrganization != info.Organization:
		return fieldErrors{field: {fmt.Sprintf("%q belongs to AWX organization %d; %s may only offer templates of AWX organization %d.", info.Name, info.Organization, o.Name, *o.AWXOrganization)}}.err()
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefTags(t *[]string) []string {
	if t == nil {
		return []string{}
	}
	return *t
}
