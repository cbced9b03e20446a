package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
)

// waitStage waits until the open stage closes: by decisions (the handlers
// change the state), by expiry, or by cancellation. One timer at a time
// stands for the next reminder or the deadline; it is kept across decisions
// and canceled when the stage closes, so no stray timer outlives its use.
// Re-resolving the approvers after a refresh_approvers signal happens
// alongside, so the deadline holds even while PostgreSQL is slow.
func (s *requestRun) waitStage() {
	var (
		timer, refresh             workflow.Future
		cancelTimer, cancelRefresh workflow.CancelFunc
		timerAt                    time.Time
	)
	defer func() {
		for _, cancel := range []workflow.CancelFunc{cancelTimer, cancelRefresh} {
			if cancel != nil {
				cancel()
			}
		}
	}()
	stage := s.req.CurrentStage
	for s.req.Current() != nil {
		s.sync()
		wake, _ := s.req.NextWake()
		if timer == nil || !wake.Equal(timerAt) {
			if cancelTimer != nil {
				cancelTimer()
			}
			var tctx workflow.Context
			tctx, cancelTimer = workflow.WithCancel(s.ctx)
			timer = workflow.NewTimerWithOptions(tctx, wake.Sub(workflow.Now(s.ctx)), workflow.TimerOptions{Summary: s.timerSummary(wake)})
			timerAt = wake
		}
		if refresh == nil && s.rosterWanted > s.rosterAsked {
			var rctx workflow.Context
			rctx, cancelRefresh = workflow.WithCancel(s.ctx)
			refresh = s.startRoster(rctx, s.req.Stages[stage].ApproverTeam, fmt.Sprintf("approvers of stage %d (%s), again", stage+1, s.req.Stages[stage].Name))
		}
		seen := s.version
		s.await(func() bool {
			return timer.IsReady() || s.version != seen || (refresh != nil && refresh.IsReady()) ||
				(refresh == nil && s.rosterWanted > s.rosterAsked)
		})
		if s.req.Current() == nil {
			return
		}
		if refresh != nil && refresh.IsReady() {
			var roster approval.Roster
			if err := refresh.Get(s.ctx, &roster); err == nil {
				s.req.SetRoster(roster, workflow.Now(s.ctx))
				s.changed()
			}
			refresh, cancelRefresh = nil, nil
		}
		if timer.IsReady() {
			fired := timer.Get(s.ctx, nil) == nil
			timer, cancelTimer = nil, nil
			if fired {
				s.tick()
			}
		}
	}
}

// timerSummary names what a stage timer waits for, for the Web UI.
func (s *requestRun) timerSummary(wake time.Time) string {
	st := s.req.Current()
	what := "deadline"
	if st.NextReminder != nil && wake.Equal(*st.NextReminder) {
		what = "next reminder"
	}
	return fmt.Sprintf("stage %d (%s): %s", s.req.CurrentStage+1, st.Name, what)
}

// tick applies the timed rules: a reminder to the approvers who have not
// decided, or expiry at the deadline.
func (s *requestRun) tick() {
	stage := s.req.CurrentStage
	sent := s.req.Stages[stage].RemindersSent
	remind, expired := s.req.Tick(workflow.Now(s.ctx))
	switch {
	case expired:
		s.changed()
		s.notify(notify.KindExpired, []string{s.req.Requester}, stage, 0)
	case s.req.Stages[stage].RemindersSent != sent:
		s.reminded()
		s.notify(notify.KindReminder, remind, stage, s.req.Stages[stage].RemindersSent)
	}
}

// startRoster starts resolving who may act: the members of team (nil: none),
// the org admins and the superusers.
func (s *requestRun) startRoster(ctx workflow.Context, team *approval.Ref, summary string) workflow.Future {
	s.rosterAsked = s.rosterWanted
	var teamID *int64
	if team != nil {
		id := team.ID
		teamID = &id
	}
	opts := storeActivityOptions
	opts.Summary = summary
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.ResolveRoster,
		activities.RosterInput{OrganizationID: s.in.Organization.ID, TeamID: teamID})
}

// resolveRoster resolves who may act and waits for the answer. It is false
// when the request was canceled meanwhile; the activity retries until
// PostgreSQL answers, so any other failure fails the request.
func (s *requestRun) resolveRoster(team *approval.Ref, summary string) (approval.Roster, bool) {
	fut := s.startRoster(s.ctx, team, summary)
	s.await(fut.IsReady)
	var roster approval.Roster
	if s.canceled {
		return roster, false
	}
	if err := fut.Get(s.ctx, &roster); err != nil {
		s.req.Fail("could not resolve who may decide: "+failureMessage(err), workflow.Now(s.ctx))
		s.changed()
		return roster, false
	}
	return roster, true
}
