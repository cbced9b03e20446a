package workflows

// DelegationTimerRearm is the change id of delegationTimerRearm, for the
// tests that replay as before it.
const DelegationTimerRearm = delegationTimerRearm
