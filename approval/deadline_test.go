package approval_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

// extendable is alice's request with one SRE stage open at t0: 24h
// timeout, reminders every 8h, up to 48h of extensions, a warning 4h
// before the deadline.
func extendable(t *testing.T, maxExtension, warnBefore time.Duration) *approval.Request {
	t.Helper()
	plan := approval.Plan{Source: approval.PlanFromPolicy, Stages: []approval.Stage{{Name: "SRE", Order: 1, ApproverTeam: sre, MinApprovers: 2,
		Timeout: approval.Duration(24 * time.Hour), ReminderInterval: approval.Duration(8 * time.Hour),
		MaxExtension: approval.Duration(maxExtension), WarnBefore: approval.Duration(warnBefore)}}}
	r := approval.NewRequest(42, approval.Ref{ID: 1, Name: "acme"}, approval.Ref{ID: 3, Name: "Provision environment"}, "alice", "test env", plan, t0)
	r.OpenStage(0, sreRoster, t0)
	return r
}

func extend(r *approval.Request, user string, by time.Duration, at time.Time) error {
	_, err := r.Apply(approval.Act{Action: approval.ActionExtend, User: user, Text: "on leave", By: approval.Duration(by)}, at)
	return err
}

func refusalCode(t *testing.T, err error) approval.Code {
	t.Helper()
	var ref *approval.Refusal
	require.True(t, errors.As(err, &ref), "want a *Refusal, got %v", err)
	return ref.Code
}

func TestRequest_Extend(t *testing.T) {
	at := t0.Add(time.Hour)
	for _, tc := range []struct {
		name  string
		req   func(t *testing.T) *approval.Request
		user  string
		by    time.Duration
		want  approval.Code // "" when accepted
		setup func(r *approval.Request)
	}{
		{name: "an eligible approver", user: "bob", by: 24 * time.Hour},
		{name: "an org admin", user: "erin", by: 48 * time.Hour},
		{name: "a superuser", user: "admin", by: time.Hour},
		{name: "the requester may not", user: "alice", by: time.Hour, want: approval.CodeNotAllowed},
		{name: "someone outside the stage may not", user: "mallory", by: time.Hour, want: approval.CodeNotAllowed},
		{name: "an approver who decided may not", user: "bob", by: time.Hour, want: approval.CodeNotAllowed,
			setup: func(r *approval.Request) {
				_, _ = r.Apply(approval.Act{Action: approval.ActionApprove, User: "bob"}, t0)
			}},
		{name: "a stage without max_extension allows none", user: "bob", by: time.Hour, want: approval.CodeExtensionNotAllowed,
			req: func(t *testing.T) *approval.Request { return extendable(t, 0, 0) }},
		{name: "beyond max_extension", user: "bob", by: 49 * time.Hour, want: approval.CodeExtensionExceeded},
		{name: "a zero duration", user: "bob", by: 0, want: approval.CodeInvalidDuration},
		{name: "under a second", user: "bob", by: time.Millisecond, want: approval.CodeInvalidDuration},
		{name: "a negative duration", user: "bob", by: -time.Hour, want: approval.CodeInvalidDuration},
		{name: "all of it used", user: "bob", by: time.Hour, want: approval.CodeExtensionExceeded,
			setup: func(r *approval.Request) { _ = extend(r, "erin", 48*time.Hour, t0) }},
		{name: "after the deadline", user: "bob", by: time.Hour, want: approval.CodeDeadlinePassed,
			setup: func(r *approval.Request) { r.Stages[0].Deadline = &at }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := extendable(t, 48*time.Hour, 0)
			if tc.req != nil {
				r = tc.req(t)
			}
			if tc.setup != nil {
				tc.setup(r)
			}
			before, _ := json.Marshal(r)
			deadline := *r.Stages[0].Deadline
			eff, err := r.Apply(approval.Act{Action: approval.ActionExtend, User: tc.user, Text: "on leave", By: approval.Duration(tc.by),
				Via: approval.Via{Channel: "api"}}, at)
			if tc.want != "" {
				assert.Equal(t, tc.want, refusalCode(t, err))
				after, _ := json.Marshal(r)
				assert.JSONEq(t, string(before), string(after), "a refused extension changes nothing")
				return
			}
			require.NoError(t, err)
			assert.True(t, eff.Extended)
			st := r.Stages[0]
			assert.Equal(t, deadline.Add(tc.by), *st.Deadline, "the deadline moves by the extension")
			assert.Equal(t, approval.Duration(tc.by), st.Extended)
			assert.Equal(t, []approval.Extension{{User: tc.user, By: approval.Duration(tc.by), Reason: "on leave", Deadline: deadline.Add(tc.by), At: at,
				Via: approval.Via{Channel: "api"}}}, st.Extensions)
		})
	}
}

func TestRequest_ExtensionsAddUpToMaxExtension(t *testing.T) {
	r := extendable(t, 48*time.Hour, 0)
	require.NoError(t, extend(r, "bob", 24*time.Hour, t0))
	assert.Equal(t, approval.Duration(24*time.Hour), r.ExtensionLeft())
	assert.Equal(t, approval.CodeExtensionExceeded, refusalCode(t, extend(r, "carol", 25*time.Hour, t0)))
	require.NoError(t, extend(r, "carol", 24*time.Hour, t0))
	assert.Equal(t, t0.Add(72*time.Hour), *r.Stages[0].Deadline)
	assert.Zero(t, r.ExtensionLeft())
	assert.Equal(t, approval.CodeExtensionExceeded, refusalCode(t, r.Check(approval.ActionExtend, "bob", "", t0)), "nothing left: refused before any duration")

	_, expired := r.Tick(t0.Add(24 * time.Hour))
	assert.False(t, expired, "the old deadline no longer expires the stage")
	_, expired = r.Tick(t0.Add(72 * time.Hour))
	assert.True(t, expired)
}

// ExtendableUntil is what the projection keeps of the extension rules:
// the open stage's deadline while it has an extension left, else nil.
func TestRequest_ExtendableUntil(t *testing.T) {
	r := extendable(t, 48*time.Hour, 0)
	require.NotNil(t, r.ExtendableUntil())
	assert.Equal(t, t0.Add(24*time.Hour), *r.ExtendableUntil())
	require.NoError(t, extend(r, "bob", 24*time.Hour, t0))
	assert.Equal(t, t0.Add(48*time.Hour), *r.ExtendableUntil(), "the extended deadline, with 24h left")
	require.NoError(t, extend(r, "bob", 24*time.Hour, t0))
	assert.Nil(t, r.ExtendableUntil(), "max_extension used up")

	assert.Nil(t, extendable(t, 0, 0).ExtendableUntil(), "a stage without max_extension")

	few := extendable(t, 48*time.Hour, 0)
	for range approval.MaxExtensions {
		require.NoError(t, extend(few, "bob", time.Second, t0))
	}
	assert.Nil(t, few.ExtendableUntil(), "as many extensions as a stage may take")

	decided := extendable(t, 48*time.Hour, 0)
	for _, u := range []string{"bob", "carol"} {
		_, err := decided.Apply(approval.Act{Action: approval.ActionApprove, User: u}, t0)
		require.NoError(t, err)
	}
	require.Equal(t, approval.StatusApproved, decided.Status)
	assert.Nil(t, decided.ExtendableUntil(), "no stage open")
}

func TestRequest_ExtensionsAreBoundedInNumber(t *testing.T) {
	r := extendable(t, 48*time.Hour, 0)
	for range approval.MaxExtensions {
		require.NoError(t, extend(r, "bob", time.Second, t0))
	}
	assert.Equal(t, approval.CodeExtensionExceeded, refusalCode(t, extend(r, "bob", time.Second, t0)))
}

func TestRequest_DeadlineWarning(t *testing.T) {
	r := extendable(t, 48*time.Hour, 4*time.Hour)
	wake, _ := r.NextWake()
	assert.Equal(t, t0.Add(8*time.Hour), wake, "the first reminder comes first")
	r.Tick(t0.Add(8 * time.Hour))
	r.Tick(t0.Add(16 * time.Hour))
	wake, _ = r.NextWake()
	assert.Equal(t, t0.Add(20*time.Hour), wake, "then the warning, 4h before the deadline")

	_, ok := r.Warn(t0.Add(19 * time.Hour))
	assert.False(t, ok, "not before its time")
	to, ok := r.Warn(t0.Add(20 * time.Hour))
	require.True(t, ok)
	assert.Equal(t, []string{"alice", "bob", "carol", "frank"}, to, "the requester and the approvers who have not decided")
	_, ok = r.Warn(t0.Add(21 * time.Hour))
	assert.False(t, ok, "once per deadline")
	wake, _ = r.NextWake()
	assert.Equal(t, t0.Add(24*time.Hour), wake, "then the deadline")

	require.NoError(t, extend(r, "bob", 24*time.Hour, t0.Add(21*time.Hour)))
	wake, _ = r.NextWake()
	assert.Equal(t, t0.Add(24*time.Hour), wake, "the reminders resume")
	for _, at := range []time.Duration{24 * time.Hour, 32 * time.Hour, 40 * time.Hour} {
		r.Tick(t0.Add(at))
	}
	wake, _ = r.NextWake()
	assert.Equal(t, t0.Add(44*time.Hour), wake, "warned again before the new deadline")
	_, ok = r.Warn(t0.Add(44 * time.Hour))
	assert.True(t, ok)

	require.NoError(t, extend(r, "bob", time.Hour, t0.Add(46*time.Hour)))
	wake, _ = r.NextWake()
	assert.Equal(t, t0.Add(48*time.Hour), wake, "an extension inside the warning period is its own notice: the next reminder comes first, then the deadline")
	_, ok = r.Warn(t0.Add(46 * time.Hour))
	assert.False(t, ok)
}

func TestRequest_NoWarningWithoutWarnBefore(t *testing.T) {
	r := extendable(t, 0, 0)
	for _, at := range []time.Duration{8 * time.Hour, 16 * time.Hour, 23 * time.Hour} {
		_, ok := r.Warn(t0.Add(at))
		assert.False(t, ok)
	}
	wake, _ := r.NextWake()
	assert.Equal(t, t0.Add(8*time.Hour), wake)
	plain, err := json.Marshal(r.Stages[0])
	require.NoError(t, err)
	assert.NotContains(t, string(plain), "warned_for", "a stage without the rules shows none of their fields")
	assert.NotContains(t, string(plain), "extensions")
}

// An extended stage goes on reminding at its interval until its new
// deadline: the reminders the old deadline cut off resume on their
// schedule.
func TestRequest_RemindersGoOnUntilTheExtendedDeadline(t *testing.T) {
	r := extendable(t, 48*time.Hour, 0)
	for _, at := range []time.Duration{8 * time.Hour, 16 * time.Hour} {
		remind, expired := r.Tick(t0.Add(at))
		require.False(t, expired)
		require.NotEmpty(t, remind, "the reminder at %s", at)
	}
	require.Nil(t, r.Stages[0].NextReminder, "the next would come at the deadline: none")

	require.NoError(t, extend(r, "erin", 24*time.Hour, t0.Add(20*time.Hour)))
	require.NotNil(t, r.Stages[0].NextReminder)
	assert.Equal(t, t0.Add(24*time.Hour), *r.Stages[0].NextReminder, "on the schedule the stage opened with")
	var sent []time.Time
	for at := t0.Add(24 * time.Hour); at.Before(t0.Add(48 * time.Hour)); at = at.Add(8 * time.Hour) {
		remind, expired := r.Tick(at)
		require.False(t, expired)
		if len(remind) > 0 {
			sent = append(sent, at)
		}
	}
	assert.Equal(t, []time.Time{t0.Add(24 * time.Hour), t0.Add(32 * time.Hour), t0.Add(40 * time.Hour)}, sent)
	assert.Nil(t, r.Stages[0].NextReminder, "none at the new deadline")
	assert.Equal(t, 5, r.Stages[0].RemindersSent)

	early := extendable(t, 48*time.Hour, 0)
	require.NoError(t, extend(early, "erin", 24*time.Hour, t0.Add(time.Hour)))
	assert.Equal(t, t0.Add(8*time.Hour), *early.Stages[0].NextReminder, "a reminder still to come keeps its time")
}

// The stage keeps when each deadline warning went out, for the timeline;
// an extension that is its own notice sent none.
func TestRequest_DeadlineWarningsAreKept(t *testing.T) {
	r := extendable(t, 48*time.Hour, 4*time.Hour)
	assert.Empty(t, r.Stages[0].Warnings)
	_, ok := r.Warn(t0.Add(20 * time.Hour))
	require.True(t, ok)
	require.NoError(t, extend(r, "bob", 24*time.Hour, t0.Add(21*time.Hour)))
	_, ok = r.Warn(t0.Add(44 * time.Hour))
	require.True(t, ok)
	require.NoError(t, extend(r, "bob", time.Hour, t0.Add(46*time.Hour)))
	assert.Equal(t, []time.Time{t0.Add(20 * time.Hour), t0.Add(44 * time.Hour)}, r.Stages[0].Warnings)
}
