package approval_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

// TestConditionCache: only conditions of policies handed to ResolvePlan are
// kept, per organization, and an organization keeps only the programs of
// the policies it has now; checking a condition before saving it keeps
// nothing.
func TestConditionCache(t *testing.T) {
	const orgA, orgB = 9001, 9002
	policies := func(org int64, firstID int64, n int, cond string) []approval.Policy {
		out := make([]approval.Policy, n)
		for i := range out {
			out[i] = approval.Policy{ID: firstID + int64(i), OrganizationID: org, Name: fmt.Sprint("p", i), Priority: i, Enabled: true,
				Condition: fmt.Sprintf(cond, i), Stages: []approval.Stage{stage("S", 1, sre, 1)}}
		}
		return out
	}
	resolve := func(ps []approval.Policy) {
		t.Helper()
		approval.ResolvePlan(ps, provisionSubject(map[string]any{"ttl_days": 1}))
	}

	for i := range 50 {
		require.NoError(t, approval.CheckCondition(fmt.Sprintf("extra_vars.ttl_days > %d", 1000+i)))
	}
	assert.Equal(t, 0, approval.CachedConditions(orgA), "checking a condition caches nothing")

	// None of the conditions holds, so every one is evaluated.
	a := policies(orgA, 100, 10, "extra_vars.ttl_days < -%d")
	b := policies(orgB, 200, 5, "extra_vars.ttl_days < -%d")
	resolve(a)
	resolve(b)
	assert.Equal(t, 10, approval.CachedConditions(orgA))
	assert.Equal(t, 5, approval.CachedConditions(orgB))

	compiles := approval.ConditionCompiles()
	resolve(a)
	assert.Equal(t, compiles, approval.ConditionCompiles(), "cached programs are reused")

	// Organization A's admins replace its policies again and again: A keeps
	// only the programs of its current policies, B's are untouched.
	for round := range 20 {
		resolve(policies(orgA, int64(1000+round*10), 10, fmt.Sprintf("extra_vars.ttl_days < -%%d - %d", round)))
		assert.Equal(t, 10, approval.CachedConditions(orgA))
	}
	assert.Equal(t, 5, approval.CachedConditions(orgB))
	compiles = approval.ConditionCompiles()
	resolve(b)
	assert.Equal(t, compiles, approval.ConditionCompiles(), "B's programs were never evicted")

	// An edited condition replaces its policy's program.
	edited := policies(orgB, 200, 5, "extra_vars.ttl_days < -%d")
	edited[2].Condition = "extra_vars.ttl_days < -77"
	resolve(edited)
	assert.Equal(t, 5, approval.CachedConditions(orgB))
	assert.Equal(t, compiles+1, approval.ConditionCompiles())

	// A policy no longer passed (deleted, disabled) is dropped.
	resolve(edited[:3])
	assert.Equal(t, 3, approval.CachedConditions(orgB))

	// A saved condition that does not compile is compiled once, not at
	// every request.
	broken := policies(orgB, 300, 1, "item.nmae == %d")
	compiles = approval.ConditionCompiles()
	resolve(broken)
	resolve(broken)
	assert.Equal(t, compiles+1, approval.ConditionCompiles())
}
