package awx

import (
	"context"
	"fmt"
)

// User is an AWX user as /api/v2/me/ shows it.
type User struct {
	ID              int64  `json:"id"`
	Username        string `json:"username"`
	FirstName       string `json:"first_name"`
	LastName        string `json:"last_name"`
	Email           string `json:"email"`
	IsSuperuser     bool   `json:"is_superuser"`
	IsSystemAuditor bool   `json:"is_system_auditor"`
}

// Me returns the user the token belongs to. It is the cheapest way to check
// the URL and the token: AWX answers 401 (an *APIError) for a missing,
// invalid or expired token.
func (c *Client) Me(ctx context.Context) (User, error) {
	var p page[User]
	if err := c.getJSON(ctx, "/api/v2/me/", nil, &p); err != nil {
		return User{}, err
	}
	if len(p.Results) == 0 {
		return User{}, fmt.Errorf("AWX GET /api/v2/me/: the list holds no user")
	}
	return p.Results[0], nil
}

// TemplateRef is AWX's short form of a template: the *_template_data of a
// launch GET, or summary_fields.unified_job_template of a node or job.
type TemplateRef struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// UnifiedJobType says what the template launches: "job",
	// "workflow_job", "workflow_approval", "project_update",
	// "inventory_update" or "system_job". Empty where AWX omits it.
	UnifiedJobType string `json:"unified_job_type,omitempty"`
}

// NamedRef is an {id, name} pair such as a label or an inventory. ID is 0
// when AWX gives null.
type NamedRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Template is a job template or a workflow job template (Type tells which:
// "job_template" or "workflow_job_template"). Fields absent from one kind are
// zero; ids AWX gives as null are 0.
type Template struct {
	ID           int64  `json:"id"`
	Type         string `json:"type"`
	URL          string `json:"url"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Organization int64  `json:"organization"`
	Inventory    int64  `json:"inventory"`
	// ExtraVars is the template's own variables as AWX stores them: a JSON or
	// YAML string, possibly empty or "---".
	ExtraVars string `json:"extra_vars"`
	// SurveyEnabled says whether the survey (SurveySpec) applies at launch.
	SurveyEnabled        bool `json:"survey_enabled"`
	AllowSimultaneous    bool `json:"allow_simultaneous"`
	AskVariablesOnLaunch bool `json:"ask_variables_on_launch"`
	AskLabelsOnLaunch    bool `json:"ask_labels_on_launch"`
	AskInventoryOnLaunch bool `json:"ask_inventory_on_launch"`
	AskLimitOnLaunch     bool `json:"ask_limit_on_launch"`
	AskScmBranchOnLaunch bool `json:"ask_scm_branch_on_launch"`
	// Related maps relation names to API paths, e.g. "launch",
	// "survey_spec", "workflow_nodes".
	Related map[string]string `json:"related"`
}

// Template returns template id of kind k. A missing or invisible template
// is an *APIError matching ErrNotFound; an invalid kind is an error before
// anything is sent.
func (c *Client) Template(ctx context.Context, k TemplateKind, id int64) (Template, error) {
	var t Template
	if err := k.check(); err != nil {
		return t, err
	}
	err := c.getJSON(ctx, k.path(id, ""), nil, &t)
	return t, err
}

// LaunchInfo is what AWX requires and allows when a template is launched
// (GET .../launch/). Fields of the other template kind stay zero.
type LaunchInfo struct {
	// CanStartWithoutUserInput is false when a prompt, a credential password
	// or a required survey answer is needed.
	CanStartWithoutUserInput bool `json:"can_start_without_user_input"`
	// VariablesNeededToStart lists the variables of required survey
	// questions (only while the survey is enabled), defaults or not.
	VariablesNeededToStart  []string `json:"variables_needed_to_start"`
	PasswordsNeededToStart  []string `json:"passwords_needed_to_start"`
	SurveyEnabled           bool     `json:"survey_enabled"`
	CredentialNeededToStart bool     `json:"credential_needed_to_start"`
	InventoryNeededToStart  bool     `json:"inventory_needed_to_start"`

	AskVariablesOnLaunch            bool `json:"ask_variables_on_launch"`
	AskLabelsOnLaunch               bool `json:"ask_labels_on_launch"`
	AskInventoryOnLaunch            bool `json:"ask_inventory_on_launch"`
	AskLimitOnLaunch                bool `json:"ask_limit_on_launch"`
	AskScmBranchOnLaunch            bool `json:"ask_scm_branch_on_launch"`
	AskTagsOnLaunch                 bool `json:"ask_tags_on_launch"`
	AskSkipTagsOnLaunch             bool `json:"ask_skip_tags_on_launch"`
	AskDiffModeOnLaunch             bool `json:"ask_diff_mode_on_launch"`
	AskJobTypeOnLaunch              bool `json:"ask_job_type_on_launch"`
	AskVerbosityOnLaunch            bool `json:"ask_verbosity_on_launch"`
	AskCredentialOnLaunch           bool `json:"ask_credential_on_launch"`
	AskExecutionEnvironmentOnLaunch bool `json:"ask_execution_environment_on_launch"`
	AskForksOnLaunch                bool `json:"ask_forks_on_launch"`
	AskJobSliceCountOnLaunch        bool `json:"ask_job_slice_count_on_launch"`
	AskTimeoutOnLaunch              bool `json:"ask_timeout_on_launch"`
	AskInstanceGroupsOnLaunch       bool `json:"ask_instance_groups_on_launch"`

	// NodeTemplatesMissing (workflows only) lists nodes without a template;
	// such a node fails the workflow's path when reached.
	NodeTemplatesMissing []int64 `json:"node_templates_missing"`
	// NodePromptsRejected (workflows only) lists nodes whose saved prompts
	// their template no longer accepts.
	NodePromptsRejected []int64 `json:"node_prompts_rejected"`

	Defaults LaunchDefaults `json:"defaults"`

	JobTemplateData         *TemplateRef `json:"job_template_data,omitempty"`
	WorkflowJobTemplateData *TemplateRef `json:"workflow_job_template_data,omitempty"`
}

// Template returns the id, name and description AWX reports for either kind.
func (l LaunchInfo) Template() TemplateRef {
	switch {
	case l.JobTemplateData != nil:
		return *l.JobTemplateData
	case l.WorkflowJobTemplateData != nil:
		return *l.WorkflowJobTemplateData
	}
	return TemplateRef{}
}

// LaunchDefaults holds the template's current values of promptable fields.
// Values AWX gives as null are zero.
type LaunchDefaults struct {
	// ExtraVars is the template's variables as a string (JSON or YAML, e.g. "---").
	ExtraVars string     `json:"extra_vars"`
	Inventory NamedRef   `json:"inventory"`
	Limit     string     `json:"limit"`
	ScmBranch string     `json:"scm_branch"`
	JobTags   string     `json:"job_tags"`
	SkipTags  string     `json:"skip_tags"`
	Labels    []NamedRef `json:"labels"`
}

// LaunchInfo returns what launching template id of kind k requires (GET
// /api/v2/job_templates/{id}/launch/ or
// /api/v2/workflow_job_templates/{id}/launch/, which need only read
// access).
func (c *Client) LaunchInfo(ctx context.Context, k TemplateKind, id int64) (LaunchInfo, error) {
	var l LaunchInfo
	if err := k.check(); err != nil {
		return l, err
	}
	err := c.getJSON(ctx, k.path(id, "launch/"), nil, &l)
	return l, err
}

// WorkflowNode is a node of a workflow job template.
type WorkflowNode struct {
	ID                  int64 `json:"id"`
	WorkflowJobTemplate int64 `json:"workflow_job_template"`
	// UnifiedJobTemplate is the node's template id; 0 when AWX gives null
	// (a broken node whose template was deleted).
	UnifiedJobTemplate int64 `json:"unified_job_template"`
	// Identifier is unique within the workflow and copied to every workflow
	// job node spawned from this node; it is how answers are keyed per node.
	Identifier             string  `json:"identifier"`
	SuccessNodes           []int64 `json:"success_nodes"`
	FailureNodes           []int64 `json:"failure_nodes"`
	AlwaysNodes            []int64 `json:"always_nodes"`
	AllParentsMustConverge bool    `json:"all_parents_must_converge"`
	// ExtraData is the node's saved extra_vars prompt.
	ExtraData     map[string]any `json:"extra_data"`
	SummaryFields NodeSummary    `json:"summary_fields"`
}

// NodeSummary is the part of a node's summary_fields Countersign reads.
type NodeSummary struct {
	// UnifiedJobTemplate is nil for a node without a template.
	UnifiedJobTemplate *TemplateRef `json:"unified_job_template,omitempty"`
}

// WorkflowNodes returns every node of workflow job template wfjtID, in AWX's
// order (by id), following pagination.
func (c *Client) WorkflowNodes(ctx context.Context, wfjtID int64) ([]WorkflowNode, error) {
	return listAll[WorkflowNode](ctx, c, WorkflowJobTemplate.path(wfjtID, "workflow_nodes/"), nil)
}

// TemplateKind is the kind of an AWX template Countersign launches, as a
// template's "type" field names it. Its values are part of Countersign's
// workflow contract (recorded in every request's history), so they never
// change.
type TemplateKind string

// The template kinds Countersign launches.
const (
	JobTemplate         TemplateKind = "job_template"
	WorkflowJobTemplate TemplateKind = "workflow_job_template"
)

// Valid reports whether k is JobTemplate or WorkflowJobTemplate.
func (k TemplateKind) Valid() bool { return k == JobTemplate || k == WorkflowJobTemplate }

// JobKind returns the kind of job a template of kind k launches:
// KindWorkflowJob for a workflow job template, KindJob for a job template
// (AWX answers with a workflow job for a job template that slices, which
// Countersign's templates do not), "" for an invalid kind.
func (k TemplateKind) JobKind() Kind {
	switch k {
	case JobTemplate:
		return KindJob
	case WorkflowJobTemplate:
		return KindWorkflowJob
	}
	return ""
}

func (k TemplateKind) check() error {
	if !k.Valid() {
		return fmt.Errorf("awx: unsupported template kind %q", string(k))
	}
	return nil
}

// path is "/api/v2/<collection>/<id>/<sub>" for a valid k, whose
// collection is its plural ("job_templates", "workflow_job_templates").
func (k TemplateKind) path(id int64, sub string) string {
	return fmt.Sprintf("/api/v2/%ss/%d/%s", string(k), id, sub)
}
