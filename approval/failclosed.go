package approval

import (
	"errors"
	"strings"
)

// failure is a policy whose condition could not be evaluated for a
// request, and the kind of failure in words that quote nothing of the
// request.
type failure struct {
	policy Policy
	kind   string
}

var errNotBool = errors.New("the condition did not return a bool")

// Kinds of evaluation failure, as the plan's notes name them.
const (
	failMissing    = "a variable or key it reads is missing"
	failType       = "a value has the wrong type"
	failConversion = "a value could not be converted"
	failIndex      = "a list index is out of range"
	failDivision   = "a division by zero"
	failOverflow   = "a number overflowed"
	failCost       = "it costs more to evaluate than the limit allows"
	failMatch      = "a text is too long to match against its pattern"
	failNotBool    = "it did not return a bool"
	failTooLarge   = "the request's answers hold too many values to evaluate conditions on"
	failBroken     = "it does not compile; an organization admin must fix it"
	failOther      = "an error occurred while evaluating it"
)

// failureKind classifies a CEL evaluation error. CEL's messages quote the
// values involved (`no such key: <key>`, `index out of range: <index>`,
// the text that failed to convert), so only the kind is kept. cel-go gives
// its runtime errors no codes: the message's wording is all there is.
func failureKind(err error) string {
	if errors.Is(err, errNotBool) {
		return failNotBool
	}
	msg := err.Error()
	has := func(parts ...string) bool {
		for _, p := range parts {
			if strings.Contains(msg, p) {
				return true
			}
		}
		return false
	}
	switch {
	case has("cost limit exceeded"):
		return failCost
	case has(errTooLongToMatch):
		return failMatch
	case has("no such key", "no such attribute", "no such field", "undeclared reference"):
		return failMissing
	case has("index out of range", "index out of bounds", "invalid list index"):
		return failIndex
	case has("division by zero", "modulus by zero"):
		return failDivision
	case has("overflow"):
		return failOverflow
	case has("conversion", "invalid RFC 3339", "invalid syntax", "invalid duration", "invalid timestamp", "parsing time"):
		return failConversion
	case has("no such overload", "no matching overload", "unsupported"):
		return failType
	}
	return failOther
}

// combine applies the fail-closed rule (README, "Service requests"): base
// is the plan resolved as if every failing condition were false; each
// failing policy with stages might have applied instead. The result needs,
// from every approver team (the organization's admins counting as one),
// as many distinct approvals as the most demanding of these alternatives
// does: one stage per team, in the order teams first appear (failing
// policies by priority, then base), named after that team's first stage,
// with the shortest timeout and the shortest reminder interval of the
// team's stages. Since a person decides at most once per request, an
// alternative's stages of one team need that many distinct people between
// them, so any set of approvals that completes the result would complete
// every alternative; and it needs no more than the strictest of them, so
// it stays reachable whenever each alternative is.
//
// Failing policies without stages (waivers) add nothing; when no failing
// policy has stages the result is base itself.
func combine(failed []failure, base Plan) Plan {
	notes := make([]string, 0, len(failed))
	var alternatives []Plan
	for _, f := range failed {
		note := "policy " + quote(f.policy.Name) + ": its condition could not be evaluated for this request (" + f.kind + ")"
		if len(f.policy.Stages) == 0 {
			note += "; it has no stages, so the plan that applies when it does not hold was kept"
		} else {
			note += ", so its stages were combined with those of the plan that applies when it does not hold"
			alternatives = append(alternatives, policyPlan(f.policy))
		}
		if f.kind == failMissing {
			note += " (guard optional answers with has(...))"
		}
		notes = append(notes, note)
	}
	if len(notes) > 0 {
		base.Notes = append(base.Notes, notes...)
	}
	if len(alternatives) == 0 {
		return base
	}
	first := alternatives[0]
	alternatives = append(alternatives, base)

	type teamKey struct {
		admins bool
		id     int64
	}
	keyOf := func(s Stage) teamKey {
		if s.ApproverTeam == nil {
			return teamKey{admins: true}
		}
		return teamKey{id: s.ApproverTeam.ID}
	}
	var order []teamKey
	merged := map[teamKey]*Stage{}
	for _, alt := range alternatives {
		need := map[teamKey]int{}
		for _, s := range alt.Stages {
			k := keyOf(s)
			need[k] += s.MinApprovers
			m, ok := merged[k]
			if !ok {
				c := s
				c.MinApprovers = 0
				merged[k] = &c
				order = append(order, k)
				m = &c
			}
			m.Timeout = min(m.Timeout, s.Timeout)
			if s.ReminderInterval > 0 && (m.ReminderInterval == 0 || s.ReminderInterval < m.ReminderInterval) {
				m.ReminderInterval = s.ReminderInterval
			}
		}
		for k, n := range need {
			merged[k].MinApprovers = max(merged[k].MinApprovers, n)
		}
	}
	stages := make([]Stage, len(order))
	for i, k := range order {
		stages[i] = *merged[k]
		stages[i].Order = i + 1
	}
	return Plan{
		Source:     PlanFromPolicy,
		PolicyID:   first.PolicyID,
		PolicyName: first.PolicyName,
		Stages:     stages,
		Notes:      base.Notes,
	}
}
