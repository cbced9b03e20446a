package awxsim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"
)

// job is a launched job or workflow job. Its status is never stored: it is
// derived from the clock by phaseAt, so nothing has to run in the
// background and a fake clock drives every transition.
type job struct {
	id          int64
	kind        Kind
	tmpl        *template // as it was at launch
	created     time.Time
	pendingFor  time.Duration
	duration    time.Duration
	outcome     string
	explanation string
	// extraVars are shown as AWX shows them: password answers are already
	// "$encrypted$". The real values are not kept.
	extraVars map[string]any
	labels    []*label
	ignored   map[string]any
	createdBy string
	cancelAt  *time.Time // when an accepted cancel lands
	forced    *forcedEnd
}

// forcedEnd is an outcome imposed by SetJobStatus.
type forcedEnd struct {
	at                  time.Time
	status, explanation string
}

// phase is a job's state at one instant.
type phase struct {
	status                        string
	started, finished, canceledOn *time.Time
	modified                      time.Time
	explanation                   string
	elapsed                       float64
}

func isTerminal(status string) bool {
	switch status {
	case StatusSuccessful, StatusFailed, StatusError, StatusCanceled:
		return true
	}
	return false
}

// phaseAt is the job's state at now. A cancel or a forced status that lands
// before the natural end ends the job then; a cancel landing later loses
// the race, as it can in AWX.
func (j *job) phaseAt(now time.Time) phase {
	runAt := j.created.Add(j.pendingFor)
	endAt := j.created.Add(j.duration)
	endStatus, explanation := j.outcome, j.explanation
	cut := false
	if j.cancelAt != nil && j.cancelAt.Before(endAt) {
		endAt, endStatus, explanation, cut = *j.cancelAt, StatusCanceled, "", true
	}
	if f := j.forced; f != nil {
		if f.at.Before(endAt) {
			endAt, cut = f.at, true
		}
		endStatus, explanation = f.status, f.explanation
	}
	p := phase{status: StatusPending, modified: j.created}
	ran := runAt.Before(endAt) || (!cut && runAt.Equal(endAt))
	if ran && !now.Before(runAt) {
		t := runAt
		p.status, p.started, p.modified = StatusRunning, &t, t
	}
	if !now.Before(endAt) {
		t := endAt
		p.status, p.finished, p.modified, p.explanation = endStatus, &t, t, explanation
		if endStatus == StatusCanceled {
			p.canceledOn = &t
		}
	}
	switch {
	case p.started != nil && p.finished != nil:
		p.elapsed = p.finished.Sub(*p.started).Seconds()
	case p.started != nil:
		p.elapsed = now.Sub(*p.started).Seconds()
	}
	p.elapsed = math.Round(p.elapsed*1000) / 1000
	return p
}

// defaultExplanation is the job_explanation of a failure when the template
// gives none.
func defaultExplanation(kind Kind, status string) string {
	if kind == KindWorkflowJob {
		return "No error handling paths found, marking workflow as failed"
	}
	if status == StatusError {
		return "Job terminated due to error"
	}
	return "Playbook run failed on 1 host."
}

// jobTiming is the duration and pending time of a job of t.
func (s *Server) jobTiming(t *template) (duration, pendingFor time.Duration) {
	duration = s.cfg.JobDuration
	if t.duration > 0 {
		duration = t.duration
	}
	pendingFor = s.cfg.PendingFor
	if pendingFor <= 0 {
		pendingFor = min(time.Second, duration/5)
	}
	return duration, min(pendingFor, duration)
}

func jobCollection(k Kind) string {
	if k == KindWorkflowJob {
		return "workflow_jobs"
	}
	return "jobs"
}

func jobURL(k Kind, id int64) string {
	return fmt.Sprintf("/api/v2/%s/%d/", jobCollection(k), id)
}

// lookupJob finds job id of kind k. s.mu must be held.
func (s *Server) lookupJob(k Kind, id int64) *job {
	j := s.jobByID[id]
	if j == nil || j.kind != k {
		return nil
	}
	return j
}

// jobRepr is the job as AWX serializes it; list views leave out the
// fields AWX leaves out of lists. s.mu must be held.
func (s *Server) jobRepr(j *job, p phase, detail bool) map[string]any {
	t := j.tmpl
	url := jobURL(j.kind, j.id)
	labels := make([]any, 0, len(j.labels))
	for _, l := range j.labels {
		labels = append(labels, map[string]any{"id": l.id, "name": l.name})
	}
	creator := map[string]any{"id": userID, "username": j.createdBy, "first_name": "", "last_name": ""}
	m := map[string]any{
		"id": j.id, "type": string(j.kind), "url": url,
		"created": timestamp(j.created), "modified": timestamp(p.modified),
		"name": t.name, "description": t.description,
		"unified_job_template": t.id, "launch_type": "manual",
		"status": p.status, "failed": p.status == StatusFailed || p.status == StatusError || p.status == StatusCanceled,
		"started": timestampOrNil(p.started), "finished": timestampOrNil(p.finished),
		"canceled_on": timestampOrNil(p.canceledOn), "elapsed": p.elapsed,
		"job_explanation": p.explanation, "extra_vars": pyDumps(j.extraVars),
		"launched_by": map[string]any{"id": userID, "name": j.createdBy, "type": "user",
			"url": fmt.Sprintf("/api/v2/users/%d/", userID)},
		"work_unit_id": nil, "allow_simultaneous": true, "job_tags": "", "skip_tags": "",
		"webhook_service": "", "webhook_credential": nil, "webhook_guid": "",
	}
	summary := map[string]any{
		"created_by":        creator,
		"modified_by":       creator,
		"user_capabilities": map[string]any{"delete": true, "start": true},
		"labels":            map[string]any{"count": len(labels), "results": labels},
		"unified_job_template": map[string]any{
			"id": t.id, "name": t.name, "description": t.description, "unified_job_type": string(j.kind),
		},
	}
	related := map[string]any{
		"created_by":           fmt.Sprintf("/api/v2/users/%d/", userID),
		"labels":               url + "labels/",
		"notifications":        url + "notifications/",
		"activity_stream":      url + "activity_stream/",
		"relaunch":             url + "relaunch/",
		"cancel":               url + "cancel/",
		"unified_job_template": templateURL(t.kind, t.id),
	}
	if detail {
		m["job_args"], m["job_cwd"], m["job_env"], m["result_traceback"] = "", "", map[string]any{}, ""
	}
	if j.kind == KindWorkflowJob {
		m["workflow_job_template"] = t.id
		m["job_template"], m["is_sliced_job"] = nil, false
		m["inventory"], m["limit"], m["scm_branch"] = nil, nil, nil
		summary["workflow_job_template"] = map[string]any{"id": t.id, "name": t.name, "description": t.description}
		related["workflow_job_template"] = templateURL(t.kind, t.id)
		related["workflow_nodes"] = url + "workflow_nodes/"
		related["modified_by"] = related["created_by"]
	} else {
		s.addJobFields(m, summary, related, j, p, detail)
	}
	m["summary_fields"], m["related"] = summary, related
	return m
}

// addJobFields adds what only playbook jobs have.
func (s *Server) addJobFields(m, summary, related map[string]any, j *job, p phase, detail bool) {
	t, url := j.tmpl, jobURL(j.kind, j.id)
	execNode, hostCounts := "", map[string]any{}
	if p.started != nil {
		execNode = nodeName
	}
	switch p.status {
	case StatusSuccessful:
		hostCounts = map[string]any{"ok": 1}
	case StatusFailed:
		hostCounts = map[string]any{"failures": 1}
	}
	for k, v := range map[string]any{
		"job_template": t.id, "job_type": "run", "inventory": demoInventoryID, "project": demoProjectID,
		"playbook": playbookName(t), "scm_branch": "", "forks": 0, "limit": "", "verbosity": 0,
		"force_handlers": false, "start_at_task": "", "timeout": 0, "use_fact_cache": false,
		"organization": t.organization, "execution_environment": nil, "execution_node": execNode,
		"controller_node": "", "passwords_needed_to_start": []any{}, "artifacts": map[string]any{},
		"scm_revision": "", "instance_group": 1, "diff_mode": false, "job_slice_number": 0,
		"job_slice_count": 1, "host_status_counts": hostCounts, "custom_virtualenv": nil,
		"playbook_counts": map[string]any{"play_count": 1, "task_count": 1},
	} {
		m[k] = v
	}
	if detail {
		m["event_processing_finished"] = isTerminal(p.status)
	}
	summary["job_template"] = map[string]any{"id": t.id, "name": t.name, "description": t.description}
	summary["organization"] = map[string]any{"id": t.organization, "name": organizationName(t.organization), "description": ""}
	summary["inventory"] = map[string]any{"id": demoInventoryID, "name": demoInventoryName, "description": "",
		"has_active_failures": false, "total_hosts": 1, "hosts_with_active_failures": 0, "total_groups": 0,
		"has_inventory_sources": false, "total_inventory_sources": 0, "inventory_sources_with_failures": 0,
		"organization_id": t.organization, "kind": ""}
	summary["project"] = map[string]any{"id": demoProjectID, "name": demoProjectName, "description": "",
		"status": "successful", "scm_type": "git"}
	summary["instance_group"] = map[string]any{"id": 1, "name": "default", "is_container_group": false}
	summary["credentials"] = []any{map[string]any{"id": demoCredentialID, "name": demoCredentialName,
		"description": "", "kind": "ssh", "cloud": false}}
	related["job_template"] = templateURL(KindJob, t.id)
	related["inventory"] = fmt.Sprintf("/api/v2/inventories/%d/", demoInventoryID)
	related["project"] = fmt.Sprintf("/api/v2/projects/%d/", demoProjectID)
	related["organization"] = fmt.Sprintf("/api/v2/organizations/%d/", t.organization)
	related["credentials"] = url + "credentials/"
	related["stdout"] = url + "stdout/"
	related["job_events"] = url + "job_events/"
	related["job_host_summaries"] = url + "job_host_summaries/"
	related["create_schedule"] = url + "create_schedule/"
}

func (s *Server) getJob(k Kind) http.HandlerFunc {
	return s.onJob(k, func(w http.ResponseWriter, r *http.Request, j *job) {
		writeJSON(w, http.StatusOK, s.jobRepr(j, j.phaseAt(s.now()), true))
	})
}

func (s *Server) getCancel(k Kind) http.HandlerFunc {
	return s.onJob(k, func(w http.ResponseWriter, r *http.Request, j *job) {
		writeJSON(w, http.StatusOK, map[string]any{"can_cancel": !isTerminal(j.phaseAt(s.now()).status)})
	})
}

// postCancel accepts a cancel while the job is active; the job becomes
// canceled CancelDelay later. Repeating the cancel does not postpone it.
func (s *Server) postCancel(k Kind) http.HandlerFunc {
	return s.onJob(k, func(w http.ResponseWriter, r *http.Request, j *job) {
		now := s.now()
		if isTerminal(j.phaseAt(now).status) {
			writeDetail(w, http.StatusMethodNotAllowed, `Method "POST" not allowed.`)
			return
		}
		if j.cancelAt == nil {
			at := now.Add(s.cfg.CancelDelay)
			j.cancelAt = &at
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// jobView is a job with its state at the instant of one request.
type jobView struct {
	j *job
	p phase
}

func jobListSpec(k Kind) listSpec[jobView] {
	model := "Job"
	if k == KindWorkflowJob {
		model = "WorkflowJob"
	}
	str := func(get func(jobView) string) field[jobView] {
		return field[jobView]{typ: stringField, get: func(v jobView) []any { return one(get(v)) }}
	}
	fields := map[string]field[jobView]{
		"id":                   {typ: intField, get: func(v jobView) []any { return one(v.j.id) }},
		"name":                 str(func(v jobView) string { return v.j.tmpl.name }),
		"description":          str(func(v jobView) string { return v.j.tmpl.description }),
		"status":               str(func(v jobView) string { return v.p.status }),
		"launch_type":          str(func(jobView) string { return "manual" }),
		"job_explanation":      str(func(v jobView) string { return v.p.explanation }),
		"failed":               {typ: boolField, get: func(v jobView) []any { return one(v.p.status != StatusSuccessful && isTerminal(v.p.status)) }},
		"created":              {typ: timeField, get: func(v jobView) []any { return one(v.j.created) }},
		"modified":             {typ: timeField, get: func(v jobView) []any { return one(v.p.modified) }},
		"started":              {typ: timeField, get: func(v jobView) []any { return timeOrNone(v.p.started) }},
		"finished":             {typ: timeField, get: func(v jobView) []any { return timeOrNone(v.p.finished) }},
		"canceled_on":          {typ: timeField, get: func(v jobView) []any { return timeOrNone(v.p.canceledOn) }},
		"unified_job_template": {typ: intField, get: func(v jobView) []any { return one(v.j.tmpl.id) }},
		"created_by":           {typ: intField, get: func(jobView) []any { return one(int64(userID)) }},
		"created_by__username": str(func(v jobView) string { return v.j.createdBy }),
		"labels": {typ: intField, multi: true, get: func(v jobView) []any {
			out := make([]any, len(v.j.labels))
			for i, l := range v.j.labels {
				out[i] = l.id
			}
			return out
		}},
		"labels__name": {typ: stringField, multi: true, get: func(v jobView) []any {
			out := make([]any, len(v.j.labels))
			for i, l := range v.j.labels {
				out[i] = l.name
			}
			return out
		}},
	}
	if k == KindWorkflowJob {
		fields["workflow_job_template"] = field[jobView]{typ: intField, get: func(v jobView) []any { return one(v.j.tmpl.id) }}
		fields["job_template"] = field[jobView]{typ: intField, get: func(jobView) []any { return nil }}
	} else {
		fields["job_template"] = field[jobView]{typ: intField, get: func(v jobView) []any { return one(v.j.tmpl.id) }}
		fields["organization"] = field[jobView]{typ: intField, get: func(v jobView) []any { return one(v.j.tmpl.organization) }}
		fields["inventory"] = field[jobView]{typ: intField, get: func(jobView) []any { return one(int64(demoInventoryID)) }}
		fields["project"] = field[jobView]{typ: intField, get: func(jobView) []any { return one(int64(demoProjectID)) }}
	}
	return listSpec[jobView]{model: model, fields: fields, search: func(v jobView) []string {
		return []string{v.j.tmpl.name, v.j.tmpl.description}
	}}
}

func (s *Server) listJobs(k Kind) http.HandlerFunc {
	spec := jobListSpec(k)
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.now()
		var views []jobView
		for _, j := range s.jobs {
			if j.kind == k {
				views = append(views, jobView{j, j.phaseAt(now)})
			}
		}
		q := r.URL.Query()
		views, err := spec.filter(views, q)
		if err == nil {
			err = spec.order(views, q)
		}
		if err != nil {
			err.write(w)
			return
		}
		out := make([]any, len(views))
		for i, v := range views {
			out[i] = s.jobRepr(v.j, v.p, false)
		}
		writePage(w, r, out)
	}
}

// JobInfo is a snapshot of a job for tests.
type JobInfo struct {
	ID         int64  `json:"id"`
	Kind       Kind   `json:"kind"`
	TemplateID int64  `json:"template_id"`
	Status     string `json:"status"`
	// ExtraVars are the job's variables as AWX shows them: the template's,
	// valid survey defaults and the accepted launch values, with password
	// answers as "$encrypted$". Numbers are float64, as encoding/json
	// decodes them.
	ExtraVars map[string]any `json:"extra_vars"`
	// IgnoredFields is what the launch dropped (its ignored_fields).
	IgnoredFields map[string]any `json:"ignored_fields"`
	Labels        []string       `json:"labels"`
	CreatedBy     string         `json:"created_by"`
	Created       time.Time      `json:"created"`
}

// Jobs returns every job and workflow job, in id order.
func (s *Server) Jobs() []JobInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]JobInfo, 0, len(s.jobs))
	for _, j := range s.jobs {
		labels := make([]string, len(j.labels))
		for i, l := range j.labels {
			labels[i] = l.name
		}
		out = append(out, JobInfo{
			ID: j.id, Kind: j.kind, TemplateID: j.tmpl.id, Status: j.phaseAt(now).status,
			ExtraVars: plainCopy(j.extraVars), IgnoredFields: plainCopy(j.ignored),
			Labels: labels, CreatedBy: j.createdBy, Created: j.created,
		})
	}
	return out
}

// plainCopy deep-copies m with numbers as float64.
func plainCopy(m map[string]any) map[string]any {
	out := map[string]any{}
	raw, err := json.Marshal(m)
	if err == nil {
		_ = json.Unmarshal(raw, &out)
	}
	return out
}

// LaunchCount is how many times template templateID was launched; kind is
// the kind of job it launches (KindJob for job templates, KindWorkflowJob
// for workflow job templates). Launches refused with an error status do not
// count; launches whose response was lost do.
func (s *Server) LaunchCount(kind Kind, templateID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, j := range s.jobs {
		if j.kind == kind && j.tmpl.id == templateID {
			n++
		}
	}
	return n
}

// SetJobStatus ends job id of kind with a terminal status (successful,
// failed, error or canceled) and job_explanation, now if it is still
// active, or by rewriting its outcome if it has finished. It fails for an
// unknown job or a non-terminal status.
func (s *Server) SetJobStatus(kind Kind, id int64, status, explanation string) error {
	if !isTerminal(status) {
		return fmt.Errorf("awxsim: %q is not a terminal status", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookupJob(kind, id)
	if j == nil {
		return fmt.Errorf("awxsim: no %s %d", kind, id)
	}
	// A job that has already ended keeps its end time; only its outcome
	// changes.
	at := s.now()
	if p := j.phaseAt(at); p.finished != nil {
		at = *p.finished
	}
	j.forced = &forcedEnd{at: at, status: status, explanation: explanation}
	return nil
}
