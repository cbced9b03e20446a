package workflows

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
)

// The README's worst case counts a reminder's publication at about 10 KB
// plus 150 bytes per recipient: a request at every text bound (20 stages
// with 512-byte names and teams and 2,000-byte denial messages, 512-byte
// item and organization names, a 2,000-byte justification, 50 comments of
// 2,000 bytes), reminding on its last stage.
func TestNotificationView_SizeAtTheBounds(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	var stages []approval.Stage
	for i := range 20 {
		stages = append(stages, approval.Stage{Name: long("n", 512), Order: i, ApproverTeam: &approval.Ref{ID: 1 << 40, Name: long("t", 512)},
			MinApprovers: 100, DenialMessage: long("d", 2000), Timeout: approval.Duration(720 * time.Hour), ReminderInterval: approval.Duration(24 * time.Hour)})
	}
	r := approval.NewRequest(1<<40, approval.Ref{ID: 1 << 40, Name: long("o", 512)}, approval.Ref{ID: 1 << 40, Name: long("i", 512)},
		long("r", approval.MaxUserLength), long("j", 2000), approval.Plan{Source: approval.PlanFromPolicy, PolicyName: long("p", 512), Stages: stages}, now)
	for range approval.MaxComments {
		r.Comments = append(r.Comments, approval.Comment{User: long("u", approval.MaxUserLength), Text: long("c", approval.MaxTextLength), At: now})
	}
	r.OpenStage(19, approval.Roster{}, now)
	r.Stages[19].RemindersSent = approval.MaxRemindersPerStage
	events := []activities.Event{{Kind: notify.KindReminder, Stage: 19, Seq: approval.MaxRemindersPerStage}}

	size := func(in activities.PublishInput) int {
		b, err := json.Marshal(in)
		require.NoError(t, err)
		return len(b)
	}
	full := size(activities.PublishInput{Seq: 1 << 40, Request: *r, Events: events})
	view := size(activities.PublishInput{Seq: 1 << 40, Request: notificationView(r, events), Events: events, NotifyOnly: true})
	events[0].Recipients = []string{long("u", approval.MaxUserLength)}
	perRecipient := size(activities.PublishInput{Seq: 1 << 40, Request: notificationView(r, events), Events: events, NotifyOnly: true}) - view
	t.Logf("publication: whole request %d bytes, notification view %d bytes + %d per recipient", full, view, perRecipient)
	assert.Greater(t, full, 170_000)
	assert.Less(t, view, 10_500)
	assert.LessOrEqual(t, perRecipient, 155)
}
