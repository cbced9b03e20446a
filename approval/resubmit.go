package approval

// Refusals of a resubmission (see CheckResubmit).
const (
	// CodeResubmitUnknown: no such request, or not one of the caller's:
	// both are answered alike, so that nobody learns of requests they
	// may not resubmit.
	CodeResubmitUnknown Code = "resubmit_unknown"
	// CodeResubmitOtherItem: the request was for another catalog item.
	CodeResubmitOtherItem Code = "resubmit_other_item"
	// CodeNotResubmittable: the request did not end changes_requested.
	CodeNotResubmittable Code = "not_resubmittable"
	// CodeAlreadyResubmitted: the request was resubmitted before; a
	// request is resubmitted at most once.
	CodeAlreadyResubmitted Code = "already_resubmitted"
)

// Resubmitted is a request a submission names in "resubmits", as the
// rules judge it: who requested it, for which catalog item, how it ended
// and how many requests already resubmit it.
type Resubmitted struct {
	ID          int64
	RequesterID int64
	CatalogItem int64
	Status      Status
	Children    int
}

// CheckResubmit tells whether user (by id) may submit a request for
// catalog item item that resubmits r; found is false when there is no
// such request. Only a request's requester may resubmit it, only for the
// same catalog item, only once it ended changes_requested, and only once.
// It returns nil or a *Refusal; a request that is missing or someone
// else's is refused alike (CodeResubmitUnknown).
func CheckResubmit(user, item int64, r Resubmitted, found bool) error {
	switch {
	case !found || r.RequesterID != user:
		return refuse(CodeResubmitUnknown, "there is no request %d of yours to resubmit", r.ID)
	case r.CatalogItem != item:
		return refuse(CodeResubmitOtherItem, "request %d was for another catalog item; resubmit it with the same item", r.ID)
	case r.Status != StatusChangesRequested:
		return refuse(CodeNotResubmittable, "request %d is %s; only a request that ended %s can be resubmitted",
			r.ID, r.Status, StatusChangesRequested)
	case r.Children > 0:
		return refuse(CodeAlreadyResubmitted, "request %d was already resubmitted; a request is resubmitted at most once", r.ID)
	}
	return nil
}

// ResubmitInput reports whether code refuses what a resubmission names
// rather than the state of the request it names.
func ResubmitInput(code Code) bool {
	return code == CodeResubmitUnknown || code == CodeResubmitOtherItem
}
