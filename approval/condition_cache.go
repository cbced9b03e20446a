package approval

import "sync"

// programs caches the compiled conditions of saved policies, per
// organization and policy id.
//
// Only ResolvePlan fills it, with the policies it is given (an
// organization's saved, enabled policies); CheckCondition, which is what a
// caller's unsaved text reaches, never does. Each call also drops the
// organization's programs of policies it was not given (deleted, disabled,
// or whose condition changed), so an organization holds at most as many
// programs as it has policies at once — MaxPolicies — and an admin who
// creates and deletes policies in a loop only ever replaces their own
// organization's entries, never another's.
var programs = programCache{orgs: map[int64]map[int64]cachedProgram{}}

type programCache struct {
	mu   sync.Mutex
	orgs map[int64]map[int64]cachedProgram
}

// cachedProgram is a compiled condition, or why it does not compile: a
// condition saved before today's checks is refused at every use without
// being compiled again.
type cachedProgram struct {
	condition string
	program   *condition
	err       *ConditionError
}

// get returns p's compiled condition, compiling it on first use.
func (c *programCache) get(p Policy) (*condition, *ConditionError) {
	c.mu.Lock()
	cached, ok := c.orgs[p.OrganizationID][p.ID]
	c.mu.Unlock()
	if ok && cached.condition == p.Condition {
		return cached.program, cached.err
	}
	// Compiled outside the lock: two first uses may both compile; either
	// program is right.
	prg, err := compileCondition(p.Condition)
	c.mu.Lock()
	defer c.mu.Unlock()
	org := c.orgs[p.OrganizationID]
	if org == nil {
		org = map[int64]cachedProgram{}
		c.orgs[p.OrganizationID] = org
	}
	org[p.ID] = cachedProgram{condition: p.Condition, program: prg, err: err}
	return prg, err
}

// retain drops the programs of every organization in policies that belong
// to none of policies.
func (c *programCache) retain(policies []Policy) {
	keep := make(map[int64]map[int64]string, 1)
	for _, p := range policies {
		if keep[p.OrganizationID] == nil {
			keep[p.OrganizationID] = map[int64]string{}
		}
		keep[p.OrganizationID][p.ID] = p.Condition
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for org, ids := range keep {
		for id, cached := range c.orgs[org] {
			if cond, ok := ids[id]; !ok || cond != cached.condition {
				delete(c.orgs[org], id)
			}
		}
	}
}
