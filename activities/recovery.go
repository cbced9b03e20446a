package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
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
	job, found, err := a.claimEarlierLaunch(ctx, in, vars, *since)
	if err == nil && !found {
		if err = sleep(ctx, a.launchSettleTime(), "waiting for an earlier launch attempt to settle"); err == nil {
			job, found, err = a.claimEarlierLaunch(ctx, in, vars, *since)
		}
	}
	if err != nil || !found {
		return LaunchResult{}, false, err
	}
	a.logger().InfoContext(ctx, "recovered the job of an earlier launch attempt", "request_id", in.RequestID, "job", job.ID)
	return LaunchResult{Job: a.jobOf(job), Recovered: true}, true, nil
}

// claimEarlierLaunch claims the first job findEarlierLaunches offers. Where
// the template carries no request marker, requests with equal answers see
// the same jobs and race for them: a claim lost to another request (which
// took that job as its own lost launch, with the same answers) moves on to
// the next job, and when every job offered was lost it looks again, since
// each lost claim settled a job for good. Only when no job is left does it
// report none found. A claim refused because this request meanwhile
// recorded another job (an overlapping attempt) returns that job.
func (a *Activities) claimEarlierLaunch(ctx context.Context, in LaunchInput, sent map[string]any, since time.Time) (awx.Job, bool, error) {
	kind := string(in.TemplateKind.JobKind())
	for {
		jobs, err := a.findEarlierLaunches(ctx, in, sent, since)
		if err != nil || len(jobs) == 0 {
			return awx.Job{}, false, err
		}
		for _, j := range jobs {
			err := a.Store.ClaimJob(ctx, in.RequestID, kind, j.ID)
			switch {
			case err == nil:
				return j, true, nil
			case errors.Is(err, store.ErrJobTaken):
				continue
			case errors.Is(err, store.ErrConflict):
				return a.ownJob(ctx, in)
			default:
				return awx.Job{}, false, storeFailure("recording the job", in.RequestID, err)
			}
		}
	}
}

// ownJob returns the job the request owns; one it cannot read is retried.
func (a *Activities) ownJob(ctx context.Context, in LaunchInput) (awx.Job, bool, error) {
	ref, err := a.Store.RequestJob(ctx, in.RequestID)
	if err != nil || ref == nil {
		if err == nil {
			err = fmt.Errorf("request %d lost its job while it was claimed", in.RequestID)
		}
		return awx.Job{}, false, storeFailure("reading the request's job", in.RequestID, err)
	}
	j, err := a.AWX.Job(ctx, awx.Kind(ref.Type), ref.ID)
	if err != nil {
		return awx.Job{}, false, retryable(awxFailure("reading the recorded job", err, in))
	}
	return j, true, nil
}

// findEarlierLaunches looks among the jobs of the template that
// Countersign's AWX user launched by hand (not through a workflow) since the
// first attempt for those whose extra_vars carry this request's marker, or,
// for templates that do not prompt for variables, exactly this request's
// answers, and that no other request owns, oldest first; a job this request
// already owns comes alone. Errors are retried: a job may exist, so giving
// up would risk a second launch.
func (a *Activities) findEarlierLaunches(ctx context.Context, in LaunchInput, sent map[string]any, since time.Time) ([]awx.Job, error) {
	me, err := a.awxUsername(ctx)
	if err != nil {
		return nil, retryable(awxFailure("identifying Countersign's AWX user", err, in))
	}
	kind := in.TemplateKind.JobKind()
	jobs, err := a.AWX.ListJobs(ctx, kind, awx.JobFilter{
		TemplateID:   in.TemplateID,
		CreatedBy:    me,
		CreatedAfter: since.Add(-clockSkew),
		OrderBy:      "id",
	})
	if err != nil {
		return nil, retryable(awxFailure("looking for an earlier launch", err, in))
	}
	want := normalizeJSON(sent)
	var free []awx.Job
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
			free = append(free, j)
		case err != nil:
			return nil, storeFailure("reading the job's owner", in.RequestID, err)
		case owner == in.RequestID:
			return []awx.Job{j}, nil
		}
	}
	return free, nil
}

// sameLaunch tells whether a job's extra_vars are those this request sent:
// by the marker when there is one, else by every answer (AWX shows password
// answers as $encrypted$, which match anything). Both sides hold numbers as
// json.Number, compared by value exactly.
func sameLaunch(requestID int64, sent, job map[string]any) bool {
	if marker, ok := job[RequestMarker]; ok {
		return sameJSON(marker, json.Number(strconv.FormatInt(requestID, 10)))
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
		if !sameJSON(got, v) {
			return false
		}
	}
	return true
}

// sameJSON compares decoded JSON values, numbers by value as Python
// compares them after AWX re-renders them (2.50 comes back 2.5): integers
// exactly, anything with a fraction or exponent as float64.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		return ok && sameNumber(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func sameNumber(a, b json.Number) bool {
	if i, ok := new(big.Int).SetString(a.String(), 10); ok {
		if j, ok := new(big.Int).SetString(b.String(), 10); ok {
			return i.Cmp(j) == 0
		}
	}
	x, errA := a.Float64()
	y, errB := b.Float64()
	return errA == nil && errB == nil && x == y
}

// normalizeJSON gives values the types AWX's extra_vars decode into
// (json.Number for numbers), so they compare with what AWX sends back.
func normalizeJSON(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
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
