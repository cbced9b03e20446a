package approval_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var (
	sreRoster      = approval.Roster{TeamMembers: []string{"alice", "bob", "carol", "frank"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}
	securityRoster = approval.Roster{TeamMembers: []string{"bob", "dave"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}
	adminRoster    = approval.Roster{OrgAdmins: []string{"erin", "gina"}, Superusers: []string{"admin"}}
)

// twoStage returns alice's request with stage 1 (sre, 2 approvers) open and
// stage 2 (security, 1 approver) waiting.
func twoStage(t *testing.T) *approval.Request {
	t.Helper()
	plan := approval.Plan{Source: approval.PlanFromPolicy, PolicyName: "long-lived", Stages: []approval.Stage{
		{Name: "SRE", Order: 1, ApproverTeam: sre, MinApprovers: 2, DenialMessage: "SRE said no",
			Timeout: approval.Duration(72 * time.Hour), ReminderInterval: approval.Duration(24 * time.Hour)},
		{Name: "Security", Order: 2, ApproverTeam: security, MinApprovers: 1, DenialMessage: "Security said no",
			Timeout: approval.Duration(48 * time.Hour)},
	}}
	r := approval.NewRequest(42, approval.Ref{ID: 1, Name: "acme"}, approval.Ref{ID: 3, Name: "Provision environment"}, "alice", "test env", plan, t0)
	i, ok := r.NextStage()
	require.True(t, ok)
	require.Equal(t, 0, i)
	r.OpenStage(i, sreRoster, t0)
	return r
}

func apply(t *testing.T, r *approval.Request, a approval.Action, user, text string) approval.Effect {
	t.Helper()
	eff, err := r.Apply(approval.Act{Action: a, User: user, Text: text}, t0.Add(time.Minute))
	require.NoError(t, err, "%s by %s", a, user)
	return eff
}

func requireRefused(t *testing.T, r *approval.Request, a approval.Action, user, text string, code approval.Code) *approval.Refusal {
	t.Helper()
	before, err := json.Marshal(r)
	require.NoError(t, err)
	require.Error(t, r.Check(a, user, text, t0.Add(time.Hour)))
	_, err = r.Apply(approval.Act{Action: a, User: user, Text: text}, t0.Add(time.Hour))
	var ref *approval.Refusal
	require.True(t, errors.As(err, &ref), "want a *Refusal, got %v", err)
	assert.Equal(t, code, ref.Code, ref.Message)
	assert.NotEmpty(t, ref.Message)
	after, mErr := json.Marshal(r)
	require.NoError(t, mErr)
	assert.JSONEq(t, string(before), string(after), "a refused action must not change the request")
	return ref
}

func TestRequest_NewWithoutStagesIsApproved(t *testing.T) {
	r := approval.NewRequest(1, approval.Ref{}, approval.Ref{}, "alice", "", approval.Plan{Source: approval.PlanNone}, t0)
	assert.Equal(t, approval.StatusApproved, r.Status)
	_, ok := r.NextStage()
	assert.False(t, ok)
	requireRefused(t, r, approval.ActionApprove, "bob", "", approval.CodeNotPending)
}

func TestRequest_TwoOfThreeApprovals(t *testing.T) {
	r := twoStage(t)
	assert.Equal(t, []string{"bob", "carol", "frank"}, r.EligibleApprovers, "requester excluded")

	eff := apply(t, r, approval.ActionApprove, "bob", "looks fine")
	assert.Equal(t, approval.Effect{}, eff)
	assert.Equal(t, 1, r.Stages[0].Approvals)
	assert.Equal(t, approval.StagePending, r.Stages[0].Status)
	assert.Equal(t, []string{"carol", "frank"}, r.EligibleApprovers)

	eff = apply(t, r, approval.ActionApprove, "carol", "")
	assert.Equal(t, approval.Effect{StageApproved: true}, eff)
	assert.Equal(t, approval.StageApproved, r.Stages[0].Status)
	assert.NotNil(t, r.Stages[0].DecidedAt)
	assert.Equal(t, approval.StatusPendingApproval, r.Status)
	assert.Equal(t, -1, r.CurrentStage)
	assert.Empty(t, r.EligibleApprovers)

	// Between stages nobody can decide until the next stage opens.
	requireRefused(t, r, approval.ActionApprove, "dave", "", approval.CodeStageNotOpen)

	i, ok := r.NextStage()
	require.True(t, ok)
	require.Equal(t, 1, i)
	r.OpenStage(i, securityRoster, t0.Add(2*time.Minute))
	assert.Equal(t, []string{"dave"}, r.EligibleApprovers, "bob already decided stage 1")

	eff = apply(t, r, approval.ActionApprove, "dave", "")
	assert.Equal(t, approval.Effect{StageApproved: true, Approved: true}, eff)
	assert.Equal(t, approval.StatusApproved, r.Status)
	assert.Nil(t, r.Finished, "approved is not terminal")
}

func TestRequest_RejectAfterOneApproval(t *testing.T) {
	r := twoStage(t)
	apply(t, r, approval.ActionApprove, "bob", "")
	requireRefused(t, r, approval.ActionReject, "carol", "  ", approval.CodeReasonRequired)

	eff := apply(t, r, approval.ActionReject, "carol", "too big")
	assert.Equal(t, approval.Effect{Rejected: true}, eff)
	assert.Equal(t, approval.StatusRejected, r.Status)
	assert.Equal(t, approval.StageRejected, r.Stages[0].Status)
	assert.Equal(t, approval.StageSkipped, r.Stages[1].Status, "later stages never open")
	require.NotNil(t, r.Denial)
	assert.Equal(t, approval.Denial{Stage: "SRE", Message: "SRE said no", Reason: "too big", User: "carol", At: t0.Add(time.Minute)}, *r.Denial)
	require.NotNil(t, r.Finished)
	assert.Empty(t, r.EligibleApprovers)
}

func TestRequest_RequestChanges(t *testing.T) {
	t.Run("ends the request for its requester to change", func(t *testing.T) {
		r := twoStage(t)
		apply(t, r, approval.ActionApprove, "bob", "")
		now := t0.Add(time.Minute)
		eff, err := r.Apply(approval.Act{Action: approval.ActionRequestChanges, User: "carol", Text: "ask for 2 CPUs, not 16",
			Via: approval.Via{Channel: "portal"}}, now)
		require.NoError(t, err)
		assert.Equal(t, approval.Effect{ChangesRequested: true}, eff)
		assert.Equal(t, approval.StatusChangesRequested, r.Status)
		assert.True(t, r.Status.Terminal())
		assert.Equal(t, approval.StageChangesRequested, r.Stages[0].Status)
		assert.Equal(t, 1, r.Stages[0].Approvals, "asking for changes is no approval")
		assert.Equal(t, approval.StageSkipped, r.Stages[1].Status, "later stages never open")
		assert.Equal(t, approval.Decision("request_changes"), r.Stages[0].Responses[1].Decision)
		require.NotNil(t, r.ChangesRequested)
		assert.Equal(t, approval.ChangeRequest{Stage: "SRE", Reason: "ask for 2 CPUs, not 16", User: "carol", At: now,
			Via: approval.Via{Channel: "portal"}}, *r.ChangesRequested)
		assert.Nil(t, r.Denial, "it is not a rejection")
		assert.Equal(t, now, *r.Finished)
		assert.Empty(t, r.EligibleApprovers)
	})
	// Whoever may reject may ask for changes, with the same refusals.
	refusals := []struct {
		name string
		prep func(t *testing.T, r *approval.Request)
		user string
		text string
		code approval.Code
	}{
		{"reason required", nil, "carol", " \n", approval.CodeReasonRequired},
		{"reason bounded", nil, "carol", strings.Repeat("x", approval.MaxTextLength+1), approval.CodeTooLong},
		{"requester", nil, "alice", "change it", approval.CodeSelfDecision},
		{"not an approver", nil, "mallory", "change it", approval.CodeNotEligible},
		{"org admin of a team stage", nil, "erin", "change it", approval.CodeNotEligible},
		{"already decided", func(t *testing.T, r *approval.Request) { apply(t, r, approval.ActionApprove, "bob", "") },
			"bob", "change it", approval.CodeAlreadyDecided},
		{"no user", nil, "", "change it", approval.CodeUserRequired},
		{"not pending", func(t *testing.T, r *approval.Request) { approveAll(t, r) }, "dave", "change it", approval.CodeNotPending},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r := twoStage(t)
			if tt.prep != nil {
				tt.prep(t, r)
			}
			requireRefused(t, r, approval.ActionRequestChanges, tt.user, tt.text, tt.code)
		})
	}
	t.Run("superuser may", func(t *testing.T) {
		r := twoStage(t)
		assert.Equal(t, approval.Effect{ChangesRequested: true}, apply(t, r, approval.ActionRequestChanges, "admin", "split it"))
	})
	t.Run("after the deadline", func(t *testing.T) {
		r := twoStage(t)
		err := r.Check(approval.ActionRequestChanges, "bob", "late", t0.Add(72*time.Hour))
		var ref *approval.Refusal
		require.ErrorAs(t, err, &ref)
		assert.Equal(t, approval.CodeDeadlinePassed, ref.Code)
	})
	t.Run("a stage that requires a recent sign-in", func(t *testing.T) {
		r := twoStage(t)
		r.Stages[0].RequireRecentLogin = approval.Duration(time.Hour)
		err := r.CheckSignIn(approval.ActionRequestChanges, nil, t0.Add(time.Minute))
		var ref *approval.Refusal
		require.ErrorAs(t, err, &ref)
		assert.Equal(t, approval.CodeRecentLoginRequired, ref.Code)
		signedIn := t0
		assert.NoError(t, r.CheckSignIn(approval.ActionRequestChanges, &signedIn, t0.Add(time.Minute)))
	})
}

func TestRequest_SeparationOfDuties(t *testing.T) {
	t.Run("requester cannot approve even as a team member", func(t *testing.T) {
		r := twoStage(t)
		ref := requireRefused(t, r, approval.ActionApprove, "alice", "", approval.CodeSelfDecision)
		assert.True(t, ref.Forbidden())
		requireRefused(t, r, approval.ActionReject, "alice", "no", approval.CodeSelfDecision)
	})
	t.Run("requester may comment and cancel", func(t *testing.T) {
		r := twoStage(t)
		apply(t, r, approval.ActionComment, "alice", "please hurry")
		eff := apply(t, r, approval.ActionCancel, "alice", "not needed")
		assert.True(t, eff.Canceled)
	})
	t.Run("same person cannot approve stage 1 and stage 2", func(t *testing.T) {
		r := twoStage(t)
		apply(t, r, approval.ActionApprove, "bob", "")
		apply(t, r, approval.ActionApprove, "carol", "")
		r.OpenStage(1, securityRoster, t0.Add(time.Hour))
		ref := requireRefused(t, r, approval.ActionApprove, "bob", "", approval.CodeAlreadyDecided)
		assert.Contains(t, ref.Message, "stage 1 (SRE)")
	})
	t.Run("second decision in the same stage refused", func(t *testing.T) {
		r := twoStage(t)
		apply(t, r, approval.ActionApprove, "bob", "")
		requireRefused(t, r, approval.ActionApprove, "bob", "", approval.CodeAlreadyDecided)
		requireRefused(t, r, approval.ActionReject, "bob", "changed my mind", approval.CodeAlreadyDecided)
	})
}

func TestRequest_Eligibility(t *testing.T) {
	t.Run("ineligible user", func(t *testing.T) {
		r := twoStage(t)
		ref := requireRefused(t, r, approval.ActionApprove, "dave", "", approval.CodeNotEligible)
		assert.True(t, ref.Forbidden())
		assert.Contains(t, ref.Message, "team sre")
		requireRefused(t, r, approval.ActionReject, "mallory", "no", approval.CodeNotEligible)
	})
	t.Run("org admin is not an approver when the stage has a team", func(t *testing.T) {
		r := twoStage(t)
		requireRefused(t, r, approval.ActionApprove, "erin", "", approval.CodeNotEligible)
	})
	t.Run("superuser may decide any stage", func(t *testing.T) {
		r := twoStage(t)
		apply(t, r, approval.ActionApprove, "admin", "")
		assert.Equal(t, 1, r.Stages[0].Approvals)
		assert.NotContains(t, r.EligibleApprovers, "admin", "superusers are not listed")
	})
	t.Run("org-admin fallback when the stage has no team", func(t *testing.T) {
		plan := approval.Plan{Source: approval.PlanFromItem, Stages: []approval.Stage{{Name: "Approval", Order: 1, MinApprovers: 1}}}
		r := approval.NewRequest(7, approval.Ref{}, approval.Ref{}, "alice", "", plan, t0)
		r.OpenStage(0, adminRoster, t0)
		assert.Equal(t, []string{"erin", "gina"}, r.EligibleApprovers)
		ref := requireRefused(t, r, approval.ActionApprove, "bob", "", approval.CodeNotEligible)
		assert.Contains(t, ref.Message, "organization's admins")
		eff := apply(t, r, approval.ActionApprove, "gina", "")
		assert.True(t, eff.Approved)
	})
	t.Run("user removed from the team mid-flight", func(t *testing.T) {
		r := twoStage(t)
		apply(t, r, approval.ActionApprove, "bob", "")
		r.SetRoster(approval.Roster{TeamMembers: []string{"carol"}, OrgAdmins: sreRoster.OrgAdmins, Superusers: sreRoster.Superusers}, t0.Add(time.Minute))
		assert.Equal(t, []string{"carol"}, r.EligibleApprovers)
		requireRefused(t, r, approval.ActionApprove, "frank", "", approval.CodeNotEligible)
		assert.Equal(t, 1, r.Stages[0].Approvals, "bob's earlier approval still counts")
		eff := apply(t, r, approval.ActionApprove, "carol", "")
		assert.True(t, eff.StageApproved)
	})
	t.Run("user added to the team mid-flight", func(t *testing.T) {
		r := twoStage(t)
		requireRefused(t, r, approval.ActionApprove, "henry", "", approval.CodeNotEligible)
		roster := sreRoster
		roster.TeamMembers = append([]string{"henry"}, roster.TeamMembers...)
		r.SetRoster(roster, t0)
		assert.Contains(t, r.EligibleApprovers, "henry")
		apply(t, r, approval.ActionApprove, "henry", "")
	})
	t.Run("empty user", func(t *testing.T) {
		r := twoStage(t)
		requireRefused(t, r, approval.ActionApprove, " ", "", approval.CodeUserRequired)
	})
	t.Run("unknown action", func(t *testing.T) {
		r := twoStage(t)
		requireRefused(t, r, approval.Action("veto"), "bob", "", approval.CodeUnknownAction)
		assert.False(t, approval.Action("veto").Valid())
	})
}

func TestRequest_TerminalStatusesRefuseEverything(t *testing.T) {
	finishers := map[approval.Status]func(r *approval.Request){
		approval.StatusRejected: func(r *approval.Request) { apply(t, r, approval.ActionReject, "bob", "no") },
		approval.StatusChangesRequested: func(r *approval.Request) {
			apply(t, r, approval.ActionRequestChanges, "bob", "smaller, please")
		},
		approval.StatusExpired: func(r *approval.Request) {
			_, expired := r.Tick(t0.Add(72 * time.Hour))
			require.True(t, expired)
		},
		approval.StatusCanceled: func(r *approval.Request) { apply(t, r, approval.ActionCancel, "alice", "") },
		approval.StatusSuccessful: func(r *approval.Request) {
			approveAll(t, r)
			r.MarkLaunched(approval.Job{Type: "workflow_job", ID: 5, Status: "pending"}, t0)
			r.UpdateJob("successful", "", t0)
		},
		approval.StatusFailed: func(r *approval.Request) {
			approveAll(t, r)
			r.Fail("AWX refused the launch", t0)
		},
	}
	for status, finish := range finishers {
		t.Run(string(status), func(t *testing.T) {
			r := twoStage(t)
			finish(r)
			require.Equal(t, status, r.Status)
			require.NotNil(t, r.Finished)
			for _, a := range []approval.Action{approval.ActionApprove, approval.ActionReject, approval.ActionComment, approval.ActionCancel, approval.ActionRequestChanges} {
				for _, user := range []string{"alice", "carol", "dave", "erin", "admin"} {
					requireRefused(t, r, a, user, "text", approval.CodeFinished)
				}
			}
		})
	}
}

func approveAll(t *testing.T, r *approval.Request) {
	t.Helper()
	apply(t, r, approval.ActionApprove, "bob", "")
	apply(t, r, approval.ActionApprove, "carol", "")
	r.OpenStage(1, securityRoster, t0)
	apply(t, r, approval.ActionApprove, "dave", "")
	require.Equal(t, approval.StatusApproved, r.Status)
}

func TestRequest_DecisionsWhileRunning(t *testing.T) {
	r := twoStage(t)
	approveAll(t, r)
	r.MarkLaunched(approval.Job{Type: "workflow_job", ID: 5, Status: "pending"}, t0)
	assert.Equal(t, approval.StatusRunning, r.Status)
	requireRefused(t, r, approval.ActionApprove, "frank", "", approval.CodeNotPending)
	requireRefused(t, r, approval.ActionReject, "frank", "late", approval.CodeNotPending)
	apply(t, r, approval.ActionComment, "dave", "watching it")
	requireRefused(t, r, approval.ActionCancel, "carol", "", approval.CodeNotAllowed)

	eff := apply(t, r, approval.ActionCancel, "erin", "wrong env")
	assert.Equal(t, approval.Effect{CancelRequested: true}, eff)
	assert.Equal(t, approval.StatusRunning, r.Status, "a running request ends with its job's outcome")
	requireRefused(t, r, approval.ActionCancel, "alice", "", approval.CodeCancelRequested)

	r.UpdateJob("canceled", "", t0.Add(time.Hour))
	assert.Equal(t, approval.StatusCanceled, r.Status)
}

func TestRequest_Comments(t *testing.T) {
	r := twoStage(t)
	for _, user := range []string{"alice", "bob", "erin", "admin"} {
		apply(t, r, approval.ActionComment, user, "note from "+user)
	}
	requireRefused(t, r, approval.ActionComment, "dave", "drive-by", approval.CodeNotAllowed)
	requireRefused(t, r, approval.ActionComment, "bob", "", approval.CodeTextRequired)
	requireRefused(t, r, approval.ActionComment, "bob", strings.Repeat("x", approval.MaxTextLength+1), approval.CodeTooLong)
	// The limit is in bytes: 501 four-byte runes exceed 2,000 bytes.
	requireRefused(t, r, approval.ActionComment, "bob", strings.Repeat("😀", approval.MaxTextLength/4+1), approval.CodeTooLong)
	requireRefused(t, r, approval.ActionComment, strings.Repeat("u", approval.MaxUserLength+1), "hi", approval.CodeTooLong)

	require.Len(t, r.Comments, 4)
	full := twoStage(t)
	for i := 0; i < approval.MaxComments; i++ {
		apply(t, full, approval.ActionComment, "alice", "ping")
	}
	requireRefused(t, full, approval.ActionComment, "bob", "one more", approval.CodeTooManyComments)

	assert.Equal(t, "alice", r.Comments[0].User)
	assert.Equal(t, "admin", r.Comments[3].User)
	require.NotNil(t, r.Comments[0].Stage)
	assert.Equal(t, 0, *r.Comments[0].Stage)
	assert.Equal(t, approval.StatusPendingApproval, r.Status)
	assert.Equal(t, 0, r.Stages[0].Approvals, "comments never change state")
}

func TestRequest_Cancel(t *testing.T) {
	t.Run("while pending", func(t *testing.T) {
		r := twoStage(t)
		requireRefused(t, r, approval.ActionCancel, "bob", "", approval.CodeNotAllowed)
		eff := apply(t, r, approval.ActionCancel, "erin", "duplicate")
		assert.Equal(t, approval.Effect{Canceled: true}, eff)
		assert.Equal(t, approval.StatusCanceled, r.Status)
		assert.Equal(t, approval.StageCanceled, r.Stages[0].Status)
		assert.Equal(t, approval.StageSkipped, r.Stages[1].Status)
		assert.Equal(t, "erin", r.Cancellation.User)
	})
	t.Run("superuser may cancel", func(t *testing.T) {
		r := twoStage(t)
		eff := apply(t, r, approval.ActionCancel, "admin", "")
		assert.True(t, eff.Canceled)
	})
}

func TestRequest_RemindersAndExpiry(t *testing.T) {
	r := twoStage(t)
	wake, ok := r.NextWake()
	require.True(t, ok)
	assert.Equal(t, t0.Add(24*time.Hour), wake, "first reminder before the 72h deadline")

	remind, expired := r.Tick(t0.Add(23 * time.Hour))
	assert.Nil(t, remind)
	assert.False(t, expired)

	apply(t, r, approval.ActionApprove, "bob", "")
	remind, expired = r.Tick(t0.Add(24 * time.Hour))
	assert.False(t, expired)
	assert.Equal(t, []string{"carol", "frank"}, remind, "only approvers who have not decided")
	assert.Equal(t, 1, r.Stages[0].RemindersSent)
	wake, _ = r.NextWake()
	assert.Equal(t, t0.Add(48*time.Hour), wake)

	// A late wake-up (worker down for a day) sends one reminder, not a backlog.
	remind, _ = r.Tick(t0.Add(71 * time.Hour))
	assert.Len(t, remind, 2)
	assert.Equal(t, 2, r.Stages[0].RemindersSent)
	wake, _ = r.NextWake()
	assert.Equal(t, t0.Add(72*time.Hour), wake, "no reminder at or after the deadline")

	remind, expired = r.Tick(t0.Add(72 * time.Hour))
	assert.Nil(t, remind)
	assert.True(t, expired)
	assert.Equal(t, approval.StatusExpired, r.Status)
	assert.Equal(t, approval.StageExpired, r.Stages[0].Status)
	assert.Equal(t, approval.StageSkipped, r.Stages[1].Status)
	_, ok = r.NextWake()
	assert.False(t, ok)
}

func TestRequest_NoRemindersWhenIntervalZero(t *testing.T) {
	r := twoStage(t)
	approveAll := func() {
		apply(t, r, approval.ActionApprove, "bob", "")
		apply(t, r, approval.ActionApprove, "carol", "")
	}
	approveAll()
	r.OpenStage(1, securityRoster, t0)
	wake, ok := r.NextWake()
	require.True(t, ok)
	assert.Equal(t, t0.Add(48*time.Hour), wake, "stage 2 has no reminder interval")
	assert.Nil(t, r.Stages[1].NextReminder)
}

func TestRequest_JobOutcomes(t *testing.T) {
	tests := []struct {
		awx, explanation string
		want             approval.Status
		wantReason       string
	}{
		{"running", "", approval.StatusRunning, ""},
		{"successful", "", approval.StatusSuccessful, ""},
		{"failed", "No error handling paths found, marking workflow as failed", approval.StatusFailed,
			"AWX job failed: No error handling paths found, marking workflow as failed"},
		{"error", "", approval.StatusFailed, "AWX job error"},
		{"canceled", "", approval.StatusCanceled, ""},
	}
	for _, tt := range tests {
		t.Run(tt.awx, func(t *testing.T) {
			r := twoStage(t)
			approveAll(t, r)
			r.MarkLaunched(approval.Job{Type: "job", ID: 9, Status: "pending", URL: "http://awx/#/jobs/playbook/9"}, t0)
			r.UpdateJob(tt.awx, tt.explanation, t0.Add(time.Minute))
			assert.Equal(t, tt.want, r.Status)
			assert.Equal(t, tt.wantReason, r.FailureReason)
			assert.Equal(t, tt.awx, r.Job.Status)
			assert.Equal(t, tt.want.Terminal(), r.Finished != nil)
		})
	}
}

func TestRequest_RecordRefusalIsBounded(t *testing.T) {
	r := twoStage(t)
	for i := 0; i < 60; i++ {
		r.RecordRefusal(approval.ActionApprove, fmt.Sprintf("u%d", i), &approval.Refusal{Code: approval.CodeNotEligible, Message: "no"}, t0)
	}
	require.Len(t, r.Refused, 50)
	assert.Equal(t, "u10", r.Refused[0].User)
	assert.Equal(t, "u59", r.Refused[49].User)
}

// A refused signal's record keeps no more of what the sender sent than the
// rules allow: the user name cut to MaxUserLength bytes and the message to
// MaxRefusalMessage, both valid UTF-8 and marked as cut.
func TestRequest_RecordRefusalBoundsItsStrings(t *testing.T) {
	r := twoStage(t)
	huge := strings.Repeat("é", 250_000) // 500,000 bytes of two-byte runes
	err := r.Check(approval.ActionApprove, huge, "", t0)
	var ref *approval.Refusal
	require.ErrorAs(t, err, &ref)
	assert.Equal(t, approval.CodeTooLong, ref.Code)
	assert.NotContains(t, ref.Message, "é", "the refusal does not echo the name")
	r.RecordRefusal(approval.ActionApprove, huge, ref, t0)
	r.RecordRefusal(approval.ActionComment, "bob", &approval.Refusal{Code: approval.CodeNotAllowed, Message: strings.Repeat("x", 100_000)}, t0)
	require.Len(t, r.Refused, 2)

	user := r.Refused[0].User
	assert.LessOrEqual(t, len(user), approval.MaxUserLength)
	assert.Greater(t, len(user), approval.MaxUserLength-8, "cut, not dropped")
	assert.True(t, utf8.ValidString(user), "cut on a character boundary")
	assert.True(t, strings.HasSuffix(user, approval.CutMarker), "marked as cut")
	assert.True(t, strings.HasPrefix(huge, strings.TrimSuffix(user, approval.CutMarker)))

	msg := r.Refused[1].Message
	assert.LessOrEqual(t, len(msg), approval.MaxRefusalMessage)
	assert.True(t, strings.HasSuffix(msg, approval.CutMarker))
	assert.Equal(t, "bob", r.Refused[1].User, "short names are kept as sent")

	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Less(t, len(b), 8<<10, "the state holds none of the 600 KB sent")
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"bob", 10, "bob"},
		{"0123456789", 10, "0123456789"},
		{"0123456789a", 10, "0123456" + approval.CutMarker},
		{"ééééé", 8, "éé" + approval.CutMarker}, // 10 bytes; 2 runes + the 3-byte marker fit in 8
		{"ééééé", 7, "éé" + approval.CutMarker},
		{"ééééé", 6, "é" + approval.CutMarker},
		{"\xff\xfe\xfd\xfc\xfb", 4, "\uFFFD"}, // invalid bytes are not kept
	} {
		got := approval.Cut(tc.in, tc.max)
		assert.Equal(t, tc.want, got, "Cut(%q, %d)", tc.in, tc.max)
		assert.LessOrEqual(t, len(got), tc.max)
		assert.True(t, utf8.ValidString(got))
	}
}

func TestRequest_Abort(t *testing.T) {
	t.Run("pending request is canceled", func(t *testing.T) {
		r := twoStage(t)
		eff := r.Abort("operator", "workflow canceled", t0)
		assert.Equal(t, approval.Effect{Canceled: true}, eff)
		assert.Equal(t, approval.StatusCanceled, r.Status)
		assert.Equal(t, "operator", r.Cancellation.User)
	})
	t.Run("running request asks for the job to be canceled", func(t *testing.T) {
		r := twoStage(t)
		approveAll(t, r)
		r.MarkLaunched(approval.Job{Type: "job", ID: 1, Status: "running"}, t0)
		assert.Equal(t, approval.Effect{CancelRequested: true}, r.Abort("operator", "", t0))
		assert.Equal(t, approval.Effect{}, r.Abort("operator", "", t0), "only once")
	})
	t.Run("finished request is left alone", func(t *testing.T) {
		r := twoStage(t)
		apply(t, r, approval.ActionReject, "bob", "no")
		assert.Equal(t, approval.Effect{}, r.Abort("operator", "", t0))
		assert.Equal(t, approval.StatusRejected, r.Status)
	})
}

func TestRequest_DecisionsAfterTheDeadlineAreRefused(t *testing.T) {
	r := twoStage(t)
	deadline := *r.Stages[0].Deadline
	require.NoError(t, r.Check(approval.ActionApprove, "bob", "", deadline.Add(-time.Second)))
	err := r.Check(approval.ActionApprove, "bob", "", deadline)
	var ref *approval.Refusal
	require.ErrorAs(t, err, &ref)
	assert.Equal(t, approval.CodeDeadlinePassed, ref.Code)
	_, err = r.Apply(approval.Act{Action: approval.ActionReject, User: "bob", Text: "late"}, deadline.Add(time.Minute))
	require.ErrorAs(t, err, &ref)
	assert.Equal(t, approval.CodeDeadlinePassed, ref.Code)
	require.NoError(t, r.Check(approval.ActionComment, "bob", "still reading", deadline.Add(time.Minute)),
		"comments are not decisions")
}

func TestRequest_RosterPending(t *testing.T) {
	plan := approval.Plan{Source: approval.PlanNone}
	r := approval.NewRequest(5, approval.Ref{}, approval.Ref{}, "alice", "", plan, t0)
	require.Equal(t, approval.StatusApproved, r.Status)
	ref := requireRefused(t, r, approval.ActionCancel, "erin", "", approval.CodeRosterPending)
	assert.False(t, ref.Forbidden(), "not a 403: it is a matter of time")
	requireRefused(t, r, approval.ActionComment, "erin", "hm", approval.CodeRosterPending)
	require.NoError(t, r.Check(approval.ActionCancel, "alice", "", t0), "the requester may always cancel")

	r.SetRoster(approval.Roster{OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}, t0)
	eff := apply(t, r, approval.ActionCancel, "erin", "not now")
	assert.True(t, eff.CancelRequested, "an org admin may cancel a request without stages")
}

func TestRequest_CancelBeforeLaunch(t *testing.T) {
	r := twoStage(t)
	approveAll(t, r)
	r.CancelBeforeLaunch(t0)
	assert.Equal(t, approval.StatusApproved, r.Status, "nothing to do without a cancellation")
	apply(t, r, approval.ActionCancel, "alice", "changed my mind")
	r.CancelBeforeLaunch(t0.Add(time.Hour))
	assert.Equal(t, approval.StatusCanceled, r.Status)
	require.NotNil(t, r.Finished)

	launched := twoStage(t)
	approveAll(t, launched)
	apply(t, launched, approval.ActionCancel, "alice", "")
	launched.MarkLaunched(approval.Job{Type: "job", ID: 3}, t0)
	launched.CancelBeforeLaunch(t0)
	assert.Equal(t, approval.StatusRunning, launched.Status, "a launched request ends with its job")
}

func TestRequest_RecordsHowEachActionArrived(t *testing.T) {
	r := twoStage(t)
	now := t0.Add(time.Minute)
	_, err := r.Apply(approval.Act{Action: approval.ActionApprove, User: "bob", Via: approval.Via{Channel: "portal"}}, now)
	require.NoError(t, err)
	_, err = r.Apply(approval.Act{Action: approval.ActionComment, User: "alice", Text: "thanks", Via: approval.Via{Channel: "api"}}, now)
	require.NoError(t, err)
	_, err = r.Apply(approval.Act{Action: approval.ActionReject, User: "carol", Text: "no",
		Via: approval.Via{Channel: "cli", Unverified: true}}, now)
	require.NoError(t, err)

	assert.Equal(t, approval.Via{Channel: "portal"}, r.Stages[0].Responses[0].Via)
	assert.Equal(t, approval.Via{Channel: "api"}, r.Comments[0].Via)
	assert.Equal(t, approval.Via{Channel: "cli", Unverified: true}, r.Stages[0].Responses[1].Via)
	assert.Equal(t, approval.Via{Channel: "cli", Unverified: true}, r.Denial.Via)

	b, err := json.Marshal(r.Stages[0].Responses[1])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"channel":"cli","unverified":true`)
}
