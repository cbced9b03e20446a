package awxsim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

func TestJobs_Lifecycle(t *testing.T) {
	e := newEnv(t) // 10s jobs, pending for 1s
	jobID := id(t, e.launch(awxsim.KindJob, 9, nil), "id")
	path := jobPath(awxsim.KindJob, jobID)
	created := e.clock.Now().Truncate(time.Microsecond)
	ts := func(d time.Duration) string { return created.Add(d).Format("2006-01-02T15:04:05.000000Z") }

	e.clock.Advance(999 * time.Millisecond)
	job := e.get(path)
	assert.Equal(t, "pending", job["status"])
	assert.Nil(t, job["started"])
	assert.Equal(t, float64(0), job["elapsed"])

	e.clock.Advance(time.Millisecond)
	job = e.get(path)
	assert.Equal(t, "running", job["status"])
	assert.Equal(t, ts(time.Second), job["started"])
	assert.Nil(t, job["finished"])
	assert.Equal(t, ts(time.Second), job["modified"])
	assert.Equal(t, false, job["failed"])

	e.clock.Advance(2500 * time.Millisecond)
	assert.Equal(t, 2.5, e.get(path)["elapsed"], "elapsed is live while running")

	e.clock.Advance(6500 * time.Millisecond)
	job = e.get(path)
	assert.Equal(t, "successful", job["status"])
	assert.Equal(t, ts(10*time.Second), job["finished"])
	assert.Equal(t, float64(9), job["elapsed"])
	assert.Equal(t, false, job["failed"])
	assert.Equal(t, "", job["job_explanation"])
	assert.Equal(t, true, job["event_processing_finished"])

	e.clock.Advance(time.Hour)
	assert.Equal(t, job, e.get(path), "a finished job no longer changes")
	hc := e.get("/api/v2/job_templates/9/")
	assert.Equal(t, "successful", hc["status"])
	assert.Equal(t, ts(10*time.Second), hc["last_job_run"])
}

func TestJobs_Outcomes(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 80, Name: "Quick", Duration: 2 * time.Second}))
	require.NoError(t, e.sim.AddJobTemplate(awxsim.JobTemplate{ID: 81, Name: "Broken", Outcome: awxsim.StatusError}))
	require.NoError(t, e.sim.AddWorkflowJobTemplate(awxsim.WorkflowJobTemplate{ID: 82, Name: "Failing flow", Outcome: awxsim.StatusError}))

	rotate := id(t, e.launch(awxsim.KindJob, awxsim.DemoRotateCredentialsID, nil), "id")
	quick := id(t, e.launch(awxsim.KindJob, 80, nil), "id")
	broken := id(t, e.launch(awxsim.KindJob, 81, nil), "id")
	flow := id(t, e.launch(awxsim.KindWorkflowJob, 11, map[string]any{"extra_vars": map[string]any{"env_name": "dev", "ttl_days": 1}}), "id")
	failingFlow := id(t, e.launch(awxsim.KindWorkflowJob, 82, nil), "id")

	e.clock.Advance(time.Second)
	assert.Equal(t, "running", e.get(jobPath(awxsim.KindWorkflowJob, flow))["status"], "workflow jobs skip waiting")
	e.clock.Advance(time.Second)
	assert.Equal(t, "successful", e.get(jobPath(awxsim.KindJob, quick))["status"], "the template's duration applies")
	assert.Equal(t, "running", e.get(jobPath(awxsim.KindJob, rotate))["status"])

	e.clock.Advance(8 * time.Second)
	job := e.get(jobPath(awxsim.KindJob, rotate))
	assert.Equal(t, "failed", job["status"])
	assert.Equal(t, true, job["failed"])
	assert.Contains(t, job["job_explanation"], "Rotate secret in vault")

	job = e.get(jobPath(awxsim.KindJob, broken))
	assert.Equal(t, "error", job["status"])
	assert.Equal(t, true, job["failed"])
	assert.NotEmpty(t, job["job_explanation"])

	assert.Equal(t, "successful", e.get(jobPath(awxsim.KindWorkflowJob, flow))["status"])
	wj := e.get(jobPath(awxsim.KindWorkflowJob, failingFlow))
	assert.Equal(t, "failed", wj["status"], "workflows never end in error")
	assert.Equal(t, "No error handling paths found, marking workflow as failed", wj["job_explanation"])
}

func TestJobs_SetJobStatus(t *testing.T) {
	e := newEnv(t)
	running := id(t, e.launch(awxsim.KindJob, 9, nil), "id")
	e.clock.Advance(3 * time.Second)
	require.NoError(t, e.sim.SetJobStatus(awxsim.KindJob, running, awxsim.StatusError, "Task was marked as running but was not present in the job queue."))
	job := e.get(jobPath(awxsim.KindJob, running))
	assert.Equal(t, "error", job["status"])
	assert.Equal(t, true, job["failed"])
	assert.Equal(t, "Task was marked as running but was not present in the job queue.", job["job_explanation"])
	assert.Equal(t, float64(2), job["elapsed"])
	e.clock.Advance(time.Minute)
	assert.Equal(t, "error", e.get(jobPath(awxsim.KindJob, running))["status"], "the forced outcome sticks past the natural end")

	done := id(t, e.launch(awxsim.KindJob, 9, nil), "id")
	e.clock.Advance(time.Minute)
	finished := e.get(jobPath(awxsim.KindJob, done))["finished"]
	require.NoError(t, e.sim.SetJobStatus(awxsim.KindJob, done, awxsim.StatusFailed, "rewritten"))
	job = e.get(jobPath(awxsim.KindJob, done))
	assert.Equal(t, "failed", job["status"])
	assert.Equal(t, finished, job["finished"], "a finished job keeps its end time")

	assert.Error(t, e.sim.SetJobStatus(awxsim.KindJob, done, awxsim.StatusRunning, ""))
	assert.Error(t, e.sim.SetJobStatus(awxsim.KindWorkflowJob, done, awxsim.StatusError, ""), "wrong kind")
	assert.Error(t, e.sim.SetJobStatus(awxsim.KindJob, 99999, awxsim.StatusError, ""))
}

func TestJobs_Cancel(t *testing.T) {
	e := newEnv(t) // cancels land 500ms after they are accepted
	for _, kind := range []awxsim.Kind{awxsim.KindJob, awxsim.KindWorkflowJob} {
		t.Run(string(kind), func(t *testing.T) {
			tmpl := int64(9)
			body := map[string]any{}
			if kind == awxsim.KindWorkflowJob {
				tmpl, body = 11, map[string]any{"extra_vars": map[string]any{"env_name": "dev", "ttl_days": 1}}
			}
			path := jobPath(kind, id(t, e.launch(kind, tmpl, body), "id"))
			e.clock.Advance(2 * time.Second)
			assert.Equal(t, map[string]any{"can_cancel": true}, e.get(path+"cancel/"))

			r := e.do("POST", path+"cancel/", nil)
			assert.Equal(t, http.StatusAccepted, r.status)
			assert.Empty(t, r.raw)
			e.clock.Advance(499 * time.Millisecond)
			assert.Equal(t, "running", e.get(path)["status"], "cancelling is asynchronous")
			assert.Equal(t, http.StatusAccepted, e.do("POST", path+"cancel/", nil).status, "a repeated cancel is accepted")

			e.clock.Advance(time.Millisecond)
			job := e.get(path)
			assert.Equal(t, "canceled", job["status"])
			assert.Equal(t, true, job["failed"])
			assert.NotNil(t, job["canceled_on"])
			assert.Equal(t, job["canceled_on"], job["finished"])
			assert.Equal(t, 1.5, job["elapsed"])
			assert.Equal(t, map[string]any{"can_cancel": false}, e.get(path+"cancel/"))

			r = e.do("POST", path+"cancel/", nil)
			assert.Equal(t, http.StatusMethodNotAllowed, r.status)
			assert.Equal(t, detail(`Method "POST" not allowed.`), r.json(t))
		})
	}

	t.Run("while pending", func(t *testing.T) {
		path := jobPath(awxsim.KindJob, id(t, e.launch(awxsim.KindJob, 9, nil), "id"))
		require.Equal(t, http.StatusAccepted, e.do("POST", path+"cancel/", nil).status)
		e.clock.Advance(time.Second)
		job := e.get(path)
		assert.Equal(t, "canceled", job["status"])
		assert.Nil(t, job["started"], "it never ran")
	})
	t.Run("finished jobs cannot be canceled", func(t *testing.T) {
		path := jobPath(awxsim.KindJob, id(t, e.launch(awxsim.KindJob, 9, nil), "id"))
		e.clock.Advance(10 * time.Second)
		assert.Equal(t, http.StatusMethodNotAllowed, e.do("POST", path+"cancel/", nil).status)
	})
	t.Run("a cancel landing after the end loses the race", func(t *testing.T) {
		path := jobPath(awxsim.KindJob, id(t, e.launch(awxsim.KindJob, 9, nil), "id"))
		e.clock.Advance(9800 * time.Millisecond)
		require.Equal(t, http.StatusAccepted, e.do("POST", path+"cancel/", nil).status)
		e.clock.Advance(time.Second)
		assert.Equal(t, "successful", e.get(path)["status"])
	})
	t.Run("unknown job", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, e.do("POST", "/api/v2/jobs/99999/cancel/", nil).status)
		assert.Equal(t, http.StatusNotFound, e.do("GET", "/api/v2/workflow_jobs/99999/cancel/", nil).status)
	})
}

func TestJobs_ListFilters(t *testing.T) {
	e := newEnv(t)
	var jobIDs []int64
	var created []string
	for _, tmpl := range []int64{7, 7, 9, 13} {
		job := e.launch(awxsim.KindJob, tmpl, map[string]any{"extra_vars": map[string]any{"service_name": "api"}})
		jobIDs = append(jobIDs, id(t, job, "id"))
		created = append(created, job["created"].(string))
		e.clock.Advance(4 * time.Second)
	}
	wfID := id(t, e.launch(awxsim.KindWorkflowJob, 11, map[string]any{"extra_vars": map[string]any{"env_name": "dev", "ttl_days": 1}}), "id")
	// Now: jobs 0 and 1 successful, job 2 running, job 3 running, workflow pending.

	list := func(query string) []int64 { return ids(t, e.get("/api/v2/jobs/?"+query)) }
	all := jobIDs
	assert.Equal(t, all, list(""), "workflow jobs are not jobs; default order is by id")
	assert.Equal(t, all[:2], list("job_template=7"))
	assert.Equal(t, all[:2], list("unified_job_template=7"))
	assert.Equal(t, all, list("created_by__username=countersign"))
	assert.Empty(t, list("created_by__username=someone-else"))
	assert.Equal(t, all[2:], list("created__gte="+url.QueryEscape(created[2])))
	assert.Equal(t, all[2:], list("created__gte="+created[2]), "an unescaped + or Z still parses")
	assert.Equal(t, all[:2], list("created__lt="+url.QueryEscape(created[2])))
	assert.Equal(t, all[:2], list("status=successful"))
	assert.Equal(t, all[2:], list("status__in=pending,running"))
	assert.Equal(t, all[1:2], list(fmt.Sprintf("id=%d", all[1])))
	assert.Equal(t, []int64{all[0], all[3]}, list(fmt.Sprintf("id__in=%d,%d", all[0], all[3])))
	assert.Equal(t, all[1:], list(fmt.Sprintf("not__id=%d", all[0])))
	assert.Equal(t, []int64{all[0], all[2]}, list(fmt.Sprintf("or__id=%d&or__job_template=9", all[0])))
	assert.Equal(t, all[2:3], list("job_template=9&created_by__username=countersign&created__gte="+url.QueryEscape(created[0])+"&order_by=-id"))
	assert.Equal(t, all[3:], list("name__icontains=ROTATE"))
	assert.Equal(t, all[3:], list("search=rotate"))
	assert.Equal(t, all, list("labels__isnull=true"))

	assert.Equal(t, []int64{all[3], all[2], all[1], all[0]}, list("order_by=-id"))
	assert.Equal(t, all, list("order_by=created"))
	assert.Equal(t, []int64{all[3], all[2], all[1], all[0]}, list("order_by=-created"))
	assert.Equal(t, []int64{all[2], all[0], all[1], all[3]}, list("order_by=name,id"))

	wf := func(query string) []int64 { return ids(t, e.get("/api/v2/workflow_jobs/?"+query)) }
	assert.Equal(t, []int64{wfID}, wf(""))
	assert.Equal(t, []int64{wfID}, wf("workflow_job_template=11"))
	assert.Equal(t, []int64{wfID}, wf("unified_job_template=11"))
	assert.Empty(t, wf("workflow_job_template=7"))
	assert.Empty(t, wf("job_template=11"), "a workflow job's job_template is null")
	assert.Equal(t, []int64{wfID}, wf("job_template__isnull=true"))

	for _, c := range []struct {
		query  string
		status int
		body   map[string]any
	}{
		{"extra_vars__icontains=api", http.StatusForbidden, detail("Filtering on extra_vars is not allowed.")},
		{"extra_vars=x", http.StatusForbidden, detail("Filtering on extra_vars is not allowed.")},
		{"not__extra_vars__contains=x", http.StatusForbidden, detail("Filtering on extra_vars is not allowed.")},
		{"order_by=foo", http.StatusBadRequest, detail("Cannot resolve keyword 'foo' into field.")},
		{"order_by=-foo", http.StatusBadRequest, detail("Cannot resolve keyword 'foo' into field.")},
		{"foo=1", http.StatusBadRequest, detail("Job has no field named 'foo'")},
		{"job_template=abc", http.StatusBadRequest, detail("Field 'job_template' expected a number but got 'abc'.")},
		{"created__gte=yesterday", http.StatusBadRequest, nil},
	} {
		r := e.do("GET", "/api/v2/jobs/?"+c.query, nil)
		assert.Equal(t, c.status, r.status, c.query)
		if c.body != nil {
			assert.Equal(t, c.body, r.json(t), c.query)
		}
	}
	r := e.do("GET", "/api/v2/workflow_jobs/?extra_vars__contains=x", nil)
	assert.Equal(t, http.StatusForbidden, r.status)
	r = e.do("GET", "/api/v2/workflow_jobs/?foo=1", nil)
	assert.Equal(t, detail("WorkflowJob has no field named 'foo'"), r.json(t))

	// Lists leave out what AWX leaves out of lists.
	item := results(t, e.get("/api/v2/jobs/"))[0]
	assert.NotContains(t, item, "job_env")
	assert.NotContains(t, item, "event_processing_finished")
	assert.Contains(t, e.get(jobPath(awxsim.KindJob, all[0])), "job_env")
}

func TestJobs_Pagination(t *testing.T) {
	e := newEnv(t, func(c *awxsim.Config) { c.JobDuration = time.Hour })
	for range 205 {
		e.launch(awxsim.KindJob, 9, nil)
	}
	page := e.get("/api/v2/jobs/")
	assert.Equal(t, float64(205), page["count"])
	assert.Len(t, results(t, page), 25)
	assert.Equal(t, "/api/v2/jobs/?page=2", page["next"])
	assert.Nil(t, page["previous"])

	page = e.get("/api/v2/jobs/?page=2")
	assert.Equal(t, "/api/v2/jobs/?page=3", page["next"])
	assert.Equal(t, "/api/v2/jobs/", page["previous"])

	page = e.get("/api/v2/jobs/?page_size=2&order_by=-id&job_template=9")
	assert.Equal(t, "/api/v2/jobs/?job_template=9&order_by=-id&page=2&page_size=2", page["next"])
	first := ids(t, page)
	page = e.get(page["next"].(string))
	assert.Equal(t, "/api/v2/jobs/?job_template=9&order_by=-id&page_size=2", page["previous"])
	second := ids(t, page)
	assert.Equal(t, first[1]-1, second[0], "pages continue each other")

	page = e.get("/api/v2/jobs/?page_size=500")
	assert.Len(t, results(t, page), 200, "page_size is capped at 200")
	page = e.get(page["next"].(string))
	assert.Len(t, results(t, page), 5)
	assert.Nil(t, page["next"])

	for _, q := range []string{"page=99", "page=0", "page=abc"} {
		r := e.do("GET", "/api/v2/jobs/?"+q, nil)
		assert.Equal(t, http.StatusNotFound, r.status, q)
		assert.Equal(t, detail("Invalid page."), r.json(t), q)
	}
	empty := e.get("/api/v2/jobs/?job_template=7")
	assert.Equal(t, float64(0), empty["count"])
	assert.Equal(t, []any{}, empty["results"])
}

// A simulator started again past the jobs its clients remember never hands
// out one of their ids; by default ids start at 101.
func TestJobs_FirstJobID(t *testing.T) {
	e := newEnv(t)
	assert.EqualValues(t, 101, id(t, e.launch(awxsim.KindJob, 9, nil), "id"))
	restarted := newEnv(t, func(c *awxsim.Config) { c.FirstJobID = 5000 })
	assert.EqualValues(t, 5000, id(t, restarted.launch(awxsim.KindJob, 9, nil), "id"))
	assert.EqualValues(t, 5001, id(t, restarted.launch(awxsim.KindWorkflowJob, awxsim.DemoProvisionEnvironmentID, map[string]any{
		"extra_vars": map[string]any{"env_name": "demo", "ttl_days": 1, "db_size": "small"}}), "id"))
}
