package awx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of an AWX unified job, as in its "type" field.
type Kind string

// The kinds Countersign launches. Lists and node summaries may show other
// kinds too (project_update, inventory_update, system_job, workflow_approval).
const (
	KindJob         Kind = "job"          // launched from a job template
	KindWorkflowJob Kind = "workflow_job" // launched from a workflow job template, or a sliced job template
)

// Valid reports whether k is KindJob or KindWorkflowJob.
func (k Kind) Valid() bool { return k == KindJob || k == KindWorkflowJob }

// Segment returns the API collection of k: "jobs" or "workflow_jobs", or ""
// for any other kind.
func (k Kind) Segment() string {
	switch k {
	case KindJob:
		return "jobs"
	case KindWorkflowJob:
		return "workflow_jobs"
	}
	return ""
}

// Path returns the API path of job id of kind k, e.g. "/api/v2/jobs/42/", or
// "" when k is not valid.
func (k Kind) Path(id int64) string {
	if !k.Valid() {
		return ""
	}
	return fmt.Sprintf("/api/v2/%s/%d/", k.Segment(), id)
}

func (k Kind) check() error {
	if !k.Valid() {
		return fmt.Errorf("awx: unsupported job kind %q", string(k))
	}
	return nil
}

// AWX job statuses. A job moves new → pending → waiting → running and ends in
// one of the terminal ones; a workflow job skips waiting.
const (
	StatusNew        = "new"
	StatusPending    = "pending"
	StatusWaiting    = "waiting"
	StatusRunning    = "running"
	StatusSuccessful = "successful"
	StatusFailed     = "failed"
	StatusError      = "error"
	StatusCanceled   = "canceled"
)

// IsTerminal reports whether a job in status will never change again:
// successful, failed, error or canceled.
func IsTerminal(status string) bool {
	switch status {
	case StatusSuccessful, StatusFailed, StatusError, StatusCanceled:
		return true
	}
	return false
}

// JobURL returns the link to job id in AWX's web UI, for example
// "https://awx.example.com/#/jobs/playbook/42" for a job and
// ".../#/jobs/workflow/42" for a workflow job. Other kinds get their own UI
// route; an unknown kind links to the jobs list.
func JobURL(baseURL string, kind Kind, id int64) string {
	base := strings.TrimRight(baseURL, "/")
	route := map[Kind]string{
		KindJob:            "playbook",
		KindWorkflowJob:    "workflow",
		"project_update":   "project",
		"inventory_update": "inventory",
		"ad_hoc_command":   "command",
		"system_job":       "system",
	}[kind]
	if route == "" {
		return base + "/#/jobs"
	}
	return fmt.Sprintf("%s/#/jobs/%s/%d", base, route, id)
}

// Job is a job or a workflow job (Type tells which). Ids AWX gives as null
// or omits for a kind are 0; Started and Finished are nil until set.
type Job struct {
	ID          int64  `json:"id"`
	Type        Kind   `json:"type"`
	URL         string `json:"url"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Status      string `json:"status"`
	// Failed is true for failed, error and canceled.
	Failed     bool       `json:"failed"`
	Created    time.Time  `json:"created"`
	Modified   time.Time  `json:"modified"`
	Started    *time.Time `json:"started"`
	Finished   *time.Time `json:"finished"`
	CanceledOn *time.Time `json:"canceled_on"`
	// Elapsed is in seconds, live while the job runs.
	Elapsed float64 `json:"elapsed"`
	// JobExplanation is AWX's reason for a state, e.g. why a workflow failed.
	JobExplanation string `json:"job_explanation"`
	// LaunchType is manual, relaunch, callback, scheduled, dependency,
	// workflow, webhook, sync or scm.
	LaunchType string `json:"launch_type"`
	// ExtraVars is the job's variables as AWX returns them: a JSON-encoded
	// string, with password answers shown as "$encrypted$". See ExtraVarsMap.
	ExtraVars           string     `json:"extra_vars"`
	JobTemplate         int64      `json:"job_template"`          // jobs, and sliced workflow jobs
	WorkflowJobTemplate int64      `json:"workflow_job_template"` // workflow jobs
	UnifiedJobTemplate  int64      `json:"unified_job_template"`
	SummaryFields       JobSummary `json:"summary_fields"`
}

// JobSummary is the part of a job's summary_fields Countersign reads.
type JobSummary struct {
	CreatedBy *UserRef   `json:"created_by,omitempty"`
	Labels    *LabelList `json:"labels,omitempty"`
}

// UserRef is AWX's short form of a user.
type UserRef struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// LabelList is summary_fields.labels: the first labels of an object.
type LabelList struct {
	Count   int        `json:"count"`
	Results []NamedRef `json:"results"`
}

// CreatedBy returns the username of whoever launched the job, or "" for jobs
// AWX started itself (schedules, workflow nodes, system jobs).
func (j Job) CreatedBy() string {
	if j.SummaryFields.CreatedBy == nil {
		return ""
	}
	return j.SummaryFields.CreatedBy.Username
}

// ExtraVarsMap decodes ExtraVars, numbers as json.Number so that they keep
// AWX's digits (an integer beyond 2^53, 2.0 as a float). An empty string
// or "null" gives an empty map; anything that is not a JSON object is an
// error.
func (j Job) ExtraVarsMap() (map[string]any, error) {
	s := strings.TrimSpace(j.ExtraVars)
	vars := map[string]any{}
	if s == "" {
		return vars, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	err := dec.Decode(&vars)
	if err == nil && dec.More() {
		err = errors.New("data after the object")
	}
	if err != nil {
		return nil, fmt.Errorf("awx: %s %d extra_vars is not a JSON object: %w", j.Type, j.ID, err)
	}
	if vars == nil {
		vars = map[string]any{}
	}
	return vars, nil
}

// Job returns job id of kind k (GET /api/v2/jobs/{id}/ or
// /api/v2/workflow_jobs/{id}/). An invalid kind is a permanent error,
// before anything is sent.
func (c *Client) Job(ctx context.Context, k Kind, id int64) (Job, error) {
	var j Job
	if err := k.check(); err != nil {
		return j, err
	}
	err := c.getJSON(ctx, k.Path(id), nil, &j)
	return j, err
}

// LaunchRequest is the body of a launch. Only fields Countersign uses are
// offered; AWX ignores (job templates) or refuses (workflow job templates)
// what the template does not prompt for.
type LaunchRequest struct {
	// ExtraVars are sent as a JSON object. Survey answers go here.
	ExtraVars map[string]any `json:"extra_vars,omitempty"`
	// Labels are label ids; the template must prompt for labels.
	Labels []int64 `json:"labels,omitempty"`
}

// LaunchResult is AWX's answer to a successful launch.
type LaunchResult struct {
	// Job is the created job in status pending. Its Type is KindWorkflowJob
	// for workflow job templates and for job templates that slice.
	Job Job `json:"job"`
	// IgnoredFields holds what AWX dropped from the request because the job
	// template does not prompt for it (e.g. {"extra_vars": {"foo": 1}}).
	// The job still launched, without those values. Empty when everything
	// was applied.
	IgnoredFields map[string]any `json:"ignored_fields"`
}

// launchBody is a launch's 201 body: the full job plus the created id under
// "job" or "workflow_job", and ignored_fields.
type launchBody struct {
	Job
	JobID         int64          `json:"job"`
	WorkflowJobID int64          `json:"workflow_job"`
	IgnoredFields map[string]any `json:"ignored_fields"`
}

func (b launchBody) result(method, path string, defaultKind Kind) (LaunchResult, error) {
	j := b.Job
	idKind, id := defaultKind, int64(0)
	switch {
	case b.WorkflowJobID != 0:
		idKind, id = KindWorkflowJob, b.WorkflowJobID
	case b.JobID != 0:
		idKind, id = KindJob, b.JobID
	}
	if j.Type == "" {
		j.Type = idKind
	}
	if j.ID == 0 {
		j.ID = id
	}
	if j.ID == 0 {
		return LaunchResult{}, fmt.Errorf("AWX %s %s: launch answer carries no job id", method, path)
	}
	return LaunchResult{Job: j, IgnoredFields: b.IgnoredFields}, nil
}

// Launch launches template id of kind k (POST
// /api/v2/job_templates/{id}/launch/ or
// /api/v2/workflow_job_templates/{id}/launch/). AWX has no idempotency:
// every call that reaches AWX creates a job, so never retry blindly; after a
// transient error look for the job with ListJobs first. Survey violations
// are a 400 *APIError whose Message lists them; no permission to launch is
// a 403. A job template drops the fields and variables it does not prompt
// for and still launches (check LaunchResult.IgnoredFields); a workflow job
// template refuses them with a 400. An invalid kind is an error before
// anything is sent.
func (c *Client) Launch(ctx context.Context, k TemplateKind, id int64, req LaunchRequest) (LaunchResult, error) {
	if err := k.check(); err != nil {
		return LaunchResult{}, err
	}
	path := k.path(id, "launch/")
	var body launchBody
	if _, err := c.postJSON(ctx, path, req, &body); err != nil {
		return LaunchResult{}, err
	}
	// The answer's type, when it omits one, is what the template normally
	// creates.
	return body.result(http.MethodPost, path, k.JobKind())
}

// JobFilter selects jobs for ListJobs. Zero fields do not filter.
type JobFilter struct {
	// TemplateID is the job template (KindJob) or workflow job template
	// (KindWorkflowJob) the jobs were launched from.
	TemplateID int64
	// CreatedBy is the username that launched the job.
	CreatedBy string
	// CreatedAfter keeps jobs created at or after this instant.
	CreatedAfter time.Time
	Status       string
	// LabelName keeps jobs carrying this label.
	LabelName string
	// OrderBy is an AWX order_by value such as "-id"; default "id".
	OrderBy string
}

func (f JobFilter) query(k Kind) url.Values {
	q := url.Values{}
	if f.TemplateID != 0 {
		key := "job_template"
		if k == KindWorkflowJob {
			key = "workflow_job_template"
		}
		q.Set(key, strconv.FormatInt(f.TemplateID, 10))
	}
	if f.CreatedBy != "" {
		q.Set("created_by__username", f.CreatedBy)
	}
	if !f.CreatedAfter.IsZero() {
		// AWX stores microseconds; a finer instant would be rounded by Django.
		q.Set("created__gte", f.CreatedAfter.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00"))
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.LabelName != "" {
		q.Set("labels__name", f.LabelName)
	}
	order := f.OrderBy
	if order == "" {
		order = "id"
	}
	q.Set("order_by", order)
	return q
}

// ListJobs returns every job of kind k (GET /api/v2/jobs/ or
// /api/v2/workflow_jobs/) matching f, following pagination. A filter
// matching more than 10,000 jobs is refused with an error instead of
// returning a partial list. AWX answers 400 for a filter it cannot apply.
func (c *Client) ListJobs(ctx context.Context, k Kind, f JobFilter) ([]Job, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return listAll[Job](ctx, c, "/api/v2/"+k.Segment()+"/", f.query(k))
}

// CancelJob asks AWX to cancel job id of kind k (POST .../cancel/).
// Cancellation is asynchronous: on success the job is still running and
// becomes canceled later (a workflow job once its children stopped), so keep
// polling until IsTerminal. An error matching ErrNotCancelable means the job
// is already finished or finishing.
func (c *Client) CancelJob(ctx context.Context, k Kind, id int64) error {
	if err := k.check(); err != nil {
		return err
	}
	_, err := c.postJSON(ctx, k.Path(id)+"cancel/", nil, nil)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusMethodNotAllowed {
		apiErr.sentinel = ErrNotCancelable
	}
	return err
}
