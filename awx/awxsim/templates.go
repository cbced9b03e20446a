package awxsim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// The one inventory, project and credential every job template uses.
const (
	demoInventoryID    = 1
	demoInventoryName  = "Demo Inventory"
	demoProjectID      = 6
	demoProjectName    = "Demo Project"
	demoCredentialID   = 1
	demoCredentialName = "Demo Credential"
)

func organizationName(id int64) string {
	if id == 1 {
		return "Default"
	}
	return fmt.Sprintf("Organization %d", id)
}

func playbookName(t *template) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, t.name)
	if name == "" {
		name = "site"
	}
	return name + ".yml"
}

// templateCollection is the API collection of templates launching jobs of
// kind k.
func templateCollection(k Kind) string {
	if k == KindWorkflowJob {
		return "workflow_job_templates"
	}
	return "job_templates"
}

func templateURL(k Kind, id int64) string {
	return fmt.Sprintf("/api/v2/%s/%d/", templateCollection(k), id)
}

func templateType(k Kind) string {
	return templateCollection(k)[:len(templateCollection(k))-1]
}

// templates returns the map of kind k. s.mu must be held.
func (s *Server) templates(k Kind) map[int64]*template {
	if k == KindWorkflowJob {
		return s.wfjts
	}
	return s.jts
}

// templateFromPath finds the template named by the {id} path segment.
// s.mu must be held.
func (s *Server) templateFromPath(k Kind, r *http.Request) *template {
	id, ok := pathID(r)
	if !ok {
		return nil
	}
	return s.templates(k)[id]
}

// lastJob is the newest job of t, or nil. s.mu must be held.
func (s *Server) lastJob(t *template) *job {
	for i := len(s.jobs) - 1; i >= 0; i-- {
		if j := s.jobs[i]; j.kind == t.kind && j.tmpl.id == t.id {
			return j
		}
	}
	return nil
}

// templateVars is a template's extra_vars as AWX shows them: the stored
// text, which is "" for a template without variables.
func templateVars(t *template) string {
	if len(t.extraVars) == 0 {
		return ""
	}
	return pyDumps(t.extraVars)
}

// templateRepr serializes t like AWX's template detail. s.mu must be held.
func (s *Server) templateRepr(t *template) map[string]any {
	url := templateURL(t.kind, t.id)
	creator := map[string]any{"id": userID, "username": "admin", "first_name": "", "last_name": ""}
	summary := map[string]any{
		"organization":      map[string]any{"id": t.organization, "name": organizationName(t.organization), "description": ""},
		"created_by":        creator,
		"modified_by":       creator,
		"user_capabilities": map[string]any{"edit": true, "delete": true, "start": true, "schedule": true, "copy": true},
		"labels":            map[string]any{"count": 0, "results": []any{}},
		"recent_jobs":       []any{},
	}
	related := map[string]any{
		"named_url":       fmt.Sprintf("/api/v2/%s/%s++%s/", templateCollection(t.kind), t.name, organizationName(t.organization)),
		"created_by":      fmt.Sprintf("/api/v2/users/%d/", userID),
		"modified_by":     fmt.Sprintf("/api/v2/users/%d/", userID),
		"organization":    fmt.Sprintf("/api/v2/organizations/%d/", t.organization),
		"labels":          url + "labels/",
		"launch":          url + "launch/",
		"survey_spec":     url + "survey_spec/",
		"schedules":       url + "schedules/",
		"activity_stream": url + "activity_stream/",
		"access_list":     url + "access_list/",
		"object_roles":    url + "object_roles/",
		"copy":            url + "copy/",
	}
	m := map[string]any{
		"id": t.id, "type": templateType(t.kind), "url": url,
		"created": timestamp(s.epoch), "modified": timestamp(s.epoch),
		"name": t.name, "description": t.description, "organization": t.organization,
		"extra_vars": templateVars(t), "survey_enabled": t.surveyEnabled,
		"ask_variables_on_launch": t.askVariables, "ask_labels_on_launch": t.askLabels,
		"ask_inventory_on_launch": false, "ask_limit_on_launch": false, "ask_scm_branch_on_launch": false,
		"ask_tags_on_launch": false, "ask_skip_tags_on_launch": false,
		"last_job_run": nil, "last_job_failed": false, "next_job_run": nil, "status": "never updated",
		"allow_simultaneous": true, "webhook_service": "", "webhook_credential": nil,
		"limit": "", "scm_branch": "", "job_tags": "", "skip_tags": "",
	}
	if last := s.lastJob(t); last != nil {
		p := last.phaseAt(s.now())
		failed := isTerminal(p.status) && p.status != StatusSuccessful
		m["last_job_run"], m["last_job_failed"], m["status"] = timestampOrNil(p.finished), failed, p.status
		summary["last_job"] = map[string]any{"id": last.id, "name": t.name, "description": t.description,
			"finished": timestampOrNil(p.finished), "status": p.status, "failed": failed}
		summary["recent_jobs"] = []any{map[string]any{"id": last.id, "status": p.status,
			"finished": timestampOrNil(p.finished), "type": string(t.kind)}}
		related["last_job"] = jobURL(t.kind, last.id)
	}
	if t.survey != nil {
		summary["survey"] = map[string]any{"title": t.survey.Name, "description": t.survey.Description}
	}
	if t.kind == KindWorkflowJob {
		related["workflow_jobs"] = url + "workflow_jobs/"
		related["workflow_nodes"] = url + "workflow_nodes/"
		m["inventory"] = nil
		summary["object_roles"] = map[string]any{"approval_role": map[string]any{"id": 1, "name": "Approve",
			"description": "Can approve or deny a workflow approval node"}}
		return withParts(m, summary, related)
	}
	related["jobs"] = url + "jobs/"
	related["inventory"] = fmt.Sprintf("/api/v2/inventories/%d/", demoInventoryID)
	related["project"] = fmt.Sprintf("/api/v2/projects/%d/", demoProjectID)
	related["credentials"] = url + "credentials/"
	summary["inventory"] = map[string]any{"id": demoInventoryID, "name": demoInventoryName, "description": "",
		"organization_id": t.organization, "kind": "", "total_hosts": 1}
	summary["project"] = map[string]any{"id": demoProjectID, "name": demoProjectName, "description": "",
		"status": "successful", "scm_type": "git"}
	summary["credentials"] = []any{map[string]any{"id": demoCredentialID, "kind": "ssh", "name": demoCredentialName}}
	for k, v := range map[string]any{
		"job_type": "run", "inventory": demoInventoryID, "project": demoProjectID, "playbook": playbookName(t),
		"forks": 0, "verbosity": 0, "force_handlers": false, "start_at_task": "", "timeout": 0,
		"use_fact_cache": false, "host_config_key": "", "become_enabled": false, "diff_mode": false,
		"custom_virtualenv": nil, "job_slice_count": 1, "execution_environment": nil,
		"prevent_instance_group_fallback": false, "ask_diff_mode_on_launch": false,
		"ask_job_type_on_launch": false, "ask_verbosity_on_launch": false, "ask_credential_on_launch": false,
		"ask_execution_environment_on_launch": false, "ask_forks_on_launch": false,
		"ask_job_slice_count_on_launch": false, "ask_timeout_on_launch": false,
		"ask_instance_groups_on_launch": false,
	} {
		m[k] = v
	}
	return withParts(m, summary, related)
}

func withParts(m, summary, related map[string]any) map[string]any {
	m["summary_fields"], m["related"] = summary, related
	return m
}

func (s *Server) getTemplate(k Kind) http.HandlerFunc {
	return s.onTemplate(k, func(w http.ResponseWriter, r *http.Request, t *template) {
		writeJSON(w, http.StatusOK, s.templateRepr(t))
	})
}

func (s *Server) listTemplates(k Kind) http.HandlerFunc {
	model := "JobTemplate"
	if k == KindWorkflowJob {
		model = "WorkflowJobTemplate"
	}
	spec := listSpec[*template]{model: model, fields: map[string]field[*template]{
		"id":                      {typ: intField, get: func(t *template) []any { return one(t.id) }},
		"name":                    {typ: stringField, get: func(t *template) []any { return one(t.name) }},
		"description":             {typ: stringField, get: func(t *template) []any { return one(t.description) }},
		"organization":            {typ: intField, get: func(t *template) []any { return one(t.organization) }},
		"survey_enabled":          {typ: boolField, get: func(t *template) []any { return one(t.surveyEnabled) }},
		"ask_variables_on_launch": {typ: boolField, get: func(t *template) []any { return one(t.askVariables) }},
		"ask_labels_on_launch":    {typ: boolField, get: func(t *template) []any { return one(t.askLabels) }},
	}, search: func(t *template) []string { return []string{t.name, t.description} }}
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var all []*template
		for _, t := range s.templates(k) {
			all = append(all, t)
		}
		sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
		q := r.URL.Query()
		all, err := spec.filter(all, q)
		if err == nil {
			err = spec.order(all, q)
		}
		if err != nil {
			err.write(w)
			return
		}
		out := make([]any, len(all))
		for i, t := range all {
			out[i] = s.templateRepr(t)
		}
		writePage(w, r, out)
	}
}

// requiredVariables is AWX's variables_needed_to_start: required questions
// of an enabled survey, defaults or not.
func requiredVariables(t *template) []string {
	out := []string{}
	if !t.surveyEnabled || t.survey == nil {
		return out
	}
	for _, q := range t.survey.Spec {
		if q.Required {
			out = append(out, q.Variable)
		}
	}
	return out
}

func (s *Server) getLaunchInfo(k Kind) http.HandlerFunc {
	return s.onTemplate(k, func(w http.ResponseWriter, r *http.Request, t *template) {
		needed := requiredVariables(t)
		m := map[string]any{
			"ask_variables_on_launch": t.askVariables, "ask_labels_on_launch": t.askLabels,
			"ask_inventory_on_launch": false, "ask_limit_on_launch": false, "ask_scm_branch_on_launch": false,
			"ask_tags_on_launch": false, "ask_skip_tags_on_launch": false,
			"survey_enabled":            t.surveyEnabled && t.survey != nil,
			"variables_needed_to_start": needed,
		}
		data := map[string]any{"name": t.name, "id": t.id, "description": t.description}
		if k == KindWorkflowJob {
			missing, rejected := s.nodeProblems(t)
			m["can_start_without_user_input"] = len(needed) == 0
			m["node_templates_missing"], m["node_prompts_rejected"] = missing, rejected
			m["workflow_job_template_data"] = data
			m["defaults"] = map[string]any{"inventory": map[string]any{"name": nil, "id": nil}, "limit": nil,
				"scm_branch": nil, "labels": []any{}, "job_tags": "", "skip_tags": "", "extra_vars": templateVars(t)}
			writeJSON(w, http.StatusOK, m)
			return
		}
		for _, f := range []string{"scm_branch", "diff_mode", "job_type", "verbosity", "credential",
			"execution_environment", "forks", "job_slice_count", "timeout", "instance_groups"} {
			m["ask_"+f+"_on_launch"] = false
		}
		m["can_start_without_user_input"] = len(needed) == 0 && !t.askVariables && !t.askLabels
		m["passwords_needed_to_start"] = []any{}
		m["credential_needed_to_start"], m["inventory_needed_to_start"] = false, false
		m["job_template_data"] = data
		m["defaults"] = map[string]any{
			"inventory": map[string]any{"name": demoInventoryName, "id": demoInventoryID},
			"credentials": []any{map[string]any{"id": demoCredentialID, "name": demoCredentialName,
				"credential_type": 1, "passwords_needed": []any{}}},
			"limit": "", "scm_branch": "", "labels": []any{}, "job_tags": "", "skip_tags": "",
			"extra_vars": templateVars(t), "diff_mode": false, "job_type": "run", "verbosity": 0,
			"execution_environment": map[string]any{}, "forks": 0, "job_slice_count": 1, "timeout": 0,
			"instance_groups": []any{},
		}
		writeJSON(w, http.StatusOK, m)
	})
}

// nodeProblems lists, by id, the nodes without an existing template
// (node_templates_missing), and those whose saved prompts their template
// would not accept (node_prompts_rejected): AWX runs the template's
// _accept_or_ignore_job_kwargs on the node's prompts and lists the node on
// any error, so an unanswered required survey question counts, default or
// not, as does a variable the template neither asks nor prompts for. The
// simulated templates need no passwords or resources, and nodes save no
// prompts but extra_data. s.mu must be held.
func (s *Server) nodeProblems(t *template) (missing, rejected []int64) {
	missing, rejected = []int64{}, []int64{}
	for _, n := range t.nodes {
		jt := s.jts[n.UnifiedJobTemplate]
		if jt == nil {
			missing = append(missing, n.ID)
			continue
		}
		errs := map[string][]string{}
		acceptVariables(jt, n.ExtraData, errs, true)
		if len(errs) > 0 {
			rejected = append(rejected, n.ID)
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
	sort.Slice(rejected, func(i, j int) bool { return rejected[i] < rejected[j] })
	return missing, rejected
}

// getSurveySpec answers {} without a survey, and hides password defaults.
func (s *Server) getSurveySpec(k Kind) http.HandlerFunc {
	return s.onTemplate(k, func(w http.ResponseWriter, r *http.Request, t *template) {
		if t.survey == nil {
			writeJSON(w, http.StatusOK, map[string]any{})
			return
		}
		out := Survey{Name: t.survey.Name, Description: t.survey.Description, Spec: []SurveyQuestion{}}
		for _, q := range t.survey.Spec {
			if q.Type == QuestionPassword && q.Default != nil && q.Default != "" {
				q.Default = encrypted
			}
			out.Spec = append(out.Spec, q)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// nodeRepr serializes n of workflow wf like AWX. s.mu must be held.
func (s *Server) nodeRepr(wf *template, n WorkflowNode) map[string]any {
	url := fmt.Sprintf("/api/v2/workflow_job_template_nodes/%d/", n.ID)
	related := map[string]any{
		"labels": url + "labels/", "credentials": url + "credentials/", "instance_groups": url + "instance_groups/",
		"create_approval_template": url + "create_approval_template/", "success_nodes": url + "success_nodes/",
		"failure_nodes": url + "failure_nodes/", "always_nodes": url + "always_nodes/",
		"workflow_job_template": templateURL(KindWorkflowJob, wf.id),
	}
	summary := map[string]any{
		"workflow_job_template": map[string]any{"id": wf.id, "name": wf.name, "description": wf.description},
	}
	var ujt any
	if jt := s.jts[n.UnifiedJobTemplate]; jt != nil {
		ujt = jt.id
		related["unified_job_template"] = templateURL(KindJob, jt.id)
		summary["unified_job_template"] = map[string]any{"id": jt.id, "name": jt.name,
			"description": jt.description, "unified_job_type": "job"}
	}
	m := map[string]any{
		"id": n.ID, "type": "workflow_job_template_node", "url": url, "related": related, "summary_fields": summary,
		"created": timestamp(s.epoch), "modified": timestamp(s.epoch),
		"extra_data": s.nodeExtraData(n), "workflow_job_template": wf.id, "unified_job_template": ujt,
		"success_nodes": n.SuccessNodes, "failure_nodes": n.FailureNodes, "always_nodes": n.AlwaysNodes,
		"all_parents_must_converge": false, "identifier": n.Identifier,
	}
	for _, f := range []string{"inventory", "scm_branch", "job_type", "job_tags", "skip_tags", "limit",
		"diff_mode", "verbosity", "execution_environment", "forks", "job_slice_count", "timeout"} {
		m[f] = nil
	}
	return m
}

// nodeExtraData is a node's extra_data as AWX shows it: the answers to its
// template's password questions read "$encrypted$". s.mu must be held.
func (s *Server) nodeExtraData(n WorkflowNode) map[string]any {
	jt := s.jts[n.UnifiedJobTemplate]
	out := make(map[string]any, len(n.ExtraData))
	for k, v := range n.ExtraData {
		out[k] = v
		if jt != nil && jt.surveyActive() && isPassword(jt.survey, k) {
			out[k] = encrypted
		}
	}
	return out
}

func isPassword(sv *Survey, variable string) bool {
	for _, q := range sv.Spec {
		if q.Variable == variable {
			return q.Type == QuestionPassword
		}
	}
	return false
}

type nodeView struct {
	wf *template
	n  WorkflowNode
}

var nodeListSpec = listSpec[nodeView]{model: "WorkflowJobTemplateNode", fields: map[string]field[nodeView]{
	"id":                    {typ: intField, get: func(v nodeView) []any { return one(v.n.ID) }},
	"identifier":            {typ: stringField, get: func(v nodeView) []any { return one(v.n.Identifier) }},
	"unified_job_template":  {typ: intField, get: func(v nodeView) []any { return idOrNone(v.n.UnifiedJobTemplate) }},
	"workflow_job_template": {typ: intField, get: func(v nodeView) []any { return one(v.wf.id) }},
}}

func (s *Server) listWorkflowNodes(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wf := s.templateFromPath(KindWorkflowJob, r)
	if wf == nil {
		notFound().write(w)
		return
	}
	views := make([]nodeView, 0, len(wf.nodes))
	for _, n := range wf.nodes {
		views = append(views, nodeView{wf, n})
	}
	sort.Slice(views, func(i, j int) bool { return views[i].n.ID < views[j].n.ID })
	q := r.URL.Query()
	views, err := nodeListSpec.filter(views, q)
	if err == nil {
		err = nodeListSpec.order(views, q)
	}
	if err != nil {
		err.write(w)
		return
	}
	out := make([]any, len(views))
	for i, v := range views {
		out[i] = s.nodeRepr(v.wf, v.n)
	}
	writePage(w, r, out)
}

func (s *Server) getWorkflowNode(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, wf := range s.wfjts {
		for _, n := range wf.nodes {
			if n.ID == id {
				writeJSON(w, http.StatusOK, s.nodeRepr(wf, n))
				return
			}
		}
	}
	notFound().write(w)
}
