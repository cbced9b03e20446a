package approval

import (
	"fmt"
	"slices"
	"time"
)

// Refusals of extensions.
const (
	// CodeExtensionNotAllowed: the open stage allows no extension (its
	// max_extension is 0).
	CodeExtensionNotAllowed Code = "extension_not_allowed"
	// CodeExtensionExceeded: the extension would take the stage's
	// extensions past its max_extension.
	CodeExtensionExceeded Code = "extension_exceeded"
	// CodeInvalidDuration: an extension's duration is under MinExtension.
	CodeInvalidDuration Code = "invalid_duration"
)

// Bounds on extensions: each adds to the state every update answers with,
// so a stage takes at most MaxExtensions of at least MinExtension each.
const (
	MaxExtensions = 20
	MinExtension  = time.Second
)

// Extension is one extension of a stage's deadline: who moved it, by how
// much, why, and the deadline it set.
type Extension struct {
	User     string    `json:"user"`
	By       Duration  `json:"by"`
	Reason   string    `json:"reason"`
	Deadline time.Time `json:"deadline"`
	At       time.Time `json:"at"`
	Via
}

// checkExtend tells whether user may extend the open stage's deadline at
// now at all: the request waits for approval, the stage is open and its
// deadline not passed; user is an org admin, a superuser or an eligible
// approver of the stage, not the requester; and the stage allows an
// extension it has not used up.
func (r *Request) checkExtend(user string, now time.Time) error {
	st, err := r.stageOpenAt(now, "its deadline can no longer be extended")
	if err != nil {
		return err
	}
	if user == r.Requester {
		return refuse(CodeNotAllowed, "%s requested %d and cannot extend the deadline of their own request", user, r.ID)
	}
	if !r.isAdmin(user) && !slices.Contains(r.EligibleApprovers, user) {
		return refuse(CodeNotAllowed, "%s may not extend stage %d (%s) of request %d: only the organization's admins and the stage's approvers who have not decided may",
			user, r.CurrentStage+1, st.Name, r.ID)
	}
	return r.extensionRefusal(st)
}

// extensionRefusal tells whether the open stage st has an extension left
// to give, whoever asks.
func (r *Request) extensionRefusal(st *StageState) error {
	if st.MaxExtension <= 0 {
		return refuse(CodeExtensionNotAllowed, "stage %d (%s) of request %d allows no extension of its deadline", r.CurrentStage+1, st.Name, r.ID)
	}
	if st.Extended >= st.MaxExtension {
		return refuse(CodeExtensionExceeded, "stage %d (%s) of request %d was already extended by %s, the most its policy allows",
			r.CurrentStage+1, st.Name, r.ID, ShortDuration(st.Extended.Std()))
	}
	if len(st.Extensions) >= MaxExtensions {
		return refuse(CodeExtensionExceeded, "stage %d (%s) of request %d was already extended %d times, the most a stage may be",
			r.CurrentStage+1, st.Name, r.ID, MaxExtensions)
	}
	return nil
}

// ExtendableUntil is the open stage's deadline when the stage has an
// extension left to give, nil otherwise (no request pending, no stage
// open, or none left). Until then an org admin, a superuser or an
// eligible approver who is not the requester may extend it: the
// projection keeps this, so that what may be extended is known without
// the workflow's state.
func (r *Request) ExtendableUntil() *time.Time {
	st := r.Current()
	if r.Status != StatusPendingApproval || st == nil || st.Deadline == nil || r.extensionRefusal(st) != nil {
		return nil
	}
	until := *st.Deadline
	return &until
}

// checkExtendBy tells whether the open stage, which checkExtend allows
// extending, may be extended by by.
func (r *Request) checkExtendBy(by Duration) error {
	st := r.Current()
	if by < Duration(MinExtension) {
		return refuse(CodeInvalidDuration, "extend the deadline by at least %s, with a duration such as \"24h\"", ShortDuration(MinExtension))
	}
	if left := st.MaxExtension - st.Extended; by > left {
		return refuse(CodeExtensionExceeded, "stage %d (%s) of request %d may be extended by %s more at most, not by %s",
			r.CurrentStage+1, st.Name, r.ID, ShortDuration(left.Std()), ShortDuration(by.Std()))
	}
	return nil
}

// ExtensionLeft is how much more the open stage's deadline may be
// extended; 0 when no stage is open or it allows none.
func (r *Request) ExtensionLeft() Duration {
	st := r.Current()
	if st == nil || st.Extended >= st.MaxExtension {
		return 0
	}
	return st.MaxExtension - st.Extended
}

// extend moves the open stage's deadline by by (checked). Reminders go on
// at the stage's interval, on the schedule it opened with, until the new
// deadline. A warning already due at the new deadline is taken as given
// by the extension's own notice.
func (r *Request) extend(user string, by Duration, reason string, via Via, now time.Time) {
	st := r.Current()
	deadline := st.Deadline.Add(by.Std())
	st.Deadline = &deadline
	if iv := st.ReminderInterval.Std(); iv > 0 && st.NextReminder == nil && st.OpenedAt != nil {
		// The old deadline cut the reminders off: the next one is the
		// first of the schedule still to come.
		next := st.OpenedAt.Add(iv * time.Duration(st.RemindersSent+1))
		for !next.After(now) {
			next = next.Add(iv)
		}
		if next.Before(deadline) {
			st.NextReminder = timePtr(next)
		}
	}
	st.Extended += by
	st.Extensions = append(st.Extensions, Extension{User: user, By: by, Reason: reason, Deadline: deadline, At: now, Via: via})
	if st.WarnBefore > 0 && !now.Before(deadline.Add(-st.WarnBefore.Std())) {
		st.WarnedFor = timePtr(deadline)
	}
	r.touch(now)
}

// warnAt is when the open stage st warns that its deadline nears: its
// deadline less its WarnBefore, unless it has none or warned for this
// deadline already.
func (st *StageState) warnAt() (time.Time, bool) {
	if st.WarnBefore <= 0 || st.Deadline == nil || (st.WarnedFor != nil && st.WarnedFor.Equal(*st.Deadline)) {
		return time.Time{}, false
	}
	return st.Deadline.Add(-st.WarnBefore.Std()), true
}

// Warn applies the deadline warning at now: when the open stage's warning
// is due (a stage with WarnBefore, once per deadline, so again after an
// extension moved it), it returns who to warn, the requester and the
// approvers who have not decided, and records it as sent.
func (r *Request) Warn(now time.Time) (recipients []string, ok bool) {
	st := r.Current()
	if st == nil {
		return nil, false
	}
	at, due := st.warnAt()
	if !due || now.Before(at) || !now.Before(*st.Deadline) {
		return nil, false
	}
	st.WarnedFor = timePtr(*st.Deadline)
	st.Warnings = append(st.Warnings, now)
	r.touch(now)
	return append([]string{r.Requester}, r.EligibleApprovers...), true
}

// String says what an extension did, for its notice.
func (e Extension) String() string {
	return fmt.Sprintf("%s extended the deadline by %s to %s", e.User, ShortDuration(e.By.Std()), e.Deadline.UTC().Format(time.RFC3339))
}
