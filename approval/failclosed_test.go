package approval_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

// teamTotals is how many distinct approvals a plan needs from each approver
// team ("" for the organization's admins): a person decides at most once
// per request, so stages of one team add up.
func teamTotals(p approval.Plan) map[string]int {
	out := map[string]int{}
	for _, s := range p.Stages {
		key := ""
		if s.ApproverTeam != nil {
			key = s.ApproverTeam.Name
		}
		out[key] += s.MinApprovers
	}
	return out
}

// atLeast reports whether plan a needs, from every team, at least the
// approvals b needs.
func atLeast(a, b map[string]int) bool {
	for team, n := range b {
		if a[team] < n {
			return false
		}
	}
	return true
}

// withCondition returns policies with the condition of policy id replaced.
func withCondition(ps []approval.Policy, id int64, cond string) []approval.Policy {
	out := slices.Clone(ps)
	for i := range out {
		if out[i].ID == id {
			out[i].Condition = cond
		}
	}
	return out
}

type plannedStage struct {
	name     string
	team     string
	min      int
	timeout  time.Duration
	reminder time.Duration
}

func planned(p approval.Plan) []plannedStage {
	out := []plannedStage{}
	for _, s := range p.Stages {
		ps := plannedStage{name: s.Name, min: s.MinApprovers, timeout: s.Timeout.Std(), reminder: s.ReminderInterval.Std()}
		if s.ApproverTeam != nil {
			ps.team = s.ApproverTeam.Name
		}
		out = append(out, ps)
	}
	return out
}

func timedStage(name string, team *approval.Ref, min int, timeout, reminder time.Duration) approval.Stage {
	return approval.Stage{Name: name, ApproverTeam: team, MinApprovers: min,
		Timeout: approval.Duration(timeout), ReminderInterval: approval.Duration(reminder)}
}

// TestResolvePlan_FailClosedNeverLowersTheBar: a condition that cannot be
// evaluated leaves the request needing at least every approval it would
// need had the condition held, and every approval it would need had it not;
// stages of one team are merged so that the plan needs no more than the
// stricter of the two (and stays reachable).
func TestResolvePlan_FailClosedNeverLowersTheBar(t *testing.T) {
	const (
		missing = `extra_vars.size == "small"` // fails: no such answer
		fails2  = `extra_vars.region == "eu"`  // fails too
		holds   = `item.category == "environments"`
		isFalse = `item.category == "databases"`
		h, d    = time.Hour, 24 * time.Hour
	)
	admins := (*approval.Ref)(nil)
	pol := func(id int64, cond string, stages ...approval.Stage) approval.Policy {
		for i := range stages {
			stages[i].Order = i + 1
		}
		return approval.Policy{ID: id, Name: fmt.Sprintf("p%d", id), Priority: int(id), Condition: cond, Enabled: true, Stages: stages}
	}
	subject := func(requiresApproval bool) approval.Subject {
		s := provisionSubject(map[string]any{})
		s.Item.RequiresApproval = requiresApproval
		s.Item.ApproverTeam = sre
		return s
	}

	tests := []struct {
		name     string
		policies []approval.Policy
		subject  approval.Subject
		failing  []int64
		want     []plannedStage
		source   approval.PlanSource
		policy   string
	}{
		{
			name: "a lenient policy that fails does not replace two stages by one approval",
			policies: []approval.Policy{
				pol(1, missing, stage("SRE quick look", 1, sre, 1)),
				pol(2, "", stage("SRE", 1, sre, 2), stage("Security", 2, security, 1)),
			},
			subject: subject(false), failing: []int64{1},
			want:   []plannedStage{{"SRE quick look", "sre", 2, 72 * h, d}, {"Security", "security", 1, 72 * h, d}},
			source: approval.PlanFromPolicy, policy: "p1",
		},
		{
			name: "a strict policy that fails still applies in full",
			policies: []approval.Policy{
				pol(1, missing, stage("SRE", 1, sre, 2), stage("Security", 2, security, 1)),
				pol(2, "", stage("SRE", 1, sre, 2)),
			},
			subject: subject(false), failing: []int64{1},
			want:   []plannedStage{{"SRE", "sre", 2, 72 * h, d}, {"Security", "security", 1, 72 * h, d}},
			source: approval.PlanFromPolicy, policy: "p1",
		},
		{
			name:     "a waiver that fails leaves the item's own approval",
			policies: []approval.Policy{pol(1, missing)},
			subject:  subject(true), failing: []int64{1},
			want:   []plannedStage{{approval.FallbackStageName, "sre", 1, 72 * h, d}},
			source: approval.PlanFromItem,
		},
		{
			name:     "a waiver that fails leaves the next policy",
			policies: []approval.Policy{pol(1, missing), pol(2, holds, stage("SRE", 1, sre, 1), stage("SRE again", 2, sre, 1))},
			subject:  subject(true), failing: []int64{1},
			want:   []plannedStage{{"SRE", "sre", 1, 72 * h, d}, {"SRE again", "sre", 1, 72 * h, d}},
			source: approval.PlanFromPolicy, policy: "p2",
		},
		{
			name:     "a failing policy and an item needing no approval: the policy's stages",
			policies: []approval.Policy{pol(1, missing, stage("Admins", 1, admins, 1))},
			subject:  subject(false), failing: []int64{1},
			want:   []plannedStage{{"Admins", "", 1, 72 * h, d}},
			source: approval.PlanFromPolicy, policy: "p1",
		},
		{
			name:     "a failing policy and the item's fallback of the same team merge",
			policies: []approval.Policy{pol(1, missing, timedStage("SRE", sre, 2, 8*h, 0))},
			subject:  subject(true), failing: []int64{1},
			want:   []plannedStage{{"SRE", "sre", 2, 8 * h, d}},
			source: approval.PlanFromPolicy, policy: "p1",
		},
		{
			name: "two failing policies and one that holds: every team at its strictest",
			policies: []approval.Policy{
				pol(1, missing, stage("Admins", 1, admins, 1)),
				pol(2, isFalse, stage("Never", 1, security, 5)),
				pol(3, fails2, stage("Security", 1, security, 2)),
				pol(4, holds, stage("SRE", 1, sre, 1), stage("Security sign-off", 2, security, 1)),
				pol(5, "", stage("Never either", 1, sre, 9)),
			},
			subject: subject(true), failing: []int64{1, 3},
			want:   []plannedStage{{"Admins", "", 1, 72 * h, d}, {"Security", "security", 2, 72 * h, d}, {"SRE", "sre", 1, 72 * h, d}},
			source: approval.PlanFromPolicy, policy: "p1",
		},
		{
			name: "stages of one team within the failing policy add up",
			policies: []approval.Policy{
				pol(1, missing, stage("SRE first", 1, sre, 1), stage("Security", 2, security, 1), stage("SRE last", 3, sre, 1)),
				pol(2, "", stage("SRE", 1, sre, 1)),
			},
			subject: subject(false), failing: []int64{1},
			want:   []plannedStage{{"SRE first", "sre", 2, 72 * h, d}, {"Security", "security", 1, 72 * h, d}},
			source: approval.PlanFromPolicy, policy: "p1",
		},
		{
			name: "merged stages take the shorter timeout and the shorter reminder interval",
			policies: []approval.Policy{
				pol(1, missing, timedStage("Fast SRE", sre, 1, 4*h, 0), timedStage("Fast admins", admins, 1, 2*h, 30*time.Minute)),
				pol(2, "", timedStage("Admins", admins, 2, 48*h, 6*h), timedStage("SRE", sre, 3, 24*h, 2*h)),
			},
			subject: subject(false), failing: []int64{1},
			want:   []plannedStage{{"Fast SRE", "sre", 3, 4 * h, 2 * h}, {"Fast admins", "", 2, 2 * h, 30 * time.Minute}},
			source: approval.PlanFromPolicy, policy: "p1",
		},
		{
			name: "a failing waiver and a failing strict policy: the strict one and the fallback",
			policies: []approval.Policy{
				pol(1, missing),
				pol(2, fails2, stage("Security", 1, security, 1)),
			},
			subject: subject(true), failing: []int64{1, 2},
			want:   []plannedStage{{"Security", "security", 1, 72 * h, d}, {approval.FallbackStageName, "sre", 1, 72 * h, d}},
			source: approval.PlanFromPolicy, policy: "p2",
		},
		{
			name:     "nothing fails: the first policy that holds, as before",
			policies: []approval.Policy{pol(1, isFalse, stage("Never", 1, sre, 5)), pol(2, holds, stage("SRE", 1, sre, 1), stage("SRE again", 2, sre, 1))},
			subject:  subject(true),
			want:     []plannedStage{{"SRE", "sre", 1, 72 * h, d}, {"SRE again", "sre", 1, 72 * h, d}},
			source:   approval.PlanFromPolicy, policy: "p2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := approval.ResolvePlan(tt.policies, tt.subject)
			assert.Equal(t, tt.want, planned(plan))
			assert.Equal(t, tt.source, plan.Source)
			assert.Equal(t, tt.policy, plan.PolicyName)
			require.Len(t, plan.Notes, len(tt.failing), "one note per failing condition: %q", plan.Notes)
			for i, id := range tt.failing {
				assert.Contains(t, plan.Notes[i], fmt.Sprintf(`policy "p%d"`, id))
				assert.Contains(t, plan.Notes[i], "a variable or key it reads is missing")
			}

			// The rule itself: every way the failing conditions could have
			// gone needs no more than this plan, and some way needs as
			// much from each team.
			got := teamTotals(plan)
			most := map[string]int{}
			for mask := 0; mask < 1<<len(tt.failing); mask++ {
				ps := tt.policies
				for i, id := range tt.failing {
					ps = withCondition(ps, id, map[bool]string{true: "true", false: "false"}[mask&(1<<i) != 0])
				}
				alt := approval.ResolvePlan(ps, tt.subject)
				require.Empty(t, alt.Notes)
				totals := teamTotals(alt)
				assert.True(t, atLeast(got, totals), "assignment %b needs %v, the plan only %v", mask, totals, got)
				for team, n := range totals {
					most[team] = max(most[team], n)
				}
			}
			assert.Equal(t, most, got, "the plan needs no more than the strictest outcome")
		})
	}
}

// TestResolvePlan_FailureNotesHoldNoValues: a condition's error message may
// quote the request's values (CEL's "no such key: <key>"); the plan's notes
// name the policy and the kind of failure only.
func TestResolvePlan_FailureNotesHoldNoValues(t *testing.T) {
	const secret = "hunter2-s3cr3t-9"
	tests := []struct{ cond, kind string }{
		{`{"known": true}[extra_vars.api_key]`, "a variable or key it reads is missing"},
		{`extra_vars.no_such_answer > 3`, "a variable or key it reads is missing"},
		{`int(extra_vars.api_key) > 3`, "a value could not be converted"},
		{`duration(extra_vars.api_key) > duration("1h")`, "a value could not be converted"},
		{`timestamp(extra_vars.api_key) > timestamp("2020-01-01T00:00:00Z")`, "a value could not be converted"},
		{`extra_vars.api_key > 3`, "a value has the wrong type"},
		{`[1, 2][extra_vars.index] == 1`, "a list index is out of range"},
		{`1 / extra_vars.zero == 1`, "a division by zero"},
		{`extra_vars.big * extra_vars.big > 0`, "a number overflowed"},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			require.NoError(t, approval.CheckCondition(tt.cond))
			p := approval.Policy{ID: 7, Name: "rotations", Enabled: true, Condition: tt.cond, Stages: []approval.Stage{stage("Security", 1, security, 1)}}
			s := provisionSubject(map[string]any{"api_key": secret, "index": 424242, "zero": 0, "big": int64(1) << 62})
			plan := approval.ResolvePlan([]approval.Policy{p}, s)
			require.Len(t, plan.Notes, 1)
			assert.Contains(t, plan.Notes[0], `policy "rotations"`)
			assert.Contains(t, plan.Notes[0], tt.kind)
			out, err := json.Marshal(plan)
			require.NoError(t, err)
			for _, v := range []string{secret, "424242", "4611686018427387904"} {
				assert.NotContains(t, string(out), v)
			}
		})
	}
}

// TestResolvePlan_EvaluationCostIsBounded: a condition that would loop for
// long on a large answer stops at the cost limit and fails closed.
func TestResolvePlan_EvaluationCostIsBounded(t *testing.T) {
	big := make([]any, 1000)
	for i := range big {
		big[i] = i
	}
	cond := `extra_vars.list.exists(x, extra_vars.list.exists(y, x + y == -1))`
	require.NoError(t, approval.CheckCondition(cond))
	p := approval.Policy{ID: 1, Name: "loops", Enabled: true, Condition: cond, Stages: []approval.Stage{stage("SRE", 1, sre, 1)}}
	plan := approval.ResolvePlan([]approval.Policy{p}, provisionSubject(map[string]any{"list": big}))
	assert.Equal(t, "loops", plan.PolicyName)
	require.Len(t, plan.Notes, 1)
	assert.Contains(t, plan.Notes[0], "it costs more to evaluate than the limit allows")

	small := []any{1, 2, 3}
	plan = approval.ResolvePlan([]approval.Policy{p}, provisionSubject(map[string]any{"list": small}))
	assert.Empty(t, plan.Notes, "a small answer is evaluated in full")
	assert.Equal(t, approval.PlanNone, plan.Source)
}

// TestResolvePlan_HugeAnswersFailClosed: conditions are not evaluated on
// answers holding thousands of values (one comparison of such lists runs
// in full before it is charged); every condition then fails closed.
func TestResolvePlan_HugeAnswersFailClosed(t *testing.T) {
	huge := make([]any, 6000)
	for i := range huge {
		huge[i] = "x"
	}
	waiver := approval.Policy{ID: 1, Name: "small lists need nothing", Priority: 1, Enabled: true, Condition: `size(extra_vars.list) < 10000`}
	strict := approval.Policy{ID: 2, Name: "strict", Priority: 2, Enabled: true, Condition: `"y" in extra_vars.list`,
		Stages: []approval.Stage{stage("Security", 1, security, 1)}}
	s := provisionSubject(map[string]any{"list": huge})
	s.Item.RequiresApproval = true
	s.Item.ApproverTeam = sre
	plan := approval.ResolvePlan([]approval.Policy{waiver, strict}, s)
	assert.Equal(t, []plannedStage{{"Security", "security", 1, 72 * time.Hour, 24 * time.Hour}, {approval.FallbackStageName, "sre", 1, 72 * time.Hour, 24 * time.Hour}}, planned(plan))
	require.Len(t, plan.Notes, 2)
	for _, n := range plan.Notes {
		assert.Contains(t, n, "too many values")
	}

	s.ExtraVars = map[string]any{"list": huge[:100]}
	plan = approval.ResolvePlan([]approval.Policy{waiver, strict}, s)
	assert.Empty(t, plan.Stages, "with fewer answers the waiver holds")
	assert.Empty(t, plan.Notes)
}
