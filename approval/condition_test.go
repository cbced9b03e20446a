package approval_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

// nestedMaps is n `.map()` calls nested in each other's bodies; at n=170 it
// is the 2.7 KB expression that once kept a core busy for minutes.
func nestedMaps(n int) string {
	inner := "x0"
	for i := n; i >= 1; i-- {
		inner = fmt.Sprintf("[x%d].map(x%d, %s)", i-1, i, inner)
	}
	return "[1].map(x0, " + inner + ") == []"
}

// doublingMaps is n `.map()` calls chained so that each doubles the size of
// the type the checker infers: its work grows as 2^n.
func doublingMaps(n int) string {
	s := "{1: 1}"
	for i := 0; i < n; i++ {
		s = fmt.Sprintf("[%s].map(a%d, {a%d: a%d})", s, i, i, i)
	}
	return "size(" + s + ") > 0"
}

func TestCheckCondition_TypesItemAndRequester(t *testing.T) {
	valid := []string{
		`extra_vars.ttl_days > 5`,
		`item.category == "production" || "prod" in item.tags`,
		`has(extra_vars.ttl_days) && extra_vars.ttl_days > 5`,
		`"sre" in requester.teams`,
		`item.name == "Provision environment" && extra_vars.ttl_days > 5`,
		`item.category == "operations" && item.requires_approval`,
		`item.id == 3 && item.organization == "acme" && !item.is_workflow && item.approver_team == "sre"`,
		`item.description.contains("db") && requester.username == "alice"`,
		`item.tags.exists(t, t.startsWith("prod"))`,
		`node_survey_data["create-database"].db_size == "large"`,
		`has(node_survey_data.deploy) && node_survey_data.deploy.replicas > 2`,
		`justification.matches("(?i)urgent")`,
		`size(justification) > 10 && extra_vars.regions.exists(r, r == "eu")`,
	}
	for _, expr := range valid {
		t.Run(expr, func(t *testing.T) {
			assert.NoError(t, approval.CheckCondition(expr))
		})
	}

	// An unknown field of item or requester is refused, naming it.
	invalid := map[string]string{
		`item.nmae == "x"`:           "nmae",
		`item.categories == "prod"`:  "categories",
		`requester.team == "sre"`:    "team",
		`"sre" in requester.groups`:  "groups",
		`item.tags.size_of > 2`:      "size_of",
		`item.name > 3`:              "_>_",
		`requester.teams == "sre"`:   "_==_",
		`justification.name == "x"`:  "name",
		`item.approver_team.id == 1`: "id",
	}
	for expr, field := range invalid {
		t.Run(expr, func(t *testing.T) {
			err := approval.CheckCondition(expr)
			var ce *approval.ConditionError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), field)
		})
	}
}

func TestCheckCondition_Limits(t *testing.T) {
	tests := []struct {
		name, expr, wantErr string
	}{
		{"longer than the limit", "extra_vars.a == \"" + strings.Repeat("a", approval.MaxConditionLength) + "\"", "longer than"},
		{"nested .map() of 2.7 KB", nestedMaps(170), ""},
		{"comprehensions nested too deep", `extra_vars.a.exists(x, extra_vars.b.exists(y, extra_vars.c.exists(z, x == y)))`, "nest more than 2 deep"},
		{"regular expression that does not compile", `justification.matches("(")`, "invalid matches argument"},
		{"too many comprehensions", strings.Repeat(`extra_vars.a.exists(x, x == 1) || `, 12) + "true", "more than 8 loops"},
		{"type doubling 8 times", doublingMaps(8), "complex"},
		{"type doubling through map literals", `[extra_vars].map(a, {a: {a: a}}).map(b, {b: {b: b}}).map(c, {c: {c: c}}).size() > 0`, "complex"},
		{"deep nesting", strings.Repeat("(", 60) + "1" + strings.Repeat(" + 1)", 60) + " > 0", ""},
		{"regular expression from the request", `justification.matches(extra_vars.pattern)`, "literal"},
		{"regular expression from a variable of a comprehension", `extra_vars.ps.exists(p, justification.matches(p))`, "literal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := approval.ConditionCompiles()
			err := approval.CheckCondition(tt.expr)
			var ce *approval.ConditionError
			require.ErrorAs(t, err, &ce, "%.200s must be refused", tt.expr)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Equal(t, before+1, approval.ConditionCompiles(), "each check counts once")
		})
	}

	// Within the limits, what authors write still compiles.
	for _, expr := range []string{
		`extra_vars.a.exists(x, extra_vars.b.exists(y, x == y))`,
		strings.Repeat(`extra_vars.a.exists(x, x == 1) || `, 7) + "true",
		`[extra_vars].map(a, {a: a}).map(b, [b, b]).size() > 0`,
		strings.Repeat("(", 20) + "1" + strings.Repeat(" + 1)", 20) + " > 0",
		strings.Repeat(`extra_vars.answer == "some value" || `, 54) + "false", // 2 KB of comparisons
	} {
		assert.NoError(t, approval.CheckCondition(expr), "%s", expr)
	}
}
