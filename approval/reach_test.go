package approval_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

// oneStage returns requester's request with one stage open: team (nil: the
// organization's admins) must give min approvals, with roster.
func oneStage(t *testing.T, requester string, team *approval.Ref, min int, roster approval.Roster) *approval.Request {
	t.Helper()
	plan := approval.Plan{Source: approval.PlanFromPolicy, PolicyName: "p", Stages: []approval.Stage{
		{Name: "Review", Order: 1, ApproverTeam: team, MinApprovers: min,
			Timeout: approval.Duration(72 * time.Hour), ReminderInterval: approval.Duration(24 * time.Hour)},
	}}
	r := approval.NewRequest(9, approval.Ref{ID: 1, Name: "acme"}, approval.Ref{ID: 3, Name: "Restart service"}, requester, "", plan, t0)
	r.OpenStage(0, roster, t0)
	return r
}

func TestRequest_Unreachable(t *testing.T) {
	twoSRE := approval.Roster{TeamMembers: []string{"bob", "carol"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}
	for _, tc := range []struct {
		name      string
		requester string
		team      *approval.Ref
		min       int
		roster    approval.Roster
		// approvals are given, in order, before the verdict is read.
		approvals []string
		// want is nil when the stage can still be completed.
		want   *approval.Unreachable
		reason string
	}{
		{name: "the requester's own team, two needed", requester: "bob", team: sre, min: 2, roster: twoSRE,
			want:   &approval.Unreachable{Needed: 2, Remaining: []string{"carol"}},
			reason: "needs 2 more approvals but only 1 eligible approver remains (carol): bob is the requester and cannot approve their own request"},
		{name: "after the only other member approved", requester: "bob", team: sre, min: 2, roster: twoSRE, approvals: []string{"carol"},
			want:   &approval.Unreachable{Needed: 1, Remaining: []string{}},
			reason: "needs 1 more approval but no eligible approver remains: bob is the requester and cannot approve their own request; carol already decided on this request"},
		{name: "superusers do not count", requester: "bob", team: sre, min: 2,
			roster: approval.Roster{TeamMembers: []string{"bob", "carol"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin", "root"}},
			want:   &approval.Unreachable{Needed: 2, Remaining: []string{"carol"}}},
		{name: "a superuser's approval counts toward the quorum", requester: "bob", team: sre, min: 2, roster: twoSRE, approvals: []string{"admin"}},
		{name: "someone else's request", requester: "alice", team: sre, min: 2, roster: twoSRE},
		{name: "exactly enough", requester: "alice", team: sre, min: 2, roster: twoSRE, approvals: []string{"bob"}},
		{name: "an empty team", requester: "alice", team: sre, min: 1,
			roster: approval.Roster{TeamMembers: []string{}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}},
			want:   &approval.Unreachable{Needed: 1, Remaining: []string{}},
			reason: "needs 1 more approval but no eligible approver remains: team sre has no active members"},
		{name: "too few org admins", requester: "alice", min: 3, roster: adminRoster,
			want:   &approval.Unreachable{Needed: 3, Remaining: []string{"erin", "gina"}},
			reason: "needs 3 more approvals but only 2 eligible approvers remain (erin, gina)"},
		{name: "no org admins at all", requester: "alice", min: 1, roster: approval.Roster{OrgAdmins: []string{}, Superusers: []string{"admin"}},
			want:   &approval.Unreachable{Needed: 1, Remaining: []string{}},
			reason: "needs 1 more approval but no eligible approver remains: the organization has no active admins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := oneStage(t, tc.requester, tc.team, tc.min, tc.roster)
			for _, u := range tc.approvals {
				apply(t, r, approval.ActionApprove, u, "")
			}
			got := r.Stages[0].Unreachable
			if tc.want == nil {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got, "the stage cannot be completed")
			assert.Equal(t, tc.want.Needed, got.Needed)
			assert.Equal(t, tc.want.Remaining, got.Remaining)
			assert.Equal(t, r.EligibleApprovers, got.Remaining, "remaining are the eligible approvers")
			if tc.reason != "" {
				assert.Equal(t, tc.reason, got.Reason)
			}
			assert.False(t, got.Since.IsZero())
		})
	}
}

func TestRequest_UnreachableFollowsTheRoster(t *testing.T) {
	twoSRE := approval.Roster{TeamMembers: []string{"bob", "carol"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}
	r := oneStage(t, "bob", sre, 2, twoSRE)
	require.NotNil(t, r.Stages[0].Unreachable)
	since := r.Stages[0].Unreachable.Since
	assert.Equal(t, t0, since)

	// Still unreachable after carol's approval: the verdict is renewed, its
	// start stays.
	_, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: "carol"}, t0.Add(time.Hour))
	require.NoError(t, err)
	require.NotNil(t, r.Stages[0].Unreachable)
	assert.Equal(t, since, r.Stages[0].Unreachable.Since)
	assert.Equal(t, 1, r.Stages[0].Unreachable.Needed)

	// An admin adds frank to the team: the stage can be completed again.
	more := twoSRE
	more.TeamMembers = []string{"bob", "carol", "frank"}
	r.SetRoster(more, t0.Add(2*time.Hour))
	assert.Nil(t, r.Stages[0].Unreachable)
	assert.Equal(t, []string{"frank"}, r.EligibleApprovers)

	// frank leaves before deciding: unreachable again, from now.
	r.SetRoster(twoSRE, t0.Add(3*time.Hour))
	require.NotNil(t, r.Stages[0].Unreachable)
	assert.Equal(t, t0.Add(3*time.Hour), r.Stages[0].Unreachable.Since)

	// A superuser finishes it: an approved stage carries no verdict.
	eff, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: "admin"}, t0.Add(4*time.Hour))
	require.NoError(t, err)
	assert.True(t, eff.Approved)
	assert.Nil(t, r.Stages[0].Unreachable)
}

func TestRequest_UnreachableStaysOnAnExpiredStage(t *testing.T) {
	r := oneStage(t, "bob", sre, 2, approval.Roster{TeamMembers: []string{"bob", "carol"}})
	_, expired := r.Tick(t0.Add(72 * time.Hour))
	require.True(t, expired)
	require.NotNil(t, r.Stages[0].Unreachable, "why the stage could not finish")
}

func TestRequest_UnreachableStateShape(t *testing.T) {
	r := oneStage(t, "bob", sre, 2, approval.Roster{TeamMembers: []string{"bob", "carol"}})
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	var st struct {
		Stages []map[string]json.RawMessage `json:"stages"`
	}
	require.NoError(t, json.Unmarshal(raw, &st))
	var got map[string]any
	require.NoError(t, json.Unmarshal(st.Stages[0]["unreachable"], &got))
	assert.ElementsMatch(t, []string{"reason", "needed", "remaining", "since"}, keys(got))

	reachable := oneStage(t, "alice", sre, 2, approval.Roster{TeamMembers: []string{"bob", "carol"}})
	raw, err = json.Marshal(reachable)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &st))
	assert.Equal(t, "null", string(st.Stages[0]["unreachable"]))
}

func TestRequest_UnreachableReasonIsBounded(t *testing.T) {
	// 99 approvers with the longest names remain for a stage that needs
	// 100: the reason names a few of them, not all.
	var members []string
	for i := 0; i < 100; i++ {
		members = append(members, strings.Repeat("u", 140)+string(rune('a'+i%26))+strings.Repeat("x", i%7))
	}
	roster := approval.Roster{TeamMembers: members}
	r := oneStage(t, members[0], sre, 100, roster)
	require.NotNil(t, r.Stages[0].Unreachable)
	assert.Len(t, r.Stages[0].Unreachable.Remaining, 99)
	assert.Less(t, len(r.Stages[0].Unreachable.Reason), 2500)
	assert.Contains(t, r.Stages[0].Unreachable.Reason, "and 89 more")
}

func TestRequest_Admins(t *testing.T) {
	r := oneStage(t, "bob", sre, 1, approval.Roster{TeamMembers: []string{"carol"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}})
	assert.Equal(t, []string{"erin"}, r.Admins())
	r.SetRoster(approval.Roster{TeamMembers: []string{"carol"}, OrgAdmins: []string{}, Superusers: []string{"admin"}}, t0)
	assert.Equal(t, []string{"admin"}, r.Admins(), "superusers when the organization has no admins")
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestShortfall(t *testing.T) {
	for _, tc := range []struct {
		needed    int
		remaining []string
		want      string
	}{
		{0, nil, ""},
		{1, []string{"carol"}, ""},
		{2, []string{"carol", "dave", "eve"}, ""},
		{1, nil, "needs 1 more approval but no eligible approver remains"},
		{2, []string{"carol"}, "needs 2 more approvals but only 1 eligible approver remains (carol)"},
		{3, []string{"carol", "dave"}, "needs 3 more approvals but only 2 eligible approvers remain (carol, dave)"},
	} {
		got, ok := approval.Shortfall(tc.needed, tc.remaining)
		assert.Equal(t, tc.want != "", ok, "%d needed of %v", tc.needed, tc.remaining)
		assert.Equal(t, tc.want, got)
	}
}
