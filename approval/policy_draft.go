package approval

import (
	"fmt"
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
}

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
	return st
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
			got.RequireRecentLogin != want.RequireRecentLogin {
			return false
		}
	}
	return true
}

// sameDurations reports whether the durations a draft gives all parse.
func sameDurations(sd StageDraft) bool {
	for _, s := range []*string{sd.Timeout, sd.ReminderInterval, sd.RequireRecentLogin} {
		if s == nil {
			continue
		}
		if _, err := time.ParseDuration(*s); err != nil {
			return false
		}
	}
	return true
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
