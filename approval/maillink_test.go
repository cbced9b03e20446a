package approval_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

func TestCheckMailLink(t *testing.T) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	link := approval.MailLink{ID: "l1", User: "bob", RequestID: 7, Stage: 1, Action: approval.ActionApprove, Expires: now.Add(time.Hour)}
	one, zero := 1, 0
	extended, passed := now.Add(2*time.Hour), now.Add(-time.Second)
	extendedNanos := extended.Add(400 * time.Millisecond)
	for _, tc := range []struct {
		name    string
		mutate  func(*approval.MailLink)
		session string
		status  approval.Status
		stage   *int
		want    approval.Code // "" for none
		// deadline is the open stage's deadline now (nil: not known), by
		// extended in all.
		deadline *time.Time
		extended time.Duration
	}{
		{"not signed in", nil, "", approval.StatusPendingApproval, &one, "", nil, 0},
		{"signed in as the link's user", nil, "bob", approval.StatusPendingApproval, &one, "", nil, 0},
		{"reject", func(l *approval.MailLink) { l.Action = approval.ActionReject }, "", approval.StatusPendingApproval, &one, "", nil, 0},
		{"another action", func(l *approval.MailLink) { l.Action = approval.ActionCancel }, "", approval.StatusPendingApproval, &one, approval.CodeLinkInvalid, nil, 0},
		{"forwarded", nil, "mallory", approval.StatusPendingApproval, &one, approval.CodeLinkForwarded, nil, 0},
		{"forwarded and expired: forwarded first", func(l *approval.MailLink) { l.Expires = now }, "mallory", approval.StatusPendingApproval, &one, approval.CodeLinkForwarded, nil, 0},
		{"expired at the deadline", func(l *approval.MailLink) { l.Expires = now }, "", approval.StatusPendingApproval, &one, approval.CodeLinkExpired, nil, 0},
		{"expired", func(l *approval.MailLink) { l.Expires = now.Add(-time.Second) }, "bob", approval.StatusPendingApproval, &one, approval.CodeLinkExpired, nil, 0},
		{"request decided", nil, "", approval.StatusRejected, nil, approval.CodeFinished, nil, 0},
		{"another stage open", nil, "", approval.StatusPendingApproval, &zero, approval.CodeStageNotOpen, nil, 0},
		{"no stage open", nil, "", approval.StatusPendingApproval, nil, approval.CodeStageNotOpen, nil, 0},
		{"past the mailed deadline, but the stage was extended", func(l *approval.MailLink) { l.Expires = now.Add(-time.Second) },
			"bob", approval.StatusPendingApproval, &one, "", &extended, 3 * time.Hour},
		{"mailed after a first extension, extended again", func(l *approval.MailLink) { l.Expires = now.Add(-time.Second) },
			"bob", approval.StatusPendingApproval, &one, "", &extended, 4 * time.Hour},
		{"past the extended deadline too", func(l *approval.MailLink) { l.Expires = now.Add(-time.Hour) },
			"", approval.StatusPendingApproval, &one, approval.CodeLinkExpired, &passed, 2 * time.Hour},
		{"expiring before the stage's first deadline: not one of the stage's", func(l *approval.MailLink) { l.Expires = now.Add(-time.Second) },
			"", approval.StatusPendingApproval, &one, approval.CodeLinkExpired, &extended, time.Hour},
		{"mailed with the first deadline to the second", func(l *approval.MailLink) { l.Expires = now.Add(-time.Hour) },
			"bob", approval.StatusPendingApproval, &one, "", &extendedNanos, 3*time.Hour - 300*time.Millisecond},
		{"not extended", func(l *approval.MailLink) { l.Expires = now.Add(-time.Second) },
			"", approval.StatusPendingApproval, &one, approval.CodeLinkExpired, &extended, 0},
		{"another stage's later deadline does not extend it", func(l *approval.MailLink) { l.Expires = now.Add(-time.Second) },
			"", approval.StatusPendingApproval, &zero, approval.CodeLinkExpired, &extended, 3 * time.Hour},
		{"a deadline brought forward does not shorten it", nil, "", approval.StatusPendingApproval, &one, "", &passed, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := link
			if tc.mutate != nil {
				tc.mutate(&l)
			}
			err := approval.CheckMailLink(l, now, tc.session, approval.LinkStage{Status: tc.status, Open: tc.stage, Deadline: tc.deadline, Extended: approval.Duration(tc.extended)})
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			var ref *approval.Refusal
			if assert.ErrorAs(t, err, &ref) {
				assert.Equal(t, tc.want, ref.Code)
				assert.NotContains(t, ref.Message, l.ID, "the link's id is never shown")
			}
		})
	}
}

// An act meant for a stage is refused unless that stage is the open one.
func TestRequest_CheckAct_Stage(t *testing.T) {
	r := escalating(t) // stage 0 open, dave may approve
	at := t0.Add(time.Hour)
	zero, one := 0, 1
	for _, tc := range []struct {
		name  string
		stage *int
		want  approval.Code // "" for none
	}{
		{"no stage named", nil, ""},
		{"the open stage", &zero, ""},
		{"another stage", &one, approval.CodeStageNotOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.CheckAct(approval.Act{Action: approval.ActionApprove, User: "dave", Stage: tc.stage}, at)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.Equal(t, tc.want, refusalCode(t, err))
		})
	}
	t.Run("a finished request is refused for that first", func(t *testing.T) {
		done := escalating(t)
		_, err := done.Apply(approval.Act{Action: approval.ActionReject, User: "dave", Text: "no"}, at)
		require.NoError(t, err)
		assert.Equal(t, approval.CodeFinished, refusalCode(t, done.CheckAct(approval.Act{Action: approval.ActionApprove, User: "dave", Stage: &zero}, at)))
	})
}
