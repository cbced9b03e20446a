package approval_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

const day = 24 * time.Hour

// Reminders counts what OpenStage and Tick really send.
func TestReminders_MatchesTheRules(t *testing.T) {
	for _, tc := range []struct{ timeout, interval time.Duration }{
		{3 * time.Second, time.Second}, {72 * time.Hour, 24 * time.Hour}, {30 * day, day}, {time.Hour, time.Hour},
		{time.Hour, 2 * time.Hour}, {10 * time.Hour, 3 * time.Hour}, {72 * time.Hour, 0}, {31 * time.Hour, time.Hour},
	} {
		plan := approval.Plan{Source: approval.PlanFromPolicy, Stages: []approval.Stage{{Name: "S", Order: 1, ApproverTeam: sre,
			MinApprovers: 1, Timeout: approval.Duration(tc.timeout), ReminderInterval: approval.Duration(tc.interval)}}}
		r := approval.NewRequest(1, approval.Ref{ID: 1}, approval.Ref{ID: 1}, "alice", "x", plan, t0)
		r.OpenStage(0, sreRoster, t0)
		sent := 0
		for {
			wake, ok := r.NextWake()
			require.True(t, ok)
			remind, expired := r.Tick(wake)
			if expired {
				break
			}
			if len(remind) > 0 {
				sent++
			}
		}
		assert.Equal(t, sent, approval.Reminders(tc.timeout, tc.interval), "timeout %s, interval %s", tc.timeout, tc.interval)
	}
}

func TestStageLimits_Check(t *testing.T) {
	l := approval.DefaultStageLimits
	for _, tc := range []struct {
		timeout, interval       time.Duration
		wantTimeout, wantRemind string
	}{
		{72 * time.Hour, 24 * time.Hour, "", ""},
		{time.Minute, 0, "", ""},
		{30 * day, day, "", ""}, // 29 reminders
		{30 * day, 0, "", ""},
		{59 * time.Second, 0, "A stage waits at least 1m (the minimum stage timeout).", ""},
		{30*day + time.Second, 0, "A stage waits at most 720h (the maximum stage timeout).", ""},
		{72 * time.Hour, time.Second, "", `Remind at most every 1h (the minimum reminder interval), or use "0s" for no reminders.`},
		{72 * time.Hour, 59 * time.Minute, "", `Remind at most every 1h (the minimum reminder interval), or use "0s" for no reminders.`},
		{72 * time.Hour, -time.Hour, "", `A reminder interval cannot be negative; use "0s" for no reminders.`},
		{31 * time.Hour, time.Hour, "", ""}, // 30 reminders
		{32 * time.Hour, time.Hour, "", `A stage sends at most 30 reminders: with a timeout of 32h, remind at most every 1h2m, or use "0s" for no reminders.`},
		{72 * time.Hour, time.Hour, "", `A stage sends at most 30 reminders: with a timeout of 72h, remind at most every 2h20m, or use "0s" for no reminders.`},
	} {
		gotT, gotR := l.Check(tc.timeout, tc.interval)
		assert.Equal(t, tc.wantTimeout, gotT, "timeout %s, interval %s", tc.timeout, tc.interval)
		assert.Equal(t, tc.wantRemind, gotR, "timeout %s, interval %s", tc.timeout, tc.interval)
	}
}

// The interval MinIntervalFor suggests is always accepted, and sends at
// most MaxRemindersPerStage reminders.
func TestStageLimits_MinIntervalForIsAccepted(t *testing.T) {
	for _, l := range []approval.StageLimits{approval.DefaultStageLimits, {MinTimeout: time.Second, MaxTimeout: 30 * day, MinReminderInterval: time.Second}} {
		for _, timeout := range []time.Duration{l.MinTimeout, 5 * time.Second, 17 * time.Minute, 3 * time.Hour, 72 * time.Hour, 719*time.Hour + 59*time.Minute + 59*time.Second, l.MaxTimeout} {
			if timeout < l.MinTimeout {
				continue
			}
			iv := l.MinIntervalFor(timeout)
			_, problem := l.Check(timeout, iv)
			assert.Empty(t, problem, "timeout %s, interval %s", timeout, iv)
			assert.LessOrEqual(t, approval.Reminders(timeout, iv), approval.MaxRemindersPerStage)
		}
	}
}

func TestStageLimits_Apply(t *testing.T) {
	l := approval.DefaultStageLimits
	plan := approval.Plan{Source: approval.PlanFromPolicy, PolicyName: "old", Notes: []string{"earlier note"}, Stages: []approval.Stage{
		{Name: "Quick", Order: 1, Timeout: approval.Duration(5 * time.Second), ReminderInterval: approval.Duration(time.Second)},
		{Name: "Fine", Order: 2, Timeout: approval.Duration(72 * time.Hour), ReminderInterval: approval.Duration(24 * time.Hour)},
		{Name: "Chatty", Order: 3, Timeout: approval.Duration(72 * time.Hour), ReminderInterval: approval.Duration(time.Hour)},
		{Name: "Endless", Order: 4, Timeout: approval.Duration(90 * day), ReminderInterval: 0},
	}}
	got := l.Apply(plan)

	want := []struct{ timeout, interval time.Duration }{
		{time.Minute, time.Hour}, {72 * time.Hour, 24 * time.Hour}, {72 * time.Hour, 2*time.Hour + 20*time.Minute}, {30 * day, 0},
	}
	for i, w := range want {
		assert.Equal(t, w.timeout, got.Stages[i].Timeout.Std(), got.Stages[i].Name)
		assert.Equal(t, w.interval, got.Stages[i].ReminderInterval.Std(), got.Stages[i].Name)
		tp, ip := l.Check(got.Stages[i].Timeout.Std(), got.Stages[i].ReminderInterval.Std())
		assert.Empty(t, tp+ip, "within the limits once applied")
	}
	assert.Equal(t, []string{
		"earlier note",
		"stage 1 (Quick): timeout 5s raised to the minimum stage timeout, 1m",
		"stage 1 (Quick): reminder interval 1s raised to 1h, the minimum reminder interval",
		"stage 3 (Chatty): reminder interval 1h raised to 2h20m, since a stage sends at most 30 reminders",
		"stage 4 (Endless): timeout 2160h lowered to the maximum stage timeout, 720h",
	}, got.Notes)
	assert.Equal(t, 5*time.Second, plan.Stages[0].Timeout.Std(), "the policy's plan is not changed in place")
	assert.Equal(t, []string{"earlier note"}, plan.Notes)

	within := approval.Plan{Source: approval.PlanFromPolicy, Stages: []approval.Stage{plan.Stages[1]}}
	assert.Equal(t, within, l.Apply(within), "a plan within the limits is left as it is")
}

// A warning that a lowered timeout would put before the stage opens is
// dropped, and the plan says so; one that still fits stays.
func TestStageLimits_ApplyKeepsWarningsBeforeTheDeadline(t *testing.T) {
	l := approval.StageLimits{MinTimeout: time.Minute, MaxTimeout: 48 * time.Hour, MinReminderInterval: time.Hour}
	got := l.Apply(approval.Plan{Stages: []approval.Stage{
		{Name: "Long", Order: 1, Timeout: approval.Duration(96 * time.Hour), WarnBefore: approval.Duration(60 * time.Hour)},
		{Name: "Fits", Order: 2, Timeout: approval.Duration(96 * time.Hour), WarnBefore: approval.Duration(4 * time.Hour)},
	}})
	assert.Zero(t, got.Stages[0].WarnBefore)
	assert.Equal(t, approval.Duration(4*time.Hour), got.Stages[1].WarnBefore)
	assert.Contains(t, got.Notes, "stage 1 (Long): no deadline warning, since warning 60h before the deadline comes before the stage opens")
}

// The fallback stage of an item that requires approval (72h, reminders
// every 24h) is brought within limits that exclude it too.
func TestStageLimits_ApplyToTheFallbackStage(t *testing.T) {
	subj := provisionSubject(nil)
	subj.Item.RequiresApproval = true
	plan := approval.ResolvePlan(nil, subj)
	require.Equal(t, approval.PlanFromItem, plan.Source)

	l := approval.StageLimits{MinTimeout: time.Minute, MaxTimeout: 48 * time.Hour, MinReminderInterval: 36 * time.Hour}
	got := l.Apply(plan)
	assert.Equal(t, 48*time.Hour, got.Stages[0].Timeout.Std())
	assert.Equal(t, 36*time.Hour, got.Stages[0].ReminderInterval.Std())
	assert.Len(t, got.Notes, 2)
}

func TestStageLimits_Validate(t *testing.T) {
	require.NoError(t, approval.DefaultStageLimits.Validate())
	require.NoError(t, approval.StageLimits{MinTimeout: time.Second, MaxTimeout: time.Second, MinReminderInterval: time.Second}.Validate())
	for _, bad := range []approval.StageLimits{
		{MinTimeout: time.Hour, MaxTimeout: time.Minute, MinReminderInterval: time.Hour},
		{MinTimeout: time.Millisecond, MaxTimeout: time.Hour, MinReminderInterval: time.Hour},
		{MinTimeout: time.Minute, MaxTimeout: 400 * day, MinReminderInterval: time.Hour},
		{MinTimeout: time.Minute, MaxTimeout: time.Hour, MinReminderInterval: 0},
	} {
		assert.Error(t, bad.Validate(), "%+v", bad)
	}
	assert.Equal(t, approval.DefaultStageLimits, approval.StageLimits{}.WithDefaults())
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", time.Minute: "1m", 720 * time.Hour: "720h", 2*time.Hour + 20*time.Minute: "2h20m",
		1500 * time.Millisecond: "1.5s", 90 * time.Second: "1m30s", 0: "0s", time.Hour + time.Second: "1h0m1s",
	} {
		assert.Equal(t, want, approval.ShortDuration(d))
	}
}
