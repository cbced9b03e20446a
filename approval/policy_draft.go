package approval

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxStages bounds a policy's stages.
const MaxStages = 20

// PolicyDraft is a policy as a client writes it: nil fields are not given
// (on an update, left as they are). Stages, when given, replace all of
// them. Durations are Go duration strings ("72h", "30m").
type PolicyDraft struct {
	Name      *string
	Priority  *int
	Condition *string
	Stages    *[]StageDraft
}

// StageDraft is a stage as a client writes it. Order, when given, must be
// its place in the list, from 1: a stage is moved, not renumbered.
type StageDraft struct {
	Order            *int    `json:"order"`
	Name             *string `json:"name"`
	ApproverTeam     *int64  `json:"approver_team"`
	MinApprovers     *int    `json:"min_approvers"`
	DenialMessage    *string `json:"denial_message"`
	Timeout          *string `json:"timeout"`
	ReminderInterval *string `json:"reminder_interval"`
	// RequireRecentLogin: see Stage; "0s" or absent for none.
	RequireRecentLogin *string `json:"require_recent_login"`
	// MaxExtension: see Stage; "0s" or absent for no extension.
	MaxExtension *string `json:"max_extension"`
	// WarnBefore: see Stage; "0s" or absent for no warning.
	WarnBefore *string `json:"warn_before"`
	// Escalations: see Stage; absent for none.
	Escalations *[]EscalationDraft `json:"escalations"`
}

// EscalationDraft is an escalation step as a client writes it:
// {"after": "8h", "approver_team": 3}.
type EscalationDraft struct {
	After        *string `json:"after"`
	ApproverTeam *int64  `json:"approver_team"`
}

// MaxEscalations bounds a stage's escalation steps.
const MaxEscalations = 5

// Bounds on a stage's RequireRecentLogin when set: shorter than a minute
// nobody could sign in and decide in time; longer than a day is no
// step-up, sessions themselves last that long.
const (
	MinRecentLogin = time.Minute
	MaxRecentLogin = 24 * time.Hour
)

// Problems says what is wrong with a draft, field by field ("name",
// "stages.0.timeout"), in words for the person who wrote it.
type Problems map[string][]string

func (p Problems) add(field, msg string) { p[field] = append(p[field], msg) }

// CheckName checks an object's name: required when creating, 1 to 512
// characters once trimmed.
func CheckName(name *string, creating bool, problems Problems) {
	switch {
	case name == nil && creating:
		problems.add("name", "This field is required.")
	case name != nil && (strings.TrimSpace(*name) == "" || len(*name) > 512):
		problems.add("name", "Give a name of 1 to 512 characters.")
	}
}

// Check checks a draft and reads its stages with their defaults (timeout
// DefaultStageTimeout, reminder interval DefaultReminderInterval, one
// approver; ApproverTeam holds only the team's id). Checking compiles the
// condition (CheckCondition), which costs up to milliseconds: callers
// check drafts of authorized callers only. Stages is nil when the draft
// gives none.
func (d PolicyDraft) Check(creating bool, limits StageLimits) (Problems, []Stage) {
	problems := Problems{}
	CheckName(d.Name, creating, problems)
	if d.Condition != nil {
		if err := CheckCondition(*d.Condition); err != nil {
			problems.add("condition", err.Error())
		}
	}
	if d.Priority != nil && (*d.Priority < -1_000_000 || *d.Priority > 1_000_000) {
		problems.add("priority", "Use a number between -1000000 and 1000000.")
	}
	if d.Stages == nil {
		if creating {
			problems.add("stages", "Give at least one stage.")
		}
		return problems, nil
	}
	if len(*d.Stages) == 0 || len(*d.Stages) > MaxStages {
		problems.add("stages", fmt.Sprintf("Give 1 to %d stages.", MaxStages))
	}
	stages := make([]Stage, 0, len(*d.Stages))
	for i, sd := range *d.Stages {
		stages = append(stages, sd.check(i, limits, problems))
	}
	return problems, stages
}

// check reads the stage at place i of its list.
func (sd StageDraft) check(i int, limits StageLimits, problems Problems) Stage {
	key := func(f string) string { return fmt.Sprintf("stages.%d.%s", i, f) }
	if sd.Order != nil && *sd.Order != i+1 {
		problems.add(key("order"), fmt.Sprintf("A stage's order is its place in the list (%d here): move the stage to reorder.", i+1))
	}
	st := sd.withDefaults(i)
	if st.Name == "" || len(st.Name) > 512 {
		problems.add(key("name"), "Give a name of 1 to 512 characters.")
	}
	if st.MinApprovers < 1 || st.MinApprovers > 100 {
		problems.add(key("min_approvers"), "Use 1 to 100 approvers.")
	}
	if len(st.DenialMessage) > 2000 {
		problems.add(key("denial_message"), "Use at most 2000 characters.")
	}
	durationsRead := true
	if sd.Timeout != nil {
		if _, err := time.ParseDuration(*sd.Timeout); err != nil {
			problems.add(key("timeout"), fmt.Sprintf("Use a duration such as \"72h\" or \"30m\", not %q.", *sd.Timeout))
			durationsRead = false
		}
	}
	if sd.ReminderInterval != nil {
		if _, err := time.ParseDuration(*sd.ReminderInterval); err != nil {
			problems.add(key("reminder_interval"), fmt.Sprintf("Use a duration such as \"24h\", or \"0s\" for no reminders, not %q.", *sd.ReminderInterval))
			durationsRead = false
		}
	}
	if sd.RequireRecentLogin != nil {
		d, err := time.ParseDuration(*sd.RequireRecentLogin)
		if err != nil || (d != 0 && (d < MinRecentLogin || d > MaxRecentLogin)) {
			problems.add(key("require_recent_login"), fmt.Sprintf("Use a duration from %s to %s such as \"15m\", or \"0s\" for none, not %q.",
				MinRecentLogin, MaxRecentLogin, *sd.RequireRecentLogin))
		}
	}
	if durationsRead {
		timeoutProblem, intervalProblem := limits.Check(st.Timeout.Std(), st.ReminderInterval.Std())
		if timeoutProblem != "" {
			problems.add(key("timeout"), timeoutProblem)
		}
		if intervalProblem != "" {
			problems.add(key("reminder_interval"), intervalProblem)
		}
	}
	sd.checkDeadlineRules(st, durationsRead, limits, key, problems)
	return st
}

// checkDeadlineRules checks what moves or widens a stage as its deadline
// nears: max_extension, warn_before and escalations. Durations that
// must stay below the timeout are judged only when the timeout was read.
func (sd StageDraft) checkDeadlineRules(st Stage, timeoutRead bool, limits StageLimits, key func(string) string, problems Problems) {
	if sd.MaxExtension != nil {
		d, err := time.ParseDuration(*sd.MaxExtension)
		if err != nil || d < 0 || d > limits.MaxTimeout {
			problems.add(key("max_extension"), fmt.Sprintf("Use a duration up to %s (the maximum stage timeout) such as \"24h\", or \"0s\" for no extension, not %q.",
				ShortDuration(limits.MaxTimeout), *sd.MaxExtension))
		}
	}
	if sd.WarnBefore != nil {
		d, err := time.ParseDuration(*sd.WarnBefore)
		switch {
		case err != nil || d < 0:
			problems.add(key("warn_before"), fmt.Sprintf("Use a duration such as \"4h\", or \"0s\" for no warning, not %q.", *sd.WarnBefore))
		case timeoutRead && d > 0 && d >= st.Timeout.Std():
			problems.add(key("warn_before"), fmt.Sprintf("Warn before the deadline: use less than the stage's timeout (%s).", ShortDuration(st.Timeout.Std())))
		}
	}
	if sd.Escalations == nil {
		return
	}
	if len(*sd.Escalations) > MaxEscalations {
		problems.add(key("escalations"), fmt.Sprintf("Give at most %d escalation steps.", MaxEscalations))
		return
	}
	var prev time.Duration
	for j, ed := range *sd.Escalations {
		ekey := func(f string) string { return key(fmt.Sprintf("escalations.%d.%s", j, f)) }
		if ed.ApproverTeam == nil {
			problems.add(ekey("approver_team"), "Name the team that may decide once the stage escalates.")
		}
		if ed.After == nil {
			problems.add(ekey("after"), "Say after how long the stage escalates, such as \"8h\".")
			continue
		}
		d, err := time.ParseDuration(*ed.After)
		switch {
		case err != nil || d < time.Minute:
			problems.add(ekey("after"), fmt.Sprintf("Use a duration of at least 1m such as \"8h\", not %q.", *ed.After))
			continue
		case timeoutRead && d >= st.Timeout.Std():
			problems.add(ekey("after"), fmt.Sprintf("Escalate before the deadline: use less than the stage's timeout (%s).", ShortDuration(st.Timeout.Std())))
		case j > 0 && d <= prev:
			problems.add(ekey("after"), fmt.Sprintf("Each step escalates later than the one before (%s).", ShortDuration(prev)))
		}
		prev = d
	}
}

// withDefaults is the stage at place i that the draft describes, with
// the defaults for what it leaves out; a duration that does not parse
// reads as 0.
func (sd StageDraft) withDefaults(i int) Stage {
	st := Stage{Name: strings.TrimSpace(deref(sd.Name)), Order: i + 1, MinApprovers: 1, DenialMessage: deref(sd.DenialMessage),
		Timeout: Duration(DefaultStageTimeout), ReminderInterval: Duration(DefaultReminderInterval)}
	if sd.ApproverTeam != nil {
		st.ApproverTeam = &Ref{ID: *sd.ApproverTeam}
	}
	if sd.MinApprovers != nil {
		st.MinApprovers = *sd.MinApprovers
	}
	if sd.Timeout != nil {
		d, _ := time.ParseDuration(*sd.Timeout)
		st.Timeout = Duration(d)
	}
	if sd.ReminderInterval != nil {
		d, _ := time.ParseDuration(*sd.ReminderInterval)
		st.ReminderInterval = Duration(d)
	}
	if sd.RequireRecentLogin != nil {
		d, _ := time.ParseDuration(*sd.RequireRecentLogin)
		st.RequireRecentLogin = Duration(d)
	}
	if sd.MaxExtension != nil {
		d, _ := time.ParseDuration(*sd.MaxExtension)
		st.MaxExtension = Duration(d)
	}
	if sd.WarnBefore != nil {
		d, _ := time.ParseDuration(*sd.WarnBefore)
		st.WarnBefore = Duration(d)
	}
	if sd.Escalations != nil {
		for _, ed := range *sd.Escalations {
			var e Escalation
			if ed.After != nil {
				d, _ := time.ParseDuration(*ed.After)
				e.After = Duration(d)
			}
			if ed.ApproverTeam != nil {
				e.ApproverTeam.ID = *ed.ApproverTeam
			}
			st.Escalations = append(st.Escalations, e)
		}
	}
	return st
}

// SameStages reports whether drafts, read with Check's defaults, are
// stages, in their order: a policy's stages sent back as they are shown
// are no change, and are not checked against today's limits again.
func SameStages(drafts []StageDraft, stages []Stage) bool {
	if len(drafts) != len(stages) {
		return false
	}
	for i, sd := range drafts {
		if sd.Name == nil || (sd.Order != nil && *sd.Order != i+1) || !sameDurations(sd) {
			return false
		}
		got, want := sd.withDefaults(i), stages[i]
		if got.Name != want.Name || teamID(got.ApproverTeam) != teamID(want.ApproverTeam) || got.MinApprovers != want.MinApprovers ||
			got.DenialMessage != want.DenialMessage || got.Timeout != want.Timeout || got.ReminderInterval != want.ReminderInterval ||
			got.RequireRecentLogin != want.RequireRecentLogin || got.MaxExtension != want.MaxExtension || got.WarnBefore != want.WarnBefore ||
			!sameEscalations(got.Escalations, want.Escalations) {
			return false
		}
	}
	return true
}

// sameDurations reports whether the durations a draft gives all parse.
func sameDurations(sd StageDraft) bool {
	strs := []*string{sd.Timeout, sd.ReminderInterval, sd.RequireRecentLogin, sd.MaxExtension, sd.WarnBefore}
	if sd.Escalations != nil {
		for _, ed := range *sd.Escalations {
			if ed.After == nil || ed.ApproverTeam == nil {
				return false
			}
			strs = append(strs, ed.After)
		}
	}
	for _, s := range strs {
		if s == nil {
			continue
		}
		if _, err := time.ParseDuration(*s); err != nil {
			return false
		}
	}
	return true
}

// sameEscalations compares escalation steps by their time and team's id.
func sameEscalations(a, b []Escalation) bool {
	return slices.EqualFunc(a, b, func(x, y Escalation) bool { return x.After == y.After && x.ApproverTeam.ID == y.ApproverTeam.ID })
}

func teamID(r *Ref) int64 {
	if r == nil {
		return 0
	}
	return r.ID
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
