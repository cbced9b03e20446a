package approval_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/countersign/countersign/approval"
)

// worstCompile is the slowest condition to compile that passes the limits
// among those tried: nested choices between values of large (but allowed)
// types, which make the checker unify and format those types again and
// again. Shapes that grow faster (chained or nested loops, large literals)
// are refused by the limits before the checker runs.
func worstCompile() string {
	big := strings.Repeat("[", 12) + "extra_vars" + strings.Repeat("]", 12)
	one := "size(" + strings.Repeat("true ? a : (", 10) + "a" + strings.Repeat(")", 10) + ") > 0"
	return "[" + big + "].exists(a, " + strings.Join([]string{one, one, one, one, one}, " && ") + ")"
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
				if _, err := approval.ResolvePlan(ps, subj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResolvePlan_MaxPolicies resolves the plan of a request with
// large answers for an organization with MaxPolicies policies whose
// conditions are all the slowest to evaluate: every one is evaluated (none
// holds) and fails closed at the cost limit. "cached" is every request
// after the first; "first use" compiles every condition too, as after a
// restart or when every policy was just saved.
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
			if _, err := approval.ResolvePlan(ps, subj); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first use", func(b *testing.B) {
		org := int64(100)
		for b.Loop() {
			org++
			if _, err := approval.ResolvePlan(policies(org), subj); err != nil {
				b.Fatal(err)
			}
		}
	})
}
