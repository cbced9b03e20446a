package approval_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/approval"
)

func str(s string) *string { return &s }
func num(n int) *int       { return &n }

func TestPolicyDraft_Check(t *testing.T) {
	limits := approval.DefaultStageLimits.WithDefaults()
	team := int64(7)
	for _, tc := range []struct {
		name     string
		draft    approval.PolicyDraft
		creating bool
		want     approval.Problems
	}{
		{name: "a complete policy", creating: true,
			draft: approval.PolicyDraft{Name: str("prod"), Condition: str(`item.name == "x"`),
				Stages: &[]approval.StageDraft{{Name: str("Security"), ApproverTeam: &team, Timeout: str("48h"), ReminderInterval: str("0s")}}},
			want: approval.Problems{}},
		{name: "creating needs a name and stages", creating: true, draft: approval.PolicyDraft{},
			want: approval.Problems{"name": {"This field is required."}, "stages": {"Give at least one stage."}}},
		{name: "an update may leave everything out", draft: approval.PolicyDraft{}, want: approval.Problems{}},
		{name: "blank name, bad condition, priority out of range",
			draft: approval.PolicyDraft{Name: str("  "), Condition: str("item.name =="), Priority: num(2_000_000)},
			want:  approval.Problems{"name": {"Give a name of 1 to 512 characters."}, "priority": {"Use a number between -1000000 and 1000000."}}},
		{name: "no stages", draft: approval.PolicyDraft{Stages: &[]approval.StageDraft{}},
			want: approval.Problems{"stages": {"Give 1 to 20 stages."}}},
		{name: "a stage's faults, keyed by its place",
			draft: approval.PolicyDraft{Stages: &[]approval.StageDraft{{Name: str("ok")}, {Order: num(1), Name: str(""), MinApprovers: num(0),
				DenialMessage: str(strings.Repeat("x", 2001)), Timeout: str("3 days"), ReminderInterval: str("soon")}}},
			want: approval.Problems{
				"stages.1.order":             {"A stage's order is its place in the list (2 here): move the stage to reorder."},
				"stages.1.name":              {"Give a name of 1 to 512 characters."},
				"stages.1.min_approvers":     {"Use 1 to 100 approvers."},
				"stages.1.denial_message":    {"Use at most 2000 characters."},
				"stages.1.timeout":           {`Use a duration such as "72h" or "30m", not "3 days".`},
				"stages.1.reminder_interval": {`Use a duration such as "24h", or "0s" for no reminders, not "soon".`},
			}},
		{name: "a recent login required: at least a minute, at most a day, or none",
			draft: approval.PolicyDraft{Stages: &[]approval.StageDraft{{Name: str("a"), RequireRecentLogin: str("15m")}, {Name: str("b"), RequireRecentLogin: str("0s")},
				{Name: str("c"), RequireRecentLogin: str("30s")}, {Name: str("d"), RequireRecentLogin: str("25h")}, {Name: str("e"), RequireRecentLogin: str("soon")}}},
			want: approval.Problems{
				"stages.2.require_recent_login": {`Use a duration from 1m0s to 24h0m0s such as "15m", or "0s" for none, not "30s".`},
				"stages.3.require_recent_login": {`Use a duration from 1m0s to 24h0m0s such as "15m", or "0s" for none, not "25h".`},
				"stages.4.require_recent_login": {`Use a duration from 1m0s to 24h0m0s such as "15m", or "0s" for none, not "soon".`},
			}},
		{name: "deadline rules: extension, warning and escalation steps",
			draft: approval.PolicyDraft{Stages: &[]approval.StageDraft{
				{Name: str("a"), Timeout: str("24h"), MaxExtension: str("48h"), WarnBefore: str("4h"),
					Escalations: &[]approval.EscalationDraft{{After: str("8h"), ApproverTeam: &team}, {After: str("12h"), ApproverTeam: &team}}},
				{Name: str("b"), Timeout: str("24h"), MaxExtension: str("-1h"), WarnBefore: str("24h"),
					Escalations: &[]approval.EscalationDraft{{After: str("8h"), ApproverTeam: &team}, {After: str("8h")}, {After: str("30h"), ApproverTeam: &team}, {ApproverTeam: &team}}},
				{Name: str("c"), MaxExtension: str("999h"), WarnBefore: str("later"),
					Escalations: &[]approval.EscalationDraft{{After: str("30s"), ApproverTeam: &team}}},
				{Name: str("d"), Escalations: &[]approval.EscalationDraft{{}, {}, {}, {}, {}, {}}},
			}},
			want: approval.Problems{
				"stages.1.max_extension":               {`Use a duration up to 720h (the maximum stage timeout) such as "24h", or "0s" for no extension, not "-1h".`},
				"stages.1.warn_before":                 {"Warn before the deadline: use less than the stage's timeout (24h)."},
				"stages.1.escalations.1.after":         {"Each step escalates later than the one before (8h)."},
				"stages.1.escalations.1.approver_team": {"Name the team that may decide once the stage escalates."},
				"stages.1.escalations.2.after":         {"Escalate before the deadline: use less than the stage's timeout (24h)."},
				"stages.1.escalations.3.after":         {`Say after how long the stage escalates, such as "8h".`},
				"stages.2.max_extension":               {`Use a duration up to 720h (the maximum stage timeout) such as "24h", or "0s" for no extension, not "999h".`},
				"stages.2.warn_before":                 {`Use a duration such as "4h", or "0s" for no warning, not "later".`},
				"stages.2.escalations.0.after":         {`Use a duration of at least 1m such as "8h", not "30s".`},
				"stages.3.escalations":                 {"Give at most 5 escalation steps."},
			}},
		{name: "durations beyond the limits", draft: approval.PolicyDraft{Stages: &[]approval.StageDraft{{Name: str("x"), Timeout: str("1s")}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems, _ := tc.draft.Check(tc.creating, limits)
			if tc.want == nil {
				assert.NotEmpty(t, problems["stages.0.timeout"])
				return
			}
			if _, bad := problems["condition"]; bad {
				assert.Contains(t, problems["condition"][0], "condition")
				delete(problems, "condition")
			}
			assert.Equal(t, tc.want, problems)
		})
	}
}

func TestPolicyDraft_CheckReadsStagesWithDefaults(t *testing.T) {
	team := int64(7)
	_, stages := approval.PolicyDraft{Stages: &[]approval.StageDraft{{Name: str(" Security "), ApproverTeam: &team}, {Name: str("Admins"), MinApprovers: num(2), Timeout: str("2h"), ReminderInterval: str("1h"), RequireRecentLogin: str("10m")}}}.
		Check(false, approval.DefaultStageLimits.WithDefaults())
	assert.Equal(t, []approval.Stage{
		{Name: "Security", Order: 1, ApproverTeam: &approval.Ref{ID: 7}, MinApprovers: 1,
			Timeout: approval.Duration(approval.DefaultStageTimeout), ReminderInterval: approval.Duration(approval.DefaultReminderInterval)},
		{Name: "Admins", Order: 2, MinApprovers: 2, Timeout: approval.Duration(2 * time.Hour), ReminderInterval: approval.Duration(time.Hour),
			RequireRecentLogin: approval.Duration(10 * time.Minute)},
	}, stages)
}

func TestPolicyDraft_CheckReadsDeadlineRules(t *testing.T) {
	team := int64(7)
	_, stages := approval.PolicyDraft{Stages: &[]approval.StageDraft{{Name: str("a"), Timeout: str("24h"), MaxExtension: str("48h"), WarnBefore: str("4h"),
		Escalations: &[]approval.EscalationDraft{{After: str("8h"), ApproverTeam: &team}}}}}.Check(false, approval.DefaultStageLimits.WithDefaults())
	assert.Equal(t, approval.Duration(48*time.Hour), stages[0].MaxExtension)
	assert.Equal(t, approval.Duration(4*time.Hour), stages[0].WarnBefore)
	assert.Equal(t, []approval.Escalation{{After: approval.Duration(8 * time.Hour), ApproverTeam: approval.Ref{ID: 7}}}, stages[0].Escalations)
	assert.True(t, approval.SameStages([]approval.StageDraft{{Name: str("a"), Timeout: str("24h"), MaxExtension: str("48h"), WarnBefore: str("4h"),
		Escalations: &[]approval.EscalationDraft{{After: str("8h"), ApproverTeam: &team}}}}, stages))
	other := int64(8)
	assert.False(t, approval.SameStages([]approval.StageDraft{{Name: str("a"), Timeout: str("24h"), MaxExtension: str("48h"), WarnBefore: str("4h"),
		Escalations: &[]approval.EscalationDraft{{After: str("8h"), ApproverTeam: &other}}}}, stages), "another escalation team")
	assert.False(t, approval.SameStages([]approval.StageDraft{{Name: str("a"), Timeout: str("24h"), MaxExtension: str("24h"), WarnBefore: str("4h"),
		Escalations: &[]approval.EscalationDraft{{After: str("8h"), ApproverTeam: &team}}}}, stages), "another max_extension")
}

func TestSameStages(t *testing.T) {
	team := int64(7)
	stored := []approval.Stage{{Name: "Security", Order: 1, ApproverTeam: &approval.Ref{ID: 7, Name: "security"}, MinApprovers: 1,
		Timeout: approval.Duration(approval.DefaultStageTimeout), ReminderInterval: approval.Duration(approval.DefaultReminderInterval)}}
	assert.True(t, approval.SameStages([]approval.StageDraft{{Name: str("Security"), ApproverTeam: &team}}, stored), "defaults left out")
	assert.True(t, approval.SameStages([]approval.StageDraft{{Order: num(1), Name: str("Security"), ApproverTeam: &team, MinApprovers: num(1),
		Timeout: str("72h0m0s"), ReminderInterval: str("24h")}}, stored), "sent back as shown")
	assert.False(t, approval.SameStages([]approval.StageDraft{{Name: str("Security")}}, stored), "another team")
	assert.False(t, approval.SameStages([]approval.StageDraft{{Name: str("Security"), ApproverTeam: &team, Timeout: str("1h")}}, stored), "another timeout")
	assert.False(t, approval.SameStages([]approval.StageDraft{{Name: str("Security"), ApproverTeam: &team, Timeout: str("x")}}, stored), "unreadable")
	assert.False(t, approval.SameStages([]approval.StageDraft{{Order: num(2), Name: str("Security"), ApproverTeam: &team}}, stored), "renumbered")
	assert.False(t, approval.SameStages([]approval.StageDraft{{Name: str("Security"), ApproverTeam: &team, RequireRecentLogin: str("15m")}}, stored), "a recent login required")
	assert.True(t, approval.SameStages([]approval.StageDraft{{Name: str("Security"), ApproverTeam: &team, RequireRecentLogin: str("0s")}}, stored), "none, as shown")
	assert.False(t, approval.SameStages(nil, stored))
}
