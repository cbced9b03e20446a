package approval_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/countersign/countersign/approval"
)

// worstCompile is the slowest condition to compile that passes the limits
// among those tried (sweeps over families of shapes, then a random search
// that mutated the slowest): loops and nested choices over lists of mixed
// types, which make the checker unify, substitute and format types again
// and again. Shapes whose types grow faster (chained or nested loops,
// large literals) are refused by the limits before the checker runs. It
// never holds, so a plan evaluates every policy that has it.
func worstCompile() string {
	b := `size([[item.tags, item, 1, "a"]]) < 0`
	t := fmt.Sprintf("(true ? [(true ? %[1]s : (%[1]s))].exists(w, (true ? %[1]s : (%[1]s))) : "+
		"([(true ? %[1]s : (%[1]s))].exists(w, (true ? %[1]s : (%[1]s)))))", b)
	return "(" + t + " && " + t + ") && (" + t + " && " + t + ")"
}

// evalConditions are the costliest conditions to evaluate found, each
// within the limits; worstEval is the slowest of them per evaluation.
var evalConditions = map[string]string{
	"list equality in a loop": `extra_vars.l.exists(x, extra_vars.l == extra_vars.m.a && x < 0)`,
	"nested loops":            `extra_vars.l.exists(x, extra_vars.l.exists(y, x == y + 1000000))`,
	"membership in a loop":    `extra_vars.l.exists(x, x in extra_vars.l && x < 0)`,
	"regex in a loop":         `extra_vars.strs.exists(x, x.matches("(a|b|c|d|e|f|g|h|i|j)*(k|l)+z"))`,
	"contains in a loop":      `extra_vars.strs.exists(x, x.contains("y"))`,
	"long text regex":         `justification.matches("(a|b|c|d|e|f|g|h|i|j)*(k|l)+z")`,
	"map of the answers":      `extra_vars.l.exists(x, {"a": extra_vars.l, "b": extra_vars.m}.a == extra_vars.m.a && x < 0)`,
	"membership in a list":    `extra_vars.l.exists(x, [extra_vars.m.a, extra_vars.l].exists(y, x in y && x < 0))`,
}

const worstEval = "list equality in a loop"

// largeAnswers is a request with answers far larger than a survey asks
// for, just within the number of values conditions are evaluated on, so
// that every loop and comparison runs into the cost limit.
func largeAnswers() approval.Subject {
	list := make([]any, 2000)
	for i := range list {
		list[i] = i
	}
	strs := make([]any, 900)
	for i := range strs {
		strs[i] = strings.Repeat("abcdefghij", 3)
	}
	s := provisionSubject(map[string]any{"l": list, "m": map[string]any{"a": list}, "strs": strs})
	s.Justification = strings.Repeat("abcdefghij", 200)
	return s
}

func BenchmarkCheckCondition_WorstCase(b *testing.B) {
	expr := worstCompile()
	b.ReportMetric(float64(len(expr)), "bytes")
	for b.Loop() {
		if err := approval.CheckCondition(expr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConditionEval(b *testing.B) {
	subj := largeAnswers()
	for name, cond := range evalConditions {
		b.Run(name, func(b *testing.B) {
			ps := []approval.Policy{{ID: 1, OrganizationID: 1, Name: "p", Enabled: true, Condition: cond,
				Stages: []approval.Stage{stage("S", 1, sre, 1)}}}
			for b.Loop() {
				approval.ResolvePlan(ps, subj)
			}
		})
	}
}

// freshOrg numbers organizations whose conditions nothing compiled yet.
var freshOrg atomic.Int64

// BenchmarkResolvePlan_MaxPolicies resolves the plan of a request with
// large answers for an organization with MaxPolicies policies whose
// conditions are all the slowest to evaluate: every one is evaluated (none
// holds) and fails closed at the cost limit. "cached" is every request
// after the first; "first use" compiles every condition too, as after a
// restart or when every policy was just saved; the last compiles the
// slowest condition to compile for every policy.
func BenchmarkResolvePlan_MaxPolicies(b *testing.B) {
	subj := largeAnswers()
	policies := func(org int64) []approval.Policy {
		ps := make([]approval.Policy, approval.MaxPolicies)
		for i := range ps {
			ps[i] = approval.Policy{ID: org*1000 + int64(i), OrganizationID: org, Name: fmt.Sprint("p", i), Priority: i, Enabled: true,
				Condition: evalConditions[worstEval], Stages: []approval.Stage{stage("S", 1, sre, 1), stage("T", 2, security, 1)}}
		}
		return ps
	}
	b.Run("cached", func(b *testing.B) {
		ps := policies(1)
		for b.Loop() {
			approval.ResolvePlan(ps, subj)
		}
	})
	b.Run("first use", func(b *testing.B) {
		for b.Loop() {
			approval.ResolvePlan(policies(freshOrg.Add(1)), subj)
		}
	})
	// Every condition the slowest to compile, none of them cached.
	b.Run("first use, slowest to compile", func(b *testing.B) {
		for b.Loop() {
			ps := policies(freshOrg.Add(1))
			for i := range ps {
				ps[i].Condition = worstCompile()
			}
			approval.ResolvePlan(ps, subj)
		}
	})
}
