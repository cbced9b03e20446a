package awx_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx"
)

// launchAnswer builds a 201 launch body the way AWX does: the full job in
// status pending plus the created id and ignored_fields.
func launchAnswer(t *testing.T, jobFixture, idKey string, id int, ignored map[string]any) []byte {
	t.Helper()
	m := fixtureMap(t, jobFixture)
	m["id"] = id
	m["status"] = "pending"
	m["started"], m["finished"] = nil, nil
	m[idKey] = id
	m["ignored_fields"] = ignored
	return []byte(mustJSON(t, m))
}

// decodeBody reads a JSON request body into a generic map.
func decodeBody(t *testing.T, r *http.Request) map[string]any {
	b, err := io.ReadAll(r.Body)
	assert.NoError(t, err)
	var m map[string]any
	assert.NoError(t, json.Unmarshal(b, &m), "body %s", b)
	return m
}

func TestClient_LaunchJobTemplate(t *testing.T) {
	f := newFakeAWX(t)
	var sent map[string]any
	f.handle("POST /api/v2/job_templates/7/launch/", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		sent = decodeBody(t, r)
		w.Header().Set("Location", "/api/v2/jobs/301/")
		serveBytes(http.StatusCreated, launchAnswer(t, "job_detail_successful.json", "job", 301,
			map[string]any{"limit": "web*", "extra_vars": map[string]any{"foo": 1}}))(w, r)
	})

	res, err := f.client.Launch(context.Background(), awx.JobTemplate, 7, awx.LaunchRequest{
		ExtraVars: map[string]any{"region": "eu", "count": 3, "tags": []string{"a", "b"}},
		Labels:    []int64{91},
	})
	require.NoError(t, err)

	assert.Equal(t, map[string]any{
		"extra_vars": map[string]any{"region": "eu", "count": 3.0, "tags": []any{"a", "b"}},
		"labels":     []any{91.0},
	}, sent, "extra_vars must be sent as a JSON object")

	assert.Equal(t, int64(301), res.Job.ID)
	assert.Equal(t, awx.KindJob, res.Job.Type)
	assert.Equal(t, awx.StatusPending, res.Job.Status)
	assert.Nil(t, res.Job.Started)
	assert.Equal(t, int64(7), res.Job.JobTemplate)
	assert.Equal(t, map[string]any{"limit": "web*", "extra_vars": map[string]any{"foo": 1.0}}, res.IgnoredFields)
}

func TestClient_LaunchJobTemplate_Sliced(t *testing.T) {
	// A job template with job_slice_count > 1 creates a workflow job.
	f := newFakeAWX(t)
	body := fixtureMap(t, "workflow_job_detail_failed.json")
	body["status"], body["job_template"], body["is_sliced_job"] = "pending", 7, true
	body["workflow_job"], body["ignored_fields"] = 126, map[string]any{}
	f.handle("POST /api/v2/job_templates/7/launch/", serveBytes(http.StatusCreated, []byte(mustJSON(t, body))))

	res, err := f.client.Launch(context.Background(), awx.JobTemplate, 7, awx.LaunchRequest{})
	require.NoError(t, err)
	assert.Equal(t, awx.KindWorkflowJob, res.Job.Type)
	assert.Equal(t, int64(126), res.Job.ID)
	assert.Equal(t, int64(7), res.Job.JobTemplate)
	assert.Empty(t, res.IgnoredFields)
	assert.Equal(t, "/api/v2/workflow_jobs/126/", res.Job.Type.Path(res.Job.ID), "polling must use the workflow job path")
}

func TestClient_LaunchJobTemplate_SparseAnswers(t *testing.T) {
	// The kind and id come from the "job"/"workflow_job" key when the body
	// lacks the job fields.
	tests := []struct {
		name     string
		body     string
		wantKind awx.Kind
		wantID   int64
	}{
		{"job key", `{"job": 55, "ignored_fields": {}}`, awx.KindJob, 55},
		{"workflow_job key", `{"workflow_job": 56, "ignored_fields": {}}`, awx.KindWorkflowJob, 56},
		{"type wins", `{"id": 57, "type": "workflow_job", "workflow_job": 57}`, awx.KindWorkflowJob, 57},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWX(t)
			f.handle("POST /api/v2/job_templates/7/launch/", serveBytes(http.StatusCreated, []byte(tt.body)))
			res, err := f.client.Launch(context.Background(), awx.JobTemplate, 7, awx.LaunchRequest{})
			require.NoError(t, err)
			assert.Equal(t, tt.wantKind, res.Job.Type)
			assert.Equal(t, tt.wantID, res.Job.ID)
		})
	}

	t.Run("no id", func(t *testing.T) {
		f := newFakeAWX(t)
		f.handle("POST /api/v2/job_templates/7/launch/", serveBytes(http.StatusCreated, []byte(`{"ignored_fields": {}}`)))
		_, err := f.client.Launch(context.Background(), awx.JobTemplate, 7, awx.LaunchRequest{})
		require.Error(t, err)
		assert.False(t, awx.IsTransient(err), "retrying could launch twice")
	})
}

func TestClient_LaunchWorkflowJobTemplate(t *testing.T) {
	f := newFakeAWX(t)
	var raw []byte
	f.handle("POST /api/v2/workflow_job_templates/39/launch/", func(w http.ResponseWriter, r *http.Request) {
		raw, _ = io.ReadAll(r.Body)
		serveBytes(http.StatusCreated, launchAnswer(t, "workflow_job_detail_failed.json", "workflow_job", 127, map[string]any{}))(w, r)
	})

	res, err := f.client.Launch(context.Background(), awx.WorkflowJobTemplate, 39, awx.LaunchRequest{})
	require.NoError(t, err)
	assert.JSONEq(t, `{}`, string(raw), "no extra_vars or labels unless given")
	assert.Equal(t, awx.KindWorkflowJob, res.Job.Type)
	assert.Equal(t, int64(127), res.Job.ID)
	assert.Equal(t, int64(39), res.Job.WorkflowJobTemplate)
	assert.Equal(t, awx.StatusPending, res.Job.Status)
	assert.Empty(t, res.IgnoredFields)

	t.Run("unprompted variables are a 400", func(t *testing.T) {
		f.handle("POST /api/v2/workflow_job_templates/39/launch/", serveBytes(http.StatusBadRequest,
			[]byte(`{"extra_vars": ["Variables foo are not allowed on launch. Check the Prompt on Launch setting on the Workflow Job Template to include Extra Variables."]}`)))
		_, err := f.client.Launch(context.Background(), awx.WorkflowJobTemplate, 39, awx.LaunchRequest{ExtraVars: map[string]any{"foo": 1}})
		var apiErr *awx.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
		assert.Equal(t, "extra_vars: Variables foo are not allowed on launch. Check the Prompt on Launch setting on the Workflow Job Template to include Extra Variables.", apiErr.Message())
		assert.False(t, awx.IsTransient(err))
	})
}

func TestClient_ListJobs_FilterAndPagination(t *testing.T) {
	f := newFakeAWX(t)
	var queries []url.Values
	f.handle("GET /api/v2/jobs/", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		queries = append(queries, q)
		if q.Get("page") == "2" {
			writeJSON(w, http.StatusOK, `{"count": 3, "next": null, "previous": "/api/v2/jobs/?page=1",
				"results": [{"id": 12, "type": "job", "status": "running", "job_template": 7}]}`)
			return
		}
		next := r.URL.Query()
		next.Set("page", "2")
		writeJSON(w, http.StatusOK, mustJSON(t, map[string]any{
			"count": 3, "next": "/api/v2/jobs/?" + next.Encode(), "previous": nil,
			"results": []map[string]any{
				{"id": 10, "type": "job", "status": "successful", "job_template": 7},
				{"id": 11, "type": "job", "status": "failed", "job_template": 7},
			},
		}))
	})

	after := time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.FixedZone("CEST", 2*60*60))
	jobs, err := f.client.ListJobs(context.Background(), awx.KindJob, awx.JobFilter{
		TemplateID: 7, CreatedBy: "svc", CreatedAfter: after,
	})
	require.NoError(t, err)
	require.Len(t, jobs, 3)
	assert.Equal(t, []int64{10, 11, 12}, []int64{jobs[0].ID, jobs[1].ID, jobs[2].ID})

	require.Len(t, queries, 2)
	assert.Equal(t, url.Values{
		"job_template":         {"7"},
		"created_by__username": {"svc"},
		"created__gte":         {"2024-05-01T08:00:00.123456Z"},
		"order_by":             {"id"},
		"page_size":            {"200"},
	}, queries[0])
	assert.Equal(t, "2", queries[1].Get("page"))
	assert.Equal(t, "svc", queries[1].Get("created_by__username"), "next keeps the filter")
}

func TestClient_ListJobs_WorkflowFilter(t *testing.T) {
	f := newFakeAWX(t)
	var got url.Values
	f.handle("GET /api/v2/workflow_jobs/", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		writeJSON(w, http.StatusOK, `{"count": 1, "next": null, "previous": null, "results": [{"id": 88, "type": "workflow_job",
			"status": "running", "workflow_job_template": 9, "extra_vars": "{\"ttl_days\": 3}",
			"summary_fields": {"created_by": {"id": 4, "username": "svc"},
				"labels": {"count": 1, "results": [{"id": 5, "name": "countersign-request-42"}]}}}]}`)
	})

	jobs, err := f.client.ListJobs(context.Background(), awx.KindWorkflowJob, awx.JobFilter{
		TemplateID: 9, Status: awx.StatusRunning, LabelName: "countersign-request-42", OrderBy: "-id",
	})
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.Equal(t, awx.KindWorkflowJob, jobs[0].Type)
	assert.Equal(t, int64(9), jobs[0].WorkflowJobTemplate)
	assert.Equal(t, "svc", jobs[0].CreatedBy())
	assert.Equal(t, &awx.LabelList{Count: 1, Results: []awx.NamedRef{{ID: 5, Name: "countersign-request-42"}}}, jobs[0].SummaryFields.Labels)
	vars, err := jobs[0].ExtraVarsMap()
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"ttl_days": json.Number("3")}, vars)
	assert.Equal(t, url.Values{
		"workflow_job_template": {"9"},
		"status":                {"running"},
		"labels__name":          {"countersign-request-42"},
		"order_by":              {"-id"},
		"page_size":             {"200"},
	}, got)
}

func TestClient_ListJobs_Pagination(t *testing.T) {
	t.Run("unsupported kind sends nothing", func(t *testing.T) {
		f := newFakeAWX(t)
		_, err := f.client.ListJobs(context.Background(), awx.Kind("system_job"), awx.JobFilter{})
		require.Error(t, err)
		assert.False(t, awx.IsTransient(err))
		assert.Empty(t, f.received())
	})

	t.Run("endless next is cut off with an error", func(t *testing.T) {
		f := newFakeAWX(t)
		f.handle("GET /api/v2/jobs/", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, `{"count": 99999, "next": "/api/v2/jobs/?page=2", "results": [{"id": 1, "type": "job"}]}`)
		})
		_, err := f.client.ListJobs(context.Background(), awx.KindJob, awx.JobFilter{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "narrow the filter")
		assert.False(t, awx.IsTransient(err))
		assert.Len(t, f.received(), 50)
	})

	t.Run("next on another host is not followed", func(t *testing.T) {
		f := newFakeAWX(t)
		f.handle("GET /api/v2/jobs/", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, `{"count": 2, "next": "http://elsewhere.example/api/v2/jobs/?page=2", "results": [{"id": 1}]}`)
		})
		_, err := f.client.ListJobs(context.Background(), awx.KindJob, awx.JobFilter{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "elsewhere.example")
		assert.Len(t, f.received(), 1)
	})

	t.Run("absolute next on the same host is followed", func(t *testing.T) {
		f := newFakeAWX(t)
		f.handle("GET /api/v2/jobs/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("page") == "2" {
				writeJSON(w, http.StatusOK, `{"count": 2, "next": null, "results": [{"id": 2}]}`)
				return
			}
			writeJSON(w, http.StatusOK, `{"count": 2, "next": "`+f.srv.URL+`/api/v2/jobs/?page=2", "results": [{"id": 1}]}`)
		})
		jobs, err := f.client.ListJobs(context.Background(), awx.KindJob, awx.JobFilter{})
		require.NoError(t, err)
		assert.Len(t, jobs, 2)
	})

	t.Run("an error on a later page fails the whole list", func(t *testing.T) {
		f := newFakeAWX(t)
		f.handle("GET /api/v2/jobs/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("page") == "2" {
				writeJSON(w, http.StatusServiceUnavailable, `{"detail": "Service unavailable."}`)
				return
			}
			writeJSON(w, http.StatusOK, `{"count": 2, "next": "/api/v2/jobs/?page=2", "results": [{"id": 1}]}`)
		})
		jobs, err := f.client.ListJobs(context.Background(), awx.KindJob, awx.JobFilter{})
		require.Error(t, err)
		assert.Nil(t, jobs)
		assert.True(t, awx.IsTransient(err))
	})
}

func TestClient_CancelJob(t *testing.T) {
	tests := []struct {
		name          string
		kind          awx.Kind
		id            int64
		path          string
		status        int
		body          string
		wantErr       bool
		notCancelable bool
		transient     bool
	}{
		{name: "job accepted", kind: awx.KindJob, id: 26, path: "/api/v2/jobs/26/cancel/", status: http.StatusAccepted},
		{name: "workflow job accepted", kind: awx.KindWorkflowJob, id: 126, path: "/api/v2/workflow_jobs/126/cancel/", status: http.StatusAccepted},
		{name: "already finished", kind: awx.KindJob, id: 2, path: "/api/v2/jobs/2/cancel/", status: http.StatusMethodNotAllowed,
			body: `{"detail": "Method \"POST\" not allowed."}`, wantErr: true, notCancelable: true},
		{name: "unknown job", kind: awx.KindJob, id: 9, path: "/api/v2/jobs/9/cancel/", status: http.StatusNotFound,
			body: `{"detail": "Not found."}`, wantErr: true},
		{name: "AWX down", kind: awx.KindWorkflowJob, id: 9, path: "/api/v2/workflow_jobs/9/cancel/", status: http.StatusBadGateway,
			body: `<html><head><title>502 Bad Gateway</title></head></html>`, wantErr: true, transient: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWX(t)
			f.handle("POST "+tt.path, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				assert.Empty(t, b, "cancel has no body")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			err := f.client.CancelJob(context.Background(), tt.kind, tt.id)
			assert.Len(t, f.received(), 1)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.notCancelable, errors.Is(err, awx.ErrNotCancelable))
			assert.Equal(t, tt.transient, awx.IsTransient(err))
			var apiErr *awx.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
		})
	}

	t.Run("unsupported kind", func(t *testing.T) {
		f := newFakeAWX(t)
		err := f.client.CancelJob(context.Background(), "", 1)
		require.Error(t, err)
		assert.Empty(t, f.received())
	})
}

func TestKind(t *testing.T) {
	assert.True(t, awx.KindJob.Valid())
	assert.True(t, awx.KindWorkflowJob.Valid())
	assert.False(t, awx.Kind("system_job").Valid())
	assert.Equal(t, "jobs", awx.KindJob.Segment())
	assert.Equal(t, "workflow_jobs", awx.KindWorkflowJob.Segment())
	assert.Equal(t, "", awx.Kind("project_update").Segment())
	assert.Equal(t, "/api/v2/jobs/42/", awx.KindJob.Path(42))
	assert.Equal(t, "/api/v2/workflow_jobs/42/", awx.KindWorkflowJob.Path(42))
	assert.Equal(t, "", awx.Kind("").Path(42))
}

func TestTemplateKind(t *testing.T) {
	assert.True(t, awx.JobTemplate.Valid())
	assert.True(t, awx.WorkflowJobTemplate.Valid())
	assert.False(t, awx.TemplateKind("inventory_source").Valid())
	// The values are the workflow contract's: recorded histories hold them.
	assert.Equal(t, "job_template", string(awx.JobTemplate))
	assert.Equal(t, "workflow_job_template", string(awx.WorkflowJobTemplate))
	assert.Equal(t, awx.KindJob, awx.JobTemplate.JobKind())
	assert.Equal(t, awx.KindWorkflowJob, awx.WorkflowJobTemplate.JobKind())
	assert.Equal(t, awx.Kind(""), awx.TemplateKind("").JobKind())
}

// Every call that takes a kind refuses an unsupported one before sending
// anything: a launch to a guessed path must never reach AWX.
func TestClient_UnsupportedKindSendsNothing(t *testing.T) {
	f := newFakeAWX(t)
	ctx := context.Background()
	bad := awx.TemplateKind("inventory_source")
	_, err := f.client.Launch(ctx, bad, 7, awx.LaunchRequest{})
	assert.ErrorContains(t, err, `unsupported template kind "inventory_source"`)
	_, err = f.client.Template(ctx, bad, 7)
	assert.ErrorContains(t, err, "unsupported template kind")
	_, err = f.client.LaunchInfo(ctx, "", 7)
	assert.ErrorContains(t, err, "unsupported template kind")
	_, err = f.client.Survey(ctx, bad, 7)
	assert.ErrorContains(t, err, "unsupported template kind")
	_, err = f.client.Job(ctx, awx.Kind("system_job"), 7)
	assert.ErrorContains(t, err, `unsupported job kind "system_job"`)
	assert.False(t, awx.IsTransient(err))
	assert.Empty(t, f.received())
}

func TestIsTerminal(t *testing.T) {
	for status, want := range map[string]bool{
		awx.StatusNew: false, awx.StatusPending: false, awx.StatusWaiting: false, awx.StatusRunning: false,
		awx.StatusSuccessful: true, awx.StatusFailed: true, awx.StatusError: true, awx.StatusCanceled: true,
		"never updated": false, "": false,
	} {
		assert.Equal(t, want, awx.IsTerminal(status), status)
	}
}

func TestJobURL(t *testing.T) {
	assert.Equal(t, "https://awx.example.com/#/jobs/playbook/42", awx.JobURL("https://awx.example.com", awx.KindJob, 42))
	assert.Equal(t, "https://awx.example.com/#/jobs/workflow/7", awx.JobURL("https://awx.example.com/", awx.KindWorkflowJob, 7))
	assert.Equal(t, "https://h/awx/#/jobs/system/3", awx.JobURL("https://h/awx//", "system_job", 3))
	assert.Equal(t, "https://h/#/jobs", awx.JobURL("https://h", "mystery", 3))
}

func TestJob_ExtraVarsMap(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]any
		wantErr bool
	}{
		{in: "", want: map[string]any{}},
		{in: "{}", want: map[string]any{}},
		{in: "null", want: map[string]any{}},
		{in: `{"region": "eu", "count": 3, "secret": "$encrypted$"}`, want: map[string]any{"region": "eu", "count": json.Number("3"), "secret": "$encrypted$"}},
		{in: `{"big": 9007199254740993, "ratio": 2.0, "l": [1e3]}`, want: map[string]any{"big": json.Number("9007199254740993"), "ratio": json.Number("2.0"), "l": []any{json.Number("1e3")}}},
		{in: `{} {}`, wantErr: true},
		{in: `[1, 2]`, wantErr: true},
		{in: "---\nregion: eu", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.in, "\n", `\n`), func(t *testing.T) {
			got, err := awx.Job{ID: 1, Type: awx.KindJob, ExtraVars: tt.in}.ExtraVarsMap()
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
