package activities

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"time"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/store"
)

// clockSkew widens the search for an earlier launch, since AWX's clock and
// PostgreSQL's may disagree.
const clockSkew = 5 * time.Minute

// earlierLaunch finds, records and returns the job of an earlier launch
// attempt whose answer was lost. It looks only when an attempt was recorded
// as sent; when it finds nothing it waits LaunchSettleTime and looks once
// more, since an attempt that timed out may still be creating its job.
func (a *Activities) earlierLaunch(ctx context.Context, in LaunchInput, vars map[string]any) (LaunchResult, bool, error) {
	since, err := a.Store.LaunchAttemptedAt(ctx, in.RequestID)
	if err != nil {
		return LaunchResult{}, false, storeFailure("reading the launch attempts", in.RequestID, err)
	}
	if since == nil {
		return LaunchResult{}, false, nil
	}
	job, found, err := a.findEarlierLaunch(ctx, in, vars, *since)
	if err == nil && !found {
		if err = sleep(ctx, a.launchSettleTime(), "waiting for an earlier launch attempt to settle"); err == nil {
			job, found, err = a.findEarlierLaunch(ctx, in, vars, *since)
		}
	}
	if err != nil || !found {
		return LaunchResult{}, false, err
	}
	a.logger().InfoContext(ctx, "recovered the job of an earlier launch attempt", "request_id", in.RequestID, "job", job.ID)
	res := LaunchResult{Job: a.jobOf(job), Recovered: true}
	return res, true, a.claim(ctx, in.RequestID, res.Job)
}

// findEarlierLaunch looks among the jobs of the template that Countersign's
// AWX user launched by hand (not through a workflow) since the first attempt
// for the one whose extra_vars carry this request's marker, or, for
// templates that do not prompt for variables, exactly this request's
// answers, and that no other request owns. Errors are retried: a job may
// exist, so giving up would risk a second launch.
func (a *Activities) findEarlierLaunch(ctx context.Context, in LaunchInput, sent map[string]any, since time.Time) (awx.Job, bool, error) {
	me, err := a.awxUsername(ctx)
	if err != nil {
		return awx.Job{}, false, retryable(awxFailure("identifying Countersign's AWX user", err, in))
	}
	kind := jobKind(in.TemplateKind)
	jobs, err := a.AWX.ListJobs(ctx, kind, awx.JobFilter{
		TemplateID:   in.TemplateID,
		CreatedBy:    me,
		CreatedAfter: since.Add(-clockSkew),
		OrderBy:      "id",
	})
	if err != nil {
		return awx.Job{}, false, retryable(awxFailure("looking for an earlier launch", err, in))
	}
	want := normalizeJSON(sent)
	for _, j := range jobs {
		if j.LaunchType != "" && j.LaunchType != "manual" {
			continue
		}
		got, err := j.ExtraVarsMap()
		if err != nil || !sameLaunch(in.RequestID, want, got) {
			continue
		}
		owner, err := a.Store.JobOwner(ctx, string(kind), j.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return j, true, nil
		case err != nil:
			return awx.Job{}, false, storeFailure("reading the job's owner", in.RequestID, err)
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
	name := a.awxUser.name
	a.awxUser.mu.Unlock()
	if name != "" {
		return name, nil
	}
	me, err := a.AWX.Me(ctx)
	if err != nil {
		return "", err
	}
	a.awxUser.mu.Lock()
	a.awxUser.name = me.Username
	a.awxUser.mu.Unlock()
	return me.Username, nil
}
