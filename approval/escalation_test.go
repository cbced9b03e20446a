package approval_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

// escalating is alice's request with its security stage (dave; 2
// approvals needed, so it cannot be completed) open at t0, escalating to
// sre after 8h and to ops after 12h.
func escalating(t *testing.T) *approval.Request {
	t.Helper()
	plan := approval.Plan{Source: approval.PlanFromPolicy, Stages: []approval.Stage{{Name: "Security", Order: 1, ApproverTeam: security, MinApprovers: 2,
		Timeout: approval.Duration(24 * time.Hour), Escalations: []approval.Escalation{
			{After: approval.Duration(8 * time.Hour), ApproverTeam: *sre},
			{After: approval.Duration(12 * time.Hour), ApproverTeam: approval.Ref{ID: 30, Name: "ops"}}}}}}
	r := approval.NewRequest(42, approval.Ref{ID: 1, Name: "acme"}, approval.Ref{ID: 3, Name: "Provision environment"}, "alice", "test env", plan, t0)
	r.OpenStage(0, approval.Roster{TeamMembers: []string{"dave"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}, t0)
	return r
}

func TestRequest_EscalationByTime(t *testing.T) {
	r := escalating(t)
	require.NotNil(t, r.Stages[0].Unreachable, "one member cannot give two approvals")
	_, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: "dave"}, t0.Add(time.Hour))
	require.NoError(t, err)

	wake, _ := r.NextWake()
	assert.Equal(t, t0.Add(8*time.Hour), wake, "the first step is the next wake")
	next, at, ok := r.Stages[0].NextEscalation()
	require.True(t, ok)
	assert.Equal(t, *sre, next)
	assert.Equal(t, t0.Add(8*time.Hour), at)
	_, _, ok = r.DueEscalation(t0.Add(7 * time.Hour))
	assert.False(t, ok)
	step, team, ok := r.DueEscalation(t0.Add(8 * time.Hour))
	require.True(t, ok)
	assert.Equal(t, 0, step)
	assert.Equal(t, *sre, team)

	newly := r.Escalate(approval.StageEscalation{ApproverTeam: team, Step: &step, At: t0.Add(8 * time.Hour)},
		approval.Roster{TeamMembers: []string{"dave"}, OrgAdmins: []string{"erin"}, Escalated: []string{"alice", "bob", "dave"}}, t0.Add(8*time.Hour))
	assert.Equal(t, []string{"bob"}, newly, "the requester and who decided already are not asked")
	assert.Equal(t, []string{"bob"}, r.EligibleApprovers)
	assert.Nil(t, r.Stages[0].Unreachable, "bob can give the missing approval")
	assert.Equal(t, 1, r.Stages[0].Approvals, "dave's approval stays")
	assert.Equal(t, []int64{sre.ID}, r.Stages[0].EscalationTeams())

	wake, _ = r.NextWake()
	assert.Equal(t, t0.Add(12*time.Hour), wake, "then the second step")
	_, _, ok = r.DueEscalation(t0.Add(10 * time.Hour))
	assert.False(t, ok, "steps come one at a time, each at its time")
	next, _, _ = r.Stages[0].NextEscalation()
	assert.Equal(t, "ops", next.Name)

	eff, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: "bob"}, t0.Add(9*time.Hour))
	require.NoError(t, err)
	assert.True(t, eff.Approved, "an escalated member's approval counts")
	_, _, ok = r.DueEscalation(t0.Add(13 * time.Hour))
	assert.False(t, ok, "nothing escalates once the stage closed")
	_, _, ok = r.Stages[0].NextEscalation()
	assert.False(t, ok)
}

func TestRequest_EscalateOnDemand(t *testing.T) {
	ops := approval.Ref{ID: 30, Name: "ops"}
	roster := approval.Roster{TeamMembers: []string{"dave"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}, Escalated: []string{"gus"}}
	at := t0.Add(time.Hour)
	for _, tc := range []struct {
		name string
		act  approval.Act
		want approval.Code
	}{
		{name: "an org admin", act: approval.Act{User: "erin", Team: &ops, Roster: &roster}},
		{name: "a superuser", act: approval.Act{User: "admin", Team: &ops, Roster: &roster}},
		{name: "an approver may not", act: approval.Act{User: "dave", Team: &ops, Roster: &roster}, want: approval.CodeNotAllowed},
		{name: "the requester may not", act: approval.Act{User: "alice", Team: &ops, Roster: &roster}, want: approval.CodeNotAllowed},
		{name: "a team is required", act: approval.Act{User: "erin", Roster: &roster}, want: approval.CodeTeamRequired},
		{name: "not to the stage's own team", act: approval.Act{User: "erin", Team: security, Roster: &roster}, want: approval.CodeAlreadyEscalated},
		{name: "not without the roster", act: approval.Act{User: "erin", Team: &ops}, want: approval.CodeRosterPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := escalating(t)
			tc.act.Action, tc.act.Text = approval.ActionEscalate, "dave is alone"
			eff, err := r.Apply(tc.act, at)
			if tc.want != "" {
				assert.Equal(t, tc.want, refusalCode(t, err))
				assert.Empty(t, r.Stages[0].Escalated)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{"gus"}, eff.Escalated)
			assert.Equal(t, []approval.StageEscalation{{ApproverTeam: ops, User: tc.act.User, Reason: "dave is alone", At: at}}, r.Stages[0].Escalated)
			assert.Nil(t, r.Stages[0].Unreachable)
			assert.Equal(t, approval.CodeAlreadyEscalated, refusalCode(t, r.CheckAct(tc.act, at)), "once per team")
			assert.NoError(t, r.CheckAct(approval.Act{Action: approval.ActionApprove, User: "gus"}, at), "the team's members may decide")
		})
	}
}

func TestRequest_EscalationsAreBoundedInNumber(t *testing.T) {
	r := escalating(t)
	roster := r.Roster
	for i := range approval.MaxEscalated {
		_, err := r.Apply(approval.Act{Action: approval.ActionEscalate, User: "erin", Team: &approval.Ref{ID: int64(100 + i)}, Roster: &roster}, t0)
		require.NoError(t, err)
	}
	_, err := r.Apply(approval.Act{Action: approval.ActionEscalate, User: "erin", Team: &approval.Ref{ID: 999}, Roster: &roster}, t0)
	assert.Equal(t, approval.CodeTooManyEscalations, refusalCode(t, err))
}

func TestRequest_RosterWithoutEscalationsIsUnchanged(t *testing.T) {
	r := twoStage(t)
	r.SetRoster(approval.Roster{TeamMembers: sreRoster.TeamMembers, OrgAdmins: sreRoster.OrgAdmins, Escalated: []string{"zed"}}, t0)
	assert.NotContains(t, r.EligibleApprovers, "zed", "members of escalation teams count only on an escalated stage")
}
