package access

import "slices"

// Capabilities is what the caller may do to an object they see, as AWX
// shows it in summary_fields.user_capabilities: each is true exactly when
// Check lets the change through, so a client offers only the actions the
// API accepts. Whether the object's state then allows the change (a team
// still approving items, an organization that still has some) is the
// store's to say when it is tried.
type Capabilities struct {
	Edit   bool `json:"edit"`
	Delete bool `json:"delete"`
}

// ItemCapabilities are a catalog item's: Capabilities, and whether the
// caller may submit a request for it.
type ItemCapabilities struct {
	Capabilities
	Submit bool `json:"submit"`
}

// DeleteCapabilities are those of an object that can only be deleted
// (revoked), such as a session.
type DeleteCapabilities struct {
	Delete bool `json:"delete"`
}

// DeleteCapabilitiesOf is whether p may delete o.
func DeleteCapabilitiesOf(p Principal, o Object) DeleteCapabilities {
	return DeleteCapabilities{Delete: Can(p, Delete, o)}
}

// CapabilitiesOf is what p may do to o: edit (Update) and Delete.
func CapabilitiesOf(p Principal, o Object) Capabilities {
	return Capabilities{Edit: Can(p, Update, o), Delete: Can(p, Delete, o)}
}

// ItemCapabilitiesOf is what p may do to the catalog item o.
func ItemCapabilitiesOf(p Principal, o Object) ItemCapabilities {
	return ItemCapabilities{Capabilities: CapabilitiesOf(p, o), Submit: Can(p, Submit, o)}
}

// Scope is the part of a list that a caller sees. A nil slice means no
// restriction; an empty one, nothing.
type Scope struct {
	// Organizations are those whose objects are visible; for users, those
	// whose members are.
	Organizations []int64
	// DisabledIn are, for catalog items, the organizations whose disabled
	// items are visible too.
	DisabledIn []int64
	// Self is, for users, the caller, who always sees themselves (0 with no
	// restriction).
	Self int64
}

// ListScope is what p sees of a list of resource r, the same objects
// Check lets them view one by one: superusers everything; others the
// organizations, teams and enabled items of the organizations they belong
// to, and the disabled items, policies and users of those they administer
// (users: themselves too).
func ListScope(p Principal, r Resource) Scope {
	if p.IsSuperuser {
		return Scope{}
	}
	member := ids(p.MemberOf, p.AdminOf)
	admin := ids(p.AdminOf)
	switch r {
	case Organization, Team:
		return Scope{Organizations: member}
	case CatalogItem:
		return Scope{Organizations: member, DisabledIn: admin}
	case Policy:
		return Scope{Organizations: admin}
	case User:
		return Scope{Organizations: admin, Self: p.UserID}
	}
	return Scope{Organizations: []int64{}}
}

// ids is the sorted union of lists, never nil: no organizations must not
// read as no restriction.
func ids(lists ...[]int64) []int64 {
	out := []int64{}
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Within narrows the scope's organizations to org, as a filter on a list
// does: org if visible, else nothing.
func (s Scope) Within(org int64) Scope {
	s.Organizations = within(s.Organizations, org)
	return s
}

func within(orgs []int64, org int64) []int64 {
	if orgs == nil {
		return []int64{org}
	}
	for _, o := range orgs {
		if o == org {
			return []int64{org}
		}
	}
	return []int64{}
}

// CanPlace reports whether p may add a user who belongs to organizations
// userOrgs to a membership (admins, members, a team) of organization org:
// superusers anyone; others the members of org itself or, when
// fromTheirOrgs, of any organization they administer. Whoever else the
// caller names must read as nonexistent, so that ids cannot be probed.
func CanPlace(p Principal, userOrgs []int64, org int64, fromTheirOrgs bool) bool {
	if p.IsSuperuser || slices.Contains(userOrgs, org) {
		return true
	}
	if fromTheirOrgs {
		for _, o := range userOrgs {
			if p.Admin(o) {
				return true
			}
		}
	}
	return false
}
