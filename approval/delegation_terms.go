package approval

import (
	"strings"
	"time"
)

// Bounds on the terms of a delegation.
const (
	// MaxDelegationSpan is the longest a delegation may last, and how far
	// from now it may end.
	MaxDelegationSpan = 366 * 24 * time.Hour
	// MaxDelegationReason bounds a delegation's reason, in bytes.
	MaxDelegationReason = 500
)

// CheckDelegationTerms judges the terms of a new delegation at now: from
// starts (now when nil) until ends, for reason. It answers the problems by
// field ("ends", "reason"), none when the terms hold. Who delegates to
// whom is the caller's to judge: it depends on who they are.
func CheckDelegationTerms(starts, ends *time.Time, reason string, now time.Time) map[string]string {
	problems := map[string]string{}
	from := now
	if starts != nil {
		from = *starts
	}
	switch {
	case ends == nil:
		problems["ends"] = "This field is required (RFC 3339, e.g. 2027-03-01T00:00:00Z)."
	case !ends.After(now):
		problems["ends"] = "Give a time in the future."
	case !ends.After(from):
		problems["ends"] = "Give a time after starts."
	case ends.Sub(from) > MaxDelegationSpan || ends.Sub(now) > MaxDelegationSpan:
		problems["ends"] = "A delegation lasts at most 366 days and ends within 366 days from now."
	}
	switch {
	case len(reason) > MaxDelegationReason:
		problems["reason"] = "Use at most 500 bytes."
	case strings.ContainsRune(reason, 0):
		problems["reason"] = "A reason cannot hold a NUL character."
	}
	return problems
}
