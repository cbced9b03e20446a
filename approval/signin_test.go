package approval_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

// stepUp returns alice's request whose open stage (sre, one approver)
// requires a sign-in within the last 15 minutes.
func stepUp(t *testing.T) *approval.Request {
	t.Helper()
	plan := approval.Plan{Source: approval.PlanFromPolicy, PolicyName: "prod", Stages: []approval.Stage{
		{Name: "SRE", Order: 1, ApproverTeam: sre, MinApprovers: 1, Timeout: approval.Duration(72 * time.Hour),
			RequireRecentLogin: approval.Duration(15 * time.Minute)},
	}}
	r := approval.NewRequest(43, approval.Ref{ID: 1, Name: "acme"}, approval.Ref{ID: 3, Name: "Deploy"}, "alice", "prod", plan, t0)
	i, ok := r.NextStage()
	require.True(t, ok)
	r.OpenStage(i, sreRoster, t0)
	return r
}

func TestRequest_CheckSignIn(t *testing.T) {
	now := t0.Add(time.Hour)
	at := func(ago time.Duration) *time.Time { v := now.Add(-ago); return &v }
	for _, tc := range []struct {
		name     string
		action   approval.Action
		signedIn *time.Time
		refused  bool
	}{
		{"approve with a sign-in a minute old", approval.ActionApprove, at(time.Minute), false},
		{"approve with a sign-in exactly as old as allowed", approval.ActionApprove, at(15 * time.Minute), false},
		{"approve with a sign-in a second too old", approval.ActionApprove, at(15*time.Minute + time.Second), true},
		{"approve without an interactive sign-in", approval.ActionApprove, nil, true},
		{"reject without an interactive sign-in", approval.ActionReject, nil, true},
		{"reject with an old sign-in", approval.ActionReject, at(2 * time.Hour), true},
		{"a comment needs no recent sign-in", approval.ActionComment, nil, false},
		{"a cancel needs no recent sign-in", approval.ActionCancel, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := stepUp(t).CheckSignIn(tc.action, tc.signedIn, now)
			if !tc.refused {
				assert.NoError(t, err)
				return
			}
			var ref *approval.Refusal
			require.True(t, errors.As(err, &ref), "want a *Refusal, got %v", err)
			assert.Equal(t, approval.CodeRecentLoginRequired, ref.Code)
			assert.True(t, ref.Forbidden(), "about who acts, not the request's state")
			assert.Contains(t, ref.Message, "15m0s")
		})
	}

	t.Run("a stage without the requirement takes any decision", func(t *testing.T) {
		assert.NoError(t, twoStage(t).CheckSignIn(approval.ActionApprove, nil, now))
	})
	t.Run("without an open stage there is nothing to require", func(t *testing.T) {
		r := stepUp(t)
		apply(t, r, approval.ActionCancel, "alice", "")
		assert.NoError(t, r.CheckSignIn(approval.ActionApprove, nil, now))
	})
}

func TestRequest_ApplyRequiresARecentSignIn(t *testing.T) {
	r := stepUp(t)
	now := t0.Add(time.Hour)
	_, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: "bob", Via: approval.Via{Channel: "api"}}, now)
	var ref *approval.Refusal
	require.ErrorAs(t, err, &ref)
	assert.Equal(t, approval.CodeRecentLoginRequired, ref.Code)
	assert.Empty(t, r.Stages[0].Responses, "a refused decision changes nothing")
	assert.NoError(t, r.Check(approval.ActionApprove, "bob", "", now), "Check alone still offers the decision")

	signedIn := now.Add(-5 * time.Minute)
	eff, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: "bob",
		Via: approval.Via{Channel: "portal", SignedInAt: &signedIn}}, now)
	require.NoError(t, err)
	assert.True(t, eff.Approved)
	require.NotNil(t, r.Stages[0].Responses[0].SignedInAt, "the decision keeps the sign-in it was judged by")
	assert.Equal(t, signedIn, *r.Stages[0].Responses[0].SignedInAt)
}

func TestRequest_IneligibleUserIsToldSoBeforeSignInAge(t *testing.T) {
	ref := requireRefused(t, stepUp(t), approval.ActionApprove, "dave", "", approval.CodeNotEligible)
	assert.NotContains(t, ref.Message, "sign in")
}
