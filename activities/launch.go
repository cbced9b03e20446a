package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/survey"
)

// RequestMarker is the extra variable that tags a job with the request that
// launched it, when the template prompts for variables. It makes an earlier
// launch recognisable without doubt and tells AWX users where a job came
// from.
const RequestMarker = "countersign_request_id"

// Launch launches the request's AWX template at most once, however often it
// is retried (SPEC 6). AWX has no idempotency key and cannot filter jobs by
// extra_vars, so Launch:
//
//  1. returns the job already recorded for the request in PostgreSQL, if any
//     (a retry after the result was lost, a workflow reset);
//  2. when an earlier attempt was recorded as having sent the launch, looks
//     for the job it may have created although its answer was lost (see
//     findEarlierLaunch);
//  3. otherwise records that a launch is being sent, then POSTs it.
//
// The job is recorded for the request in PostgreSQL, where a job can belong
// to one request only, before Launch returns. Only AWX answering 4xx to the
// POST proves no job was created: that fails for good with AWX's message
// (type ErrTypeAWXRefused). Anything else (no answer, 5xx, an unreadable
// 201) is retried; the retry looks for the job first. A launch whose
// variables AWX ignored (ignored_fields) is canceled and fails for good with
// type ErrTypeLaunchMisconfigured: the job would run without the answers.
func (a *Activities) Launch(ctx context.Context, in LaunchInput) (LaunchResult, error) {
	if res, found, err := a.recordedLaunch(ctx, in); err != nil || found {
		return res, err
	}
	vars, err := a.launchVars(ctx, in)
	if err != nil {
		return LaunchResult{}, err
	}
	if res, found, err := a.earlierLaunch(ctx, in, vars); err != nil || found {
		return res, err
	}

	if _, err := a.Store.MarkLaunchAttempted(ctx, in.RequestID); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return LaunchResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("request %d was settled without its workflow; nothing is launched for it", in.RequestID), ErrTypeRequestSettled, err)
		}
		return LaunchResult{}, storeFailure("recording the launch attempt", in.RequestID, err)
	}
	launched, err := a.postLaunch(ctx, in, vars)
	if err != nil {
		return LaunchResult{}, postFailure(err, in)
	}
	res := LaunchResult{Job: a.jobOf(launched.Job)}
	if err := a.claim(ctx, in.RequestID, res.Job); err != nil {
		return LaunchResult{}, err
	}
	if len(launched.IgnoredFields) > 0 {
		return res, a.refuseMisconfigured(ctx, res.Job, ignoredNames(launched.IgnoredFields))
	}
	return res, nil
}

// RecoverLaunch settles what happened to a launch that did not complete
// (canceled, or out of retry budget): it finds the job one of its attempts
// may have created, records it for the request and returns it; Found is
// false when no launch can have created a job. It never launches anything.
func (a *Activities) RecoverLaunch(ctx context.Context, in LaunchInput) (RecoverResult, error) {
	if res, found, err := a.recordedLaunch(ctx, in); err != nil || found {
		return RecoverResult{Found: found, Job: res.Job}, err
	}
	// Without a recorded attempt nothing was sent: no need to ask AWX,
	// which may well be down.
	if since, err := a.Store.LaunchAttemptedAt(ctx, in.RequestID); err != nil || since == nil {
		if err != nil {
			return RecoverResult{}, storeFailure("reading the launch attempts", in.RequestID, err)
		}
		return RecoverResult{}, nil
	}
	vars, err := a.launchVars(ctx, in)
	if err != nil {
		return RecoverResult{}, err
	}
	res, found, err := a.earlierLaunch(ctx, in, vars)
	return RecoverResult{Found: found, Job: res.Job}, err
}

// recordedLaunch returns the job already recorded for the request, after
// checking that AWX applied every variable sent: a job recorded but whose
// variables were ignored (the worker died before canceling it) fails again,
// and is canceled, instead of passing for a good launch.
func (a *Activities) recordedLaunch(ctx context.Context, in LaunchInput) (LaunchResult, bool, error) {
	ref, err := a.Store.RequestJob(ctx, in.RequestID)
	if err != nil {
		return LaunchResult{}, false, storeFailure("reading the request's job", in.RequestID, err)
	}
	if ref == nil {
		return LaunchResult{}, false, nil
	}
	job := approval.Job{Type: ref.Type, ID: ref.ID, Status: ref.Status, URL: ref.URL}
	current, err := a.AWX.Job(ctx, awx.Kind(ref.Type), ref.ID)
	if err != nil {
		return LaunchResult{}, false, awxFailure("reading the recorded job", err, in)
	}
	job.Status = current.Status
	got, err := current.ExtraVarsMap()
	if err != nil {
		return LaunchResult{}, false, awxFailure("reading the recorded job's variables", err, in)
	}
	var missing []string
	for k, v := range mergedAnswers(in) {
		if v == survey.Encrypted {
			// It keeps a password default, which AWX leaves out of the
			// job when the default is not itself a valid answer.
			continue
		}
		if _, ok := got[k]; !ok {
			missing = append(missing, "extra_vars."+k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return LaunchResult{}, false, a.refuseMisconfigured(ctx, job, missing)
	}
	return LaunchResult{Job: job, Recovered: true}, true, nil
}

// launchVars are the extra_vars to send: the answers, and the marker when
// the template prompts for variables.
func (a *Activities) launchVars(ctx context.Context, in LaunchInput) (map[string]any, error) {
	info, err := a.AWX.LaunchInfo(ctx, in.TemplateKind, in.TemplateID)
	if err != nil {
		return nil, awxFailure("reading the template's launch settings", err, in)
	}
	vars := mergedAnswers(in)
	if info.AskVariablesOnLaunch {
		vars[RequestMarker] = in.RequestID
	}
	return vars, nil
}

// mergedAnswers merges the request's answers into the extra_vars AWX gets:
// workflow-level answers and each node's answers (no variable is defined by
// two surveys, so the merge is unambiguous; stock AWX has no per-node
// launch inputs).
func mergedAnswers(in LaunchInput) map[string]any {
	vars := make(map[string]any, len(in.ExtraVars)+1)
	for k, v := range in.ExtraVars {
		vars[k] = v
	}
	for _, answers := range in.NodeSurveyData {
		for k, v := range answers {
			vars[k] = v
		}
	}
	return vars
}

func (a *Activities) postLaunch(ctx context.Context, in LaunchInput, vars map[string]any) (awx.LaunchResult, error) {
	return a.AWX.Launch(ctx, in.TemplateKind, in.TemplateID, awx.LaunchRequest{ExtraVars: vars})
}

// claim records the job a launch just created for the request. Another
// request with the same answers may have taken it first, as its own lost
// launch (where no marker tells them apart): the attempt is then retried,
// and the retry finds the job that request left behind.
func (a *Activities) claim(ctx context.Context, requestID int64, job approval.Job) error {
	err := a.Store.ClaimJob(ctx, requestID, job.Type, job.ID)
	if errors.Is(err, store.ErrJobTaken) {
		return temporal.NewApplicationError(
			fmt.Sprintf("AWX %s %d, just launched for request %d, was taken by another request with the same answers; looking for the job that request launched", job.Type, job.ID, requestID),
			ErrTypeJobOwnership, err)
	}
	if errors.Is(err, store.ErrConflict) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("AWX %s %d cannot be recorded for request %d: it belongs to another request, or the request has another job", job.Type, job.ID, requestID),
			ErrTypeJobOwnership, err)
	}
	if err != nil {
		return storeFailure("recording the job", requestID, err)
	}
	return nil
}

// refuseMisconfigured cancels a job AWX created without some of the values
// it was given and fails the launch; the job travels in the error's details
// so the request shows it. A cancel that fails is retried (the retry finds
// the recorded job and comes back here).
func (a *Activities) refuseMisconfigured(ctx context.Context, job approval.Job, ignored []string) error {
	err := a.AWX.CancelJob(ctx, awx.Kind(job.Type), job.ID)
	if err != nil && !errors.Is(err, awx.ErrNotCancelable) {
		return fmt.Errorf("canceling AWX %s %d, which AWX launched without %s: %w", job.Type, job.ID, strings.Join(ignored, ", "), err)
	}
	job.Status = awx.StatusCanceled
	msg := fmt.Sprintf("AWX ignored %s because the template does not prompt for them on launch; AWX %s %d was canceled, it would have run without them",
		strings.Join(ignored, ", "), job.Type, job.ID)
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeLaunchMisconfigured, nil, LaunchResult{Job: job})
}

func ignoredNames(ignored map[string]any) []string {
	names := make([]string, 0, len(ignored))
	for k, v := range ignored {
		if m, ok := v.(map[string]any); ok && k == "extra_vars" {
			for name := range m {
				names = append(names, "extra_vars."+name)
			}
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	return names
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
