package approval_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

// delegated is twoStage's request (alice's, stage SRE open: alice, bob,
// carol and frank decide, two approvals needed) with the roster carrying
// delegations; each lasts from t0 to t0+48h unless it says otherwise.
func delegated(t *testing.T, ds ...approval.Delegation) *approval.Request {
	t.Helper()
	r := twoStage(t)
	roster := sreRoster
	for i := range ds {
		if ds[i].Starts.IsZero() {
			ds[i].Starts = t0
		}
		if ds[i].Ends.IsZero() {
			ds[i].Ends = t0.Add(48 * time.Hour)
		}
	}
	roster.Delegations = ds
	r.SetRoster(roster, t0)
	return r
}

func deleg(from, to string) approval.Delegation {
	return approval.Delegation{Delegator: from, Delegate: to}
}

func TestDelegation_Decide(t *testing.T) {
	at := t0.Add(time.Hour)
	type step struct {
		user       string
		action     approval.Action
		onBehalfOf string
		refused    approval.Code
	}
	cases := []struct {
		name        string
		delegations []approval.Delegation
		steps       []step
	}{
		{"a delegate approves on behalf of the delegator", []approval.Delegation{deleg("bob", "zoe")},
			[]step{{user: "zoe", onBehalfOf: "bob"}}},
		{"the delegator still may", []approval.Delegation{deleg("bob", "zoe")},
			[]step{{user: "bob"}}},
		{"a delegate rejects on behalf of the delegator", []approval.Delegation{deleg("bob", "zoe")},
			[]step{{user: "zoe", action: approval.ActionReject, onBehalfOf: "bob"}}},
		{"a delegate requests changes on behalf of the delegator", []approval.Delegation{deleg("bob", "zoe")},
			[]step{{user: "zoe", action: approval.ActionRequestChanges, onBehalfOf: "bob"}}},
		{"no delegation: not eligible", nil,
			[]step{{user: "zoe", refused: approval.CodeNotEligible}}},
		{"a delegation not yet started gives nothing", []approval.Delegation{{Delegator: "bob", Delegate: "zoe", Starts: at.Add(time.Minute)}},
			[]step{{user: "zoe", refused: approval.CodeNotEligible}}},
		{"an ended delegation gives nothing", []approval.Delegation{{Delegator: "bob", Delegate: "zoe", Ends: at}},
			[]step{{user: "zoe", refused: approval.CodeNotEligible}}},
		{"a delegation from someone who is no approver gives nothing", []approval.Delegation{deleg("dave", "zoe")},
			[]step{{user: "zoe", refused: approval.CodeNotEligible}}},
		{"a superuser's right is not delegated", []approval.Delegation{deleg("admin", "zoe")},
			[]step{{user: "zoe", refused: approval.CodeNotEligible}}},
		{"never chains", []approval.Delegation{deleg("bob", "zoe"), deleg("zoe", "yann")},
			[]step{{user: "yann", refused: approval.CodeNotEligible}, {user: "zoe", onBehalfOf: "bob"}}},
		{"the requester's delegate decides nothing of the requester's", []approval.Delegation{deleg("alice", "zoe")},
			[]step{{user: "zoe", refused: approval.CodeNotEligible}}},
		{"the requester decides nothing as a delegate", []approval.Delegation{deleg("bob", "alice")},
			[]step{{user: "alice", refused: approval.CodeSelfDecision}}},
		{"the delegator's seat is used by the delegate", []approval.Delegation{deleg("bob", "zoe")},
			[]step{{user: "zoe", onBehalfOf: "bob"}, {user: "bob", refused: approval.CodeAlreadyDecided}}},
		{"a delegator who decided leaves the delegate nothing", []approval.Delegation{deleg("bob", "zoe")},
			[]step{{user: "bob"}, {user: "zoe", refused: approval.CodeAlreadyDecided}}},
		{"a second delegate of the same delegator finds the seat used", []approval.Delegation{deleg("bob", "zoe"), deleg("bob", "yann")},
			[]step{{user: "zoe", onBehalfOf: "bob"}, {user: "yann", refused: approval.CodeAlreadyDecided}}},
		{"an approver who is also a delegate decides in their own right, once", []approval.Delegation{deleg("bob", "carol")},
			[]step{{user: "carol"}, {user: "carol", refused: approval.CodeAlreadyDecided}, {user: "bob"}}},
		{"a delegate of two decides once, for the first by name", []approval.Delegation{deleg("frank", "zoe"), deleg("bob", "zoe")},
			[]step{{user: "zoe", onBehalfOf: "bob"}, {user: "zoe", refused: approval.CodeAlreadyDecided}, {user: "frank"}}},
		{"a delegate of two whose first delegator decided decides for the other", []approval.Delegation{deleg("frank", "zoe"), deleg("bob", "zoe")},
			[]step{{user: "bob"}, {user: "zoe", onBehalfOf: "frank"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := delegated(t, tc.delegations...)
			for i, s := range tc.steps {
				action, text := s.action, ""
				if action == "" {
					action = approval.ActionApprove
				}
				if action == approval.ActionReject || action == approval.ActionRequestChanges {
					text = "no"
				}
				_, err := r.Apply(approval.Act{Action: action, User: s.user, Text: text}, at)
				if s.refused != "" {
					var ref *approval.Refusal
					require.True(t, errors.As(err, &ref), "step %d: want a refusal, got %v", i, err)
					assert.Equal(t, s.refused, ref.Code, "step %d: %s", i, ref.Message)
					continue
				}
				require.NoError(t, err, "step %d", i)
				var last approval.Response
				for _, st := range r.Stages {
					for _, resp := range st.Responses {
						if resp.User == s.user {
							last = resp
						}
					}
				}
				assert.Equal(t, s.onBehalfOf, last.OnBehalfOf, "step %d", i)
			}
		})
	}
}

func TestDelegation_EligibleApprovers(t *testing.T) {
	cases := []struct {
		name        string
		delegations []approval.Delegation
		decided     []string
		want        []string
	}{
		{"no delegations", nil, nil, []string{"bob", "carol", "frank"}},
		{"an active delegate is listed", []approval.Delegation{deleg("bob", "zoe")}, nil, []string{"bob", "carol", "frank", "zoe"}},
		{"a future delegate is not", []approval.Delegation{{Delegator: "bob", Delegate: "zoe", Starts: t0.Add(time.Hour)}}, nil,
			[]string{"bob", "carol", "frank"}},
		{"a chained delegate is not", []approval.Delegation{deleg("bob", "zoe"), deleg("zoe", "yann")}, nil,
			[]string{"bob", "carol", "frank", "zoe"}},
		{"the requester's delegate is not", []approval.Delegation{deleg("alice", "zoe")}, nil, []string{"bob", "carol", "frank"}},
		{"an approver who is a delegate is listed once", []approval.Delegation{deleg("bob", "carol")}, nil, []string{"bob", "carol", "frank"}},
		{"a delegator's used seat takes both off", []approval.Delegation{deleg("bob", "zoe"), deleg("dave", "yann")}, []string{"zoe"},
			[]string{"carol", "frank"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := delegated(t, tc.delegations...)
			for _, u := range tc.decided {
				_, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: u}, t0)
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, r.EligibleApprovers)
		})
	}
}

func TestDelegation_ActiveAt(t *testing.T) {
	d := approval.Delegation{Starts: t0, Ends: t0.Add(time.Hour)}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{{t0.Add(-time.Nanosecond), false}, {t0, true}, {t0.Add(59 * time.Minute), true}, {t0.Add(time.Hour), false}} {
		assert.Equal(t, tc.want, d.ActiveAt(tc.at), tc.at)
	}
}

func TestDelegation_CommentAsDelegate(t *testing.T) {
	r := delegated(t, deleg("bob", "zoe"))
	_, err := r.Apply(approval.Act{Action: approval.ActionComment, User: "zoe", Text: "looking"}, t0.Add(time.Minute))
	require.NoError(t, err)
	r2 := twoStage(t)
	requireRefused(t, r2, approval.ActionComment, "zoe", "looking", approval.CodeNotAllowed)
}

func TestDelegation_NextChange(t *testing.T) {
	r := twoStage(t)
	_, ok := r.NextDelegationChange()
	assert.False(t, ok, "a roster without delegations has no next change")
	at := t0.Add(3 * time.Hour)
	roster := sreRoster
	roster.NextDelegationChange = &at
	r.SetRoster(roster, t0)
	got, ok := r.NextDelegationChange()
	require.True(t, ok)
	assert.Equal(t, at, got)

	_, err := r.Apply(approval.Act{Action: approval.ActionCancel, User: r.Requester}, t0.Add(time.Hour))
	require.NoError(t, err)
	_, ok = r.NextDelegationChange()
	assert.False(t, ok, "no stage open: nothing to wake for, whatever the roster names")
}
