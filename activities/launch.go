package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/store"
)

// RequestMarker is the extra variable that tags a job with the request that
// launched it, when the template prompts for variables. It makes an earlier
// launch recognisable without doubt and tells AWX users where a job came
// from.
const RequestMarker = "countersign_request_id"

// clockSkew widens the search for an earlier launch, since AWX's clock and
// ours may disagree.
const clockSkew = 10 * time.Minute

// Error types of non-retryable activity failures.
const (
	ErrTypeAWXRefused          = "AWXRefused"
	ErrTypeLaunchMisconfigured = "LaunchMisconfigured"
	ErrTypeJobOwnership        = "JobOwnership"
)

// Launch launches the request's AWX template at most once, however often it
// is retried (SPEC 6). AWX has no idempotency key and cannot filter jobs by
// extra_vars, so Launch:
//
//  1. returns the job already recorded for the request in PostgreSQL, if any
//     (a retry after the result was lost, a workflow reset);
//  2. on a retry, looks for a job an earlier attempt created but whose answer
//     was lost: jobs of the template created by Countersign's AWX user since
//     the request was approved, whose extra_vars carry this request's marker
//     (or, for templates that do not prompt for variables, exactly the
//     request's answers) and that no other request owns;
//  3. otherwise POSTs the launch.
//
// Either way the job is claimed for the request in PostgreSQL, where a job
// can belong to one request only. AWX refusing the launch (400, 403, 404) is
// a non-retryable failure carrying AWX's message; unreachable AWX, 5xx and
// 429 are retried. A launch whose variables AWX ignored (ignored_fields) is
// canceled and fails: the job would run without the answers.
func (a *Activities) Launch(ctx context.Context, in LaunchInput) (LaunchResult, error) {
	kind := jobKind(in.TemplateKind)
	if ref, err := a.Store.RequestJob(ctx, in.RequestID); err != nil {
		return LaunchResult{}, err
	} else if ref != nil {
		return LaunchResult{Job: approval.Job{Type: ref.Type, ID: ref.ID, Status: ref.Status, URL: ref.URL}, Recovered: true}, nil
	}
	info, err := a.launchInfo(ctx, in)
	if err != nil {
		return LaunchResult{}, awxFailure("reading the template's launch settings", err)
	}
	vars := launchVars(in, info.AskVariablesOnLaunch)

	if activity.GetInfo(ctx).Attempt > 1 {
		job, found, err := a.findEarlierLaunch(ctx, in, kind, vars)
		if err == nil && !found {
			// An earlier attempt that timed out may still be creating its
			// job in AWX; look once more before launching again.
			if err = sleep(ctx, a.launchSettleTime()); err == nil {
				job, found, err = a.findEarlierLaunch(ctx, in, kind, vars)
			}
		}
		if err != nil {
			return LaunchResult{}, err
		}
		if found {
			a.logger().InfoContext(ctx, "recovered the job of an earlier launch attempt", "request_id", in.RequestID, "job", job.ID)
			res := LaunchResult{Job: a.jobOf(job), Recovered: true}
			return res, a.claim(ctx, in.RequestID, res.Job)
		}
	}

	launched, err := a.postLaunch(ctx, in, vars)
	if err != nil {
		return LaunchResult{}, awxFailure("launching the template", err)
	}
	res := LaunchResult{Job: a.jobOf(launched.Job)}
	if err := a.claim(ctx, in.RequestID, res.Job); err != nil {
		return LaunchResult{}, err
	}
	if len(launched.IgnoredFields) > 0 {
		return res, a.refuseIgnoredFields(ctx, res.Job, launched.IgnoredFields)
	}
	return res, nil
}

func (a *Activities) launchInfo(ctx context.Context, in LaunchInput) (awx.LaunchInfo, error) {
	if in.TemplateKind == WorkflowJobTemplate {
		return a.AWX.WorkflowJobTemplateLaunchInfo(ctx, in.TemplateID)
	}
	return a.AWX.JobTemplateLaunchInfo(ctx, in.TemplateID)
}

func (a *Activities) postLaunch(ctx context.Context, in LaunchInput, vars map[string]any) (awx.LaunchResult, error) {
	req := awx.LaunchRequest{ExtraVars: vars}
	if in.TemplateKind == WorkflowJobTemplate {
		return a.AWX.LaunchWorkflowJobTemplate(ctx, in.TemplateID, req)
	}
	return a.AWX.LaunchJobTemplate(ctx, in.TemplateID, req)
}

func (a *Activities) claim(ctx context.Context, requestID int64, job approval.Job) error {
	err := a.Store.ClaimJob(ctx, requestID, job.Type, job.ID)
	if errors.Is(err, store.ErrConflict) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("AWX %s %d cannot be recorded for request %d: it belongs to another request, or the request has another job", job.Type, job.ID, requestID),
			ErrTypeJobOwnership, err)
	}
	return err
}

// refuseIgnoredFields cancels a job AWX created without some of the values
// it was given and fails the launch; the job travels in the error's details
// so the request shows which job it was.
func (a *Activities) refuseIgnoredFields(ctx context.Context, job approval.Job, ignored map[string]any) error {
	fields := make([]string, 0, len(ignored))
	for k, v := range ignored {
		if k == "extra_vars" {
			if m, ok := v.(map[string]any); ok {
				for name := range m {
					fields = append(fields, "extra_vars."+name)
				}
				continue
			}
		}
		fields = append(fields, k)
	}
	sort.Strings(fields)
	msg := fmt.Sprintf("AWX ignored %s because the template does not prompt for them on launch; the job would have run without them",
		strings.Join(fields, ", "))
	if err := a.AWX.CancelJob(ctx, awx.Kind(job.Type), job.ID); err != nil && !errors.Is(err, awx.ErrNotCancelable) {
		msg += fmt.Sprintf("; canceling AWX %s %d failed: %v", job.Type, job.ID, err)
	} else {
		msg += fmt.Sprintf("; AWX %s %d was canceled", job.Type, job.ID)
	}
	job.Status = "canceled"
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeLaunchMisconfigured, nil, LaunchResult{Job: job})
}

// findEarlierLaunch looks for the job of an earlier attempt whose answer was
// lost (see Launch).
func (a *Activities) findEarlierLaunch(ctx context.Context, in LaunchInput, kind awx.Kind, sent map[string]any) (awx.Job, bool, error) {
	me, err := a.awxUsername(ctx)
	if err != nil {
		return awx.Job{}, false, awxFailure("identifying Countersign's AWX user", err)
	}
	jobs, err := a.AWX.ListJobs(ctx, kind, awx.JobFilter{
		TemplateID:   in.TemplateID,
		CreatedBy:    me,
		CreatedAfter: in.ApprovedAt.Add(-clockSkew),
		OrderBy:      "id",
	})
	if err != nil {
		return awx.Job{}, false, awxFailure("looking for an earlier launch", err)
	}
	want := normalizeJSON(sent)
	for _, j := range jobs {
		got, err := j.ExtraVarsMap()
		if err != nil || !sameLaunch(in.RequestID, want, got) {
			continue
		}
		owner, err := a.Store.JobOwner(ctx, string(kind), j.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return j, true, nil
		case err != nil:
			return awx.Job{}, false, err
		case owner == in.RequestID:
			return j, true, nil
		}
	}
	return awx.Job{}, false, nil
}

// sameLaunch tells whether a job's extra_vars are those this request sent:
// by the marker when there is one, else by every answer (AWX shows password
// answers as $encrypted$, which match anything).
func sameLaunch(requestID int64, sent, job map[string]any) bool {
	if marker, ok := job[RequestMarker]; ok {
		return reflect.DeepEqual(marker, float64(requestID))
	}
	if _, ok := sent[RequestMarker]; ok {
		return false
	}
	for k, v := range sent {
		got, ok := job[k]
		if !ok {
			return false
		}
		if got == "$encrypted$" {
			continue
		}
		if !reflect.DeepEqual(got, v) {
			return false
		}
	}
	return true
}

// launchVars merges the request's answers into the extra_vars AWX gets:
// workflow-level answers and each node's answers (no variable is defined by
// two surveys, so the merge is unambiguous), plus the request marker when
// the template prompts for variables.
func launchVars(in LaunchInput, marker bool) map[string]any {
	vars := make(map[string]any, len(in.ExtraVars)+1)
	for k, v := range in.ExtraVars {
		vars[k] = v
	}
	for _, answers := range in.NodeSurveyData {
		for k, v := range answers {
			vars[k] = v
		}
	}
	if marker {
		vars[RequestMarker] = in.RequestID
	}
	return vars
}

// normalizeJSON gives values the types encoding/json decodes into, so they
// compare with what AWX sends back.
func normalizeJSON(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return m
	}
	return out
}

func jobKind(t TemplateKind) awx.Kind {
	if t == WorkflowJobTemplate {
		return awx.KindWorkflowJob
	}
	return awx.KindJob
}

func (a *Activities) jobOf(j awx.Job) approval.Job {
	return approval.Job{
		Type:        string(j.Type),
		ID:          j.ID,
		Status:      j.Status,
		URL:         awx.JobURL(a.AWX.BaseURL(), j.Type, j.ID),
		Explanation: j.JobExplanation,
	}
}

// awxFailure classifies an AWX error for Temporal: transient ones are
// returned as they are and retried; the others fail the activity for good
// with AWX's own message.
func awxFailure(doing string, err error) error {
	if awx.IsTransient(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	msg := err.Error()
	var apiErr *awx.APIError
	if errors.As(err, &apiErr) {
		msg = apiErr.Message()
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeAWXRefused, err)
}

func (a *Activities) launchSettleTime() time.Duration {
	if a.LaunchSettleTime > 0 {
		return a.LaunchSettleTime
	}
	return DefaultLaunchSettleTime
}

// awxUserCache remembers the AWX username behind AWX_TOKEN; launches are
// recognised by it.
type awxUserCache struct {
	mu   sync.Mutex
	name string
}

func (a *Activities) awxUsername(ctx context.Context) (string, error) {
	a.awxUser.mu.Lock()
	defer a.awxUser.mu.Unlock()
	if a.awxUser.name != "" {
		return a.awxUser.name, nil
	}
	me, err := a.AWX.Me(ctx)
	if err != nil {
		return "", err
	}
	a.awxUser.name = me.Username
	return me.Username, nil
}
