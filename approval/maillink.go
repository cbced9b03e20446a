package approval

import (
	"fmt"
	"time"
)

// Refusals of decision links in mails.
const (
	// CodeLinkInvalid: the link is not one Countersign signed (tampered,
	// truncated, or signed with another key).
	CodeLinkInvalid Code = "link_invalid"
	// CodeLinkExpired: the link's stage deadline passed (as mailed, or as
	// extended since while the stage is open).
	CodeLinkExpired Code = "link_expired"
	// CodeLinkUsed: the link already confirmed a decision.
	CodeLinkUsed Code = "link_used"
	// CodeLinkForwarded: the browser is signed in as someone other than
	// the user the link was sent to.
	CodeLinkForwarded Code = "link_forwarded"
)

// MailLink is what a signed decision link in a mail grants: User may take
// Action on stage Stage (its position) of request RequestID, once (ID),
// until Expires (the stage's deadline when the mail was sent).
type MailLink struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	RequestID int64     `json:"request"`
	Stage     int       `json:"stage"`
	Action    Action    `json:"action"`
	Expires   time.Time `json:"expires"`
}

// LinkStage is what a mail link is checked against: the request's status,
// the position of its open stage (nil: none), that stage's deadline as it
// stands and how much it was extended in all (nil and 0 when not known).
type LinkStage struct {
	Status   Status
	Open     *int
	Deadline *time.Time
	Extended Duration
}

// Expiry is when link stops working: the deadline it was mailed with or,
// while its stage is open and was extended since, the stage's deadline
// now. A link mailed with a deadline the stage had (its first, or one
// extended) is one of the stage's; one expiring before the stage's first
// deadline keeps its own expiry.
func (at LinkStage) Expiry(link MailLink) time.Time {
	if at.Status != StatusPendingApproval || at.Open == nil || *at.Open != link.Stage || at.Deadline == nil {
		return link.Expires
	}
	// Links carry their expiry to the second.
	first := at.Deadline.Add(-at.Extended.Std()).Truncate(time.Second)
	if at.Deadline.After(link.Expires) && !link.Expires.Before(first) {
		return *at.Deadline
	}
	return link.Expires
}

// CheckMailLink tells whether link, whose signature was verified, may be
// used at now by a browser signed in as sessionUser ("" when not signed
// in) on a request whose stages stand as at says: not expired (an
// extension of its stage extends it), not forwarded, and its stage still
// the open one. The rules of the decision itself (eligibility, a recent
// sign-in, ...) are the workflow's, and run when it is confirmed. Whether
// the link was used is the store's to say.
func CheckMailLink(link MailLink, now time.Time, sessionUser string, at LinkStage) error {
	if link.Action != ActionApprove && link.Action != ActionReject {
		return refuse(CodeLinkInvalid, "this link does not name a decision")
	}
	if sessionUser != "" && sessionUser != link.User {
		return refuse(CodeLinkForwarded, "this link was sent to %s; you are signed in as %s. Sign out first, or decide from the portal", link.User, sessionUser)
	}
	if expires := at.Expiry(link); !now.Before(expires) {
		return refuse(CodeLinkExpired, "this link expired at %s, the deadline of the stage it was sent for", expires.UTC().Format(time.RFC3339))
	}
	if at.Status != StatusPendingApproval {
		return refuse(CodeFinished, "request %d is %s; it no longer waits for a decision", link.RequestID, at.Status)
	}
	if at.Open == nil || *at.Open != link.Stage {
		return refuse(CodeStageNotOpen, "stage %d of request %d, which this link was sent for, is no longer open", link.Stage+1, link.RequestID)
	}
	return nil
}

// LinkUsed is the refusal of a link that already confirmed a decision.
func LinkUsed(link MailLink) *Refusal {
	return refuse(CodeLinkUsed, "this link was already used to decide request %d; each link works once", link.RequestID)
}

// LinkInvalid is the refusal of a link whose signature does not hold.
func LinkInvalid() *Refusal {
	return refuse(CodeLinkInvalid, "this link is not valid: it was changed or cut short. Open the request in the portal instead")
}

// String names the link for logs, without its id.
func (l MailLink) String() string {
	return fmt.Sprintf("%s %d/%d for %s", l.Action, l.RequestID, l.Stage, l.User)
}
