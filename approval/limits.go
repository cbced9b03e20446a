package approval

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxRemindersPerStage bounds the reminders one stage sends, whatever its
// timeout: each reminder adds about a dozen events to the request's
// history (a timer, two workflow tasks, a publication), and Temporal
// stops a workflow at 51,200. Daily reminders over the longest default
// timeout (30 days) are 29.
const MaxRemindersPerStage = 30

// StageLimits bound the durations of approval stages. They apply where a
// plan is made: when a policy is saved (values outside are refused) and
// when a plan is frozen into a request (values of policies saved under
// other limits, and of the fallback stage, are brought within them). Plans
// already frozen keep their values, so running requests never change.
type StageLimits struct {
	// MinTimeout and MaxTimeout bound how long a stage may wait.
	MinTimeout, MaxTimeout time.Duration
	// MinReminderInterval is the shortest interval between reminders; 0
	// (no reminders) is always allowed.
	MinReminderInterval time.Duration
}

// DefaultStageLimits are the production limits: a stage waits 1 minute to
// 30 days and reminds at most hourly.
var DefaultStageLimits = StageLimits{MinTimeout: time.Minute, MaxTimeout: 30 * 24 * time.Hour, MinReminderInterval: time.Hour}

// Absolute bounds on the limits themselves.
const (
	minLimit = time.Second
	maxLimit = 365 * 24 * time.Hour
)

// WithDefaults returns l with every unset (zero) limit set to
// DefaultStageLimits'.
func (l StageLimits) WithDefaults() StageLimits {
	if l.MinTimeout == 0 {
		l.MinTimeout = DefaultStageLimits.MinTimeout
	}
	if l.MaxTimeout == 0 {
		l.MaxTimeout = DefaultStageLimits.MaxTimeout
	}
	if l.MinReminderInterval == 0 {
		l.MinReminderInterval = DefaultStageLimits.MinReminderInterval
	}
	return l
}

// Validate reports, on one line, limits that cannot be used: below 1s,
// above a year, or a minimum timeout above the maximum.
func (l StageLimits) Validate() error {
	var problems []string
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"minimum stage timeout", l.MinTimeout}, {"maximum stage timeout", l.MaxTimeout}, {"minimum reminder interval", l.MinReminderInterval}} {
		if v.d < minLimit || v.d > maxLimit {
			problems = append(problems, fmt.Sprintf("the %s must be between 1s and 8760h, not %s", v.name, v.d))
		}
	}
	if l.MinTimeout > l.MaxTimeout {
		problems = append(problems, fmt.Sprintf("the minimum stage timeout (%s) is above the maximum (%s)", l.MinTimeout, l.MaxTimeout))
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// Reminders is how many reminders a stage with this timeout and reminder
// interval sends if nobody decides: one every interval before the
// deadline (OpenStage and Tick).
func Reminders(timeout, interval time.Duration) int {
	if interval <= 0 || timeout <= interval {
		return 0
	}
	return int((timeout+interval-1)/interval) - 1
}

// MinIntervalFor is the shortest reminder interval a stage with this
// timeout may use: the floor, or longer when the floor would send more
// than MaxRemindersPerStage reminders (rounded up to a whole minute or
// second, so that it reads well).
func (l StageLimits) MinIntervalFor(timeout time.Duration) time.Duration {
	// ceil(timeout/iv) - 1 <= Max  ⟺  iv >= timeout / (Max + 1)
	need := (timeout + MaxRemindersPerStage) / (MaxRemindersPerStage + 1)
	switch {
	case need > time.Minute:
		need = roundUp(need, time.Minute)
	case need > time.Second:
		need = roundUp(need, time.Second)
	}
	return max(need, l.MinReminderInterval)
}

func roundUp(d, unit time.Duration) time.Duration {
	return (d + unit - 1) / unit * unit
}

// Check tells what is wrong with a stage's timeout and reminder interval
// under these limits, as sentences for the person writing the policy; an
// empty string means the value is fine. A timeout outside the limits
// leaves the interval unjudged.
func (l StageLimits) Check(timeout, interval time.Duration) (timeoutProblem, intervalProblem string) {
	switch {
	case timeout < l.MinTimeout:
		return fmt.Sprintf("A stage waits at least %s (the minimum stage timeout).", ShortDuration(l.MinTimeout)), ""
	case timeout > l.MaxTimeout:
		return fmt.Sprintf("A stage waits at most %s (the maximum stage timeout).", ShortDuration(l.MaxTimeout)), ""
	}
	switch {
	case interval < 0:
		return "", `A reminder interval cannot be negative; use "0s" for no reminders.`
	case interval == 0:
		return "", ""
	case interval < l.MinReminderInterval:
		return "", fmt.Sprintf(`Remind at most every %s (the minimum reminder interval), or use "0s" for no reminders.`, ShortDuration(l.MinReminderInterval))
	case Reminders(timeout, interval) > MaxRemindersPerStage:
		return "", fmt.Sprintf(`A stage sends at most %d reminders: with a timeout of %s, remind at most every %s, or use "0s" for no reminders.`,
			MaxRemindersPerStage, ShortDuration(timeout), ShortDuration(l.MinIntervalFor(timeout)))
	}
	return "", ""
}

// Apply brings a plan's stages within the limits, for a plan about to be
// frozen into a request: a timeout is raised to the minimum or lowered to
// the maximum, and a reminder interval raised to what MinIntervalFor
// allows. Each change is explained in the plan's notes; a plan within the
// limits is returned unchanged.
func (l StageLimits) Apply(p Plan) Plan {
	out := p
	out.Stages = make([]Stage, len(p.Stages))
	copy(out.Stages, p.Stages)
	out.Notes = append([]string(nil), p.Notes...)
	for i := range out.Stages {
		st := &out.Stages[i]
		what := fmt.Sprintf("stage %d (%s)", i+1, st.Name)
		switch t := st.Timeout.Std(); {
		case t < l.MinTimeout:
			st.Timeout = Duration(l.MinTimeout)
			out.Notes = append(out.Notes, fmt.Sprintf("%s: timeout %s raised to the minimum stage timeout, %s", what, ShortDuration(t), ShortDuration(l.MinTimeout)))
		case t > l.MaxTimeout:
			st.Timeout = Duration(l.MaxTimeout)
			out.Notes = append(out.Notes, fmt.Sprintf("%s: timeout %s lowered to the maximum stage timeout, %s", what, ShortDuration(t), ShortDuration(l.MaxTimeout)))
		}
		if st.WarnBefore > 0 && st.WarnBefore >= st.Timeout {
			out.Notes = append(out.Notes, fmt.Sprintf("%s: no deadline warning, since warning %s before the deadline comes before the stage opens", what, ShortDuration(st.WarnBefore.Std())))
			st.WarnBefore = 0
		}
		iv := st.ReminderInterval.Std()
		if iv <= 0 || (iv >= l.MinReminderInterval && Reminders(st.Timeout.Std(), iv) <= MaxRemindersPerStage) {
			continue
		}
		least := l.MinIntervalFor(st.Timeout.Std())
		st.ReminderInterval = Duration(least)
		why := "the minimum reminder interval"
		if least > l.MinReminderInterval {
			why = fmt.Sprintf("since a stage sends at most %d reminders", MaxRemindersPerStage)
		}
		out.Notes = append(out.Notes, fmt.Sprintf("%s: reminder interval %s raised to %s, %s", what, ShortDuration(iv), ShortDuration(least), why))
	}
	if len(out.Notes) == 0 {
		out.Notes = p.Notes
	}
	return out
}

// ShortDuration formats d like time.Duration without trailing zero units:
// "1h", "2h20m", "720h", "1m", "1.5s".
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
