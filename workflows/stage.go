package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
)

// waitStage waits until the open stage closes: by decisions (the handlers
// change the state), by expiry, or by cancellation. Its loop is the rules:
// the stage's timer stands for the next wake time (a reminder or the
// deadline), refresh_approvers signals re-resolve who may decide, and a
// timer that fires applies the timed rules. When the roster carries the
// next time a delegation starts or ends, a second timer wakes the stage
// then and re-resolves the roster as a signal would (rosters without
// delegations carry none, so requests recorded before delegations replay
// unchanged). Re-resolving happens
// alongside the wait, so the deadline holds even while PostgreSQL is slow;
// whatever is still running when the stage closes is canceled.
func (s *requestRun) waitStage() {
	timer := &stageTimer{s: s}
	delegations := &delegationTimer{s: s}
	refresh := &rosterRefresh{s: s, stage: s.req.CurrentStage}
	// The timer is canceled before the refresh, and set before a refresh
	// starts, as the recorded histories have it: the order of commands is
	// part of the workflow.
	defer func() {
		timer.stop()
		delegations.stop()
		refresh.stop()
	}()
	for s.req.Current() != nil {
		s.sync()
		wake, _ := s.req.NextWake()
		timer.set(wake)
		delegations.set()
		refresh.startIfAsked()
		seen := s.version
		s.await(func() bool { return timer.ready() || delegations.ready() || s.version != seen || refresh.ready() })
		if s.req.Current() == nil {
			return
		}
		if refresh.adopt() {
			delegations.rosterResolved()
		}
		if delegations.fired() {
			s.rosterWanted++ // resolved again when the loop comes round
		}
		if timer.fired() {
			s.tick()
		}
	}
}

// minDelegationWake is the least a delegation timer waits: a roster read
// a moment before a delegation ended (the database's clock and the
// workflow's differ a little) names that end again, and must not make the
// stage spin.
const minDelegationWake = time.Second

// delegationTimer wakes an open stage when the roster's delegations next
// start or end (approval.Request.NextDelegationChange). It is set only
// when the roster names such a time, once per time named.
type delegationTimer struct {
	s      *requestRun
	fut    workflow.Future
	cancel workflow.CancelFunc
	at     time.Time
	// done is the last time it woke for; the same time named again by the
	// roster of before (not resolved anew yet) sets no timer. A roster
	// resolved since clears it (rosterResolved).
	done time.Time
}

// set makes the timer fire at the roster's next delegation change,
// replacing one set for another time; without one it stops the timer.
func (t *delegationTimer) set() {
	at, ok := t.s.req.NextDelegationChange()
	if !ok || at.Equal(t.done) {
		t.stop()
		return
	}
	if t.fut != nil && at.Equal(t.at) {
		return
	}
	t.stop()
	ctx, cancel := workflow.WithCancel(t.s.ctx)
	wait := max(at.Sub(workflow.Now(t.s.ctx)), minDelegationWake)
	t.fut = workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{
		Summary: fmt.Sprintf("stage %d: a delegation starts or ends", t.s.req.CurrentStage+1)})
	t.cancel, t.at = cancel, at
}

// delegationTimerRearm is the change that sets the timer again for the
// time it fired for, named by a roster resolved since. Requests recorded
// before it never did; replaying them still does not.
const delegationTimerRearm = "delegation-timer-rearm"

// rosterResolved is told that a roster resolved since the timer fired was
// adopted. It may still name the time the timer fired for (the database's
// clock a little behind the workflow's): the timer is then set for it
// again, at least minDelegationWake on. The version is asked only then,
// so that other requests' histories carry no marker.
func (t *delegationTimer) rosterResolved() {
	at, ok := t.s.req.NextDelegationChange()
	if t.done.IsZero() || !ok || !at.Equal(t.done) {
		return
	}
	if workflow.GetVersion(t.s.ctx, delegationTimerRearm, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	t.done = time.Time{}
}

// ready reports whether the timer has fired or was canceled.
func (t *delegationTimer) ready() bool { return t.fut != nil && t.fut.IsReady() }

// fired reports whether the timer went off, and spends a ready timer.
func (t *delegationTimer) fired() bool {
	if !t.ready() {
		return false
	}
	fired := t.fut.Get(t.s.ctx, nil) == nil
	if fired {
		t.done = t.at
	}
	t.fut, t.cancel = nil, nil
	return fired
}

// stop cancels the timer unless it is spent.
func (t *delegationTimer) stop() {
	if t.cancel != nil {
		t.cancel()
	}
	t.fut, t.cancel = nil, nil
}

// stageTimer is the one timer of an open stage: it is kept across
// decisions, replaced when the wake time changes, and canceled when the
// stage closes, so no stray timer outlives its use.
type stageTimer struct {
	s      *requestRun
	fut    workflow.Future
	cancel workflow.CancelFunc
	at     time.Time
}

// set makes the timer fire at wake, replacing one set for another time.
func (t *stageTimer) set(wake time.Time) {
	if t.fut != nil && wake.Equal(t.at) {
		return
	}
	if t.cancel != nil {
		t.cancel()
	}
	ctx, cancel := workflow.WithCancel(t.s.ctx)
	t.fut = workflow.NewTimerWithOptions(ctx, wake.Sub(workflow.Now(t.s.ctx)), workflow.TimerOptions{Summary: t.s.timerSummary(wake)})
	t.cancel, t.at = cancel, wake
}

// ready reports whether the timer has fired or was canceled.
func (t *stageTimer) ready() bool { return t.fut != nil && t.fut.IsReady() }

// fired reports whether the timer went off (rather than being canceled).
// Either way a ready timer is spent: the next set starts a new one.
func (t *stageTimer) fired() bool {
	if !t.ready() {
		return false
	}
	fired := t.fut.Get(t.s.ctx, nil) == nil
	t.fut, t.cancel = nil, nil
	return fired
}

// stop cancels the timer unless it is spent.
func (t *stageTimer) stop() {
	if t.cancel != nil {
		t.cancel()
	}
}

// rosterRefresh re-resolves who may decide on the open stage after
// refresh_approvers signals: one resolution at a time, started when
// signals arrived since the last one started, adopted when it answers.
type rosterRefresh struct {
	s      *requestRun
	stage  int
	fut    workflow.Future
	cancel workflow.CancelFunc
	// teams are the escalation teams the running resolution reads.
	teams []int64
}

// asked reports whether signals arrived since the last resolution started.
func (r *rosterRefresh) asked() bool { return r.s.rosterWanted > r.s.rosterAsked }

// startIfAsked starts a resolution when signals asked for one and none runs.
func (r *rosterRefresh) startIfAsked() {
	if r.fut != nil || !r.asked() {
		return
	}
	st := r.s.req.Stages[r.stage]
	var ctx workflow.Context
	ctx, r.cancel = workflow.WithCancel(r.s.ctx)
	r.teams = st.EscalationTeams()
	r.fut = r.s.startRoster(ctx, st.ApproverTeam, r.teams, fmt.Sprintf("approvers of stage %d (%s), again", r.stage+1, st.Name))
}

// ready reports whether the refresh needs the loop: a resolution answered,
// or signals asked for one while none runs.
func (r *rosterRefresh) ready() bool {
	if r.fut == nil {
		return r.asked()
	}
	return r.fut.IsReady()
}

// adopt applies the roster of a resolution that answered, and says so;
// one that failed (canceled with the workflow) changes nothing, and one
// that read other escalation teams than the stage has now (it escalated
// meanwhile) is asked again.
func (r *rosterRefresh) adopt() (adopted bool) {
	if r.fut == nil || !r.fut.IsReady() {
		return false
	}
	var roster approval.Roster
	if !slices.Equal(r.teams, r.s.req.Stages[r.stage].EscalationTeams()) {
		r.s.rosterWanted++
	} else if err := r.fut.Get(r.s.ctx, &roster); err == nil {
		r.s.req.SetRoster(roster, workflow.Now(r.s.ctx))
		r.s.changed()
		adopted = true
	}
	r.fut, r.cancel = nil, nil
	return adopted
}

// stop cancels a resolution still running.
func (r *rosterRefresh) stop() {
	if r.cancel != nil {
		r.cancel()
	}
}

// timerSummary names what a stage timer waits for, for the Web UI.
func (s *requestRun) timerSummary(wake time.Time) string {
	st := s.req.Current()
	what := "deadline"
	if _, team, ok := s.req.DueEscalation(wake); ok {
		what = "escalation to team " + team.Name
	} else if st.NextReminder != nil && wake.Equal(*st.NextReminder) {
		what = "next reminder"
	} else if st.WarnBefore > 0 && wake.Before(*st.Deadline) {
		what = "deadline warning"
	}
	return fmt.Sprintf("stage %d (%s): %s", s.req.CurrentStage+1, st.Name, what)
}

// tick applies the timed rules: the stage's escalation step that is due
// (stages with escalations only), the deadline warning to the requester and
// the approvers who have not decided (stages with warn_before only), a
// reminder to those approvers, or expiry at the deadline.
func (s *requestRun) tick() {
	stage := s.req.CurrentStage
	if step, team, ok := s.req.DueEscalation(workflow.Now(s.ctx)); ok {
		s.escalateStep(step, team)
		if s.req.Current() == nil || s.req.CurrentStage != stage {
			return
		}
	}
	if warn, ok := s.req.Warn(workflow.Now(s.ctx)); ok {
		s.reminded()
		s.notify(notify.KindDeadlineWarning, warn, stage, len(s.req.Stages[stage].Extensions))
	}
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

// escalateStep takes the open stage's escalation step step, to team: who
// may act is resolved with the team's members, who are then asked for
// their decision. A stage that closed meanwhile is left alone.
func (s *requestRun) escalateStep(step int, team approval.Ref) {
	stage := s.req.CurrentStage
	st := s.req.Current()
	teams := st.EscalationTeams()
	fut := s.startRoster(s.ctx, st.ApproverTeam, append(slices.Clone(teams), team.ID),
		fmt.Sprintf("approvers of stage %d (%s) escalated to team %s", stage+1, st.Name, team.Name))
	s.await(fut.IsReady)
	var roster approval.Roster
	// A stage escalated on demand meanwhile takes the step at the next
	// wake, which is due at once, with a roster that knows both teams.
	if s.canceled || fut.Get(s.ctx, &roster) != nil || s.req.Current() == nil || s.req.CurrentStage != stage ||
		!slices.Equal(s.req.Current().EscalationTeams(), teams) {
		return
	}
	now := workflow.Now(s.ctx)
	newly := s.req.Escalate(approval.StageEscalation{ApproverTeam: team, Step: &step, At: now}, roster, now)
	s.changed()
	s.notify(notify.KindPending, newly, stage, len(s.req.Stages[stage].Escalated))
}

// startRoster starts resolving who may act: the members of team (nil: none)
// and of the escalation teams, the org admins and the superusers.
func (s *requestRun) startRoster(ctx workflow.Context, team *approval.Ref, escalations []int64, summary string) workflow.Future {
	s.rosterAsked = s.rosterWanted
	var teamID *int64
	if team != nil {
		id := team.ID
		teamID = &id
	}
	opts := storeActivityOptions
	opts.Summary = summary
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.ResolveRoster,
		activities.RosterInput{OrganizationID: s.in.Organization.ID, TeamID: teamID, EscalationTeams: escalations})
}

// resolveRoster resolves who may act and waits for the answer. It is false
// when the request was canceled meanwhile; the activity retries until
// PostgreSQL answers, so any other failure fails the request.
func (s *requestRun) resolveRoster(team *approval.Ref, summary string) (approval.Roster, bool) {
	fut := s.startRoster(s.ctx, team, nil, summary)
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
