// Package access decides who may do what to which object (SPEC 1 and 5),
// in one place: handlers describe the caller (a Principal) and the object,
// and ask Check. An object the caller may not even see is ErrHidden (the API
// answers 404, never revealing that it exists); one they see but may not
// act on is ErrForbidden (403); an act on one's own account that nobody may
// do is ErrSelf (409). What the caller may do to an object they see is also
// shown to them (Capabilities, from the same rules), and which objects a
// list shows them is ListScope's answer.
package access

import (
	"errors"
	"slices"
)

// Errors Check returns.
var (
	ErrHidden    = errors.New("not found")
	ErrForbidden = errors.New("you do not have permission to perform this action")
	// ErrSelf refuses what nobody may do to their own account, superusers
	// included: deleting it, demoting or deactivating it (nobody locks
	// themselves out, and someone must be left to decide and to audit).
	ErrSelf = errors.New("nobody may do this to their own account")
)

// Principal is an authenticated user and their roles.
type Principal struct {
	UserID      int64
	Username    string
	IsSuperuser bool
	// AdminOf are the organizations the user administers.
	AdminOf []int64
	// MemberOf are the organizations the user belongs to through a team or
	// as an admin.
	MemberOf []int64
	// Teams are the teams the user is a member of.
	Teams []int64
}

// Admin reports whether the user administers organization org (superusers
// administer all).
func (p Principal) Admin(org int64) bool {
	return p.IsSuperuser || slices.Contains(p.AdminOf, org)
}

// Member reports whether the user belongs to organization org (superusers
// belong everywhere).
func (p Principal) Member(org int64) bool {
	return p.IsSuperuser || slices.Contains(p.MemberOf, org) || slices.Contains(p.AdminOf, org)
}

// Resource names a kind of object.
type Resource string

// Resources.
const (
	Organization Resource = "organization"
	User         Resource = "user"
	Token        Resource = "token"
	DecisionKey  Resource = "decision_key"
	Session      Resource = "session"
	// Delegation is a user's delegation (out of office): Owner is the
	// delegator and SharedOrgs their organizations.
	Delegation  Resource = "delegation"
	Team        Resource = "team"
	CatalogItem Resource = "catalog_item"
	Policy      Resource = "approval_policy"
	Request     Resource = "service_request"
)

// Action is what the caller wants to do.
type Action string

// Actions. View is reading; Create, Update and Delete change the object;
// Members is changing who belongs to it (team members, org admins); Submit
// and Launch apply to catalog items; Requests lists an item's requests;
// Act is approving, rejecting, commenting or canceling a request (the
// workflow then applies its own rules). Manage is changing who is a
// superuser or active; Demote is taking either away from a user.
const (
	View     Action = "view"
	Create   Action = "create"
	Update   Action = "update"
	Delete   Action = "delete"
	Members  Action = "members"
	Submit   Action = "submit"
	Requests Action = "requests"
	Act      Action = "act"
	Manage   Action = "manage"
	Demote   Action = "demote"
)

// Object is what Check needs to know of the object acted on.
type Object struct {
	Resource Resource
	// Organization owns the object (for an organization, itself; unused
	// for users and tokens).
	Organization int64
	// Owner is the user the object belongs to: a request's requester, a
	// token's user, a user themselves.
	Owner int64
	// Enabled tells whether a catalog item is enabled.
	Enabled bool
	// Approvers may decide a request now; Deciders decided it;
	// Participants were ever asked about it (approvers of an opened stage,
	// people notified). All of them see it.
	Approvers    []string
	Deciders     []string
	Participants []string
	// SharedOrgs are, for a user, the organizations they belong to.
	SharedOrgs []int64
}

// Check tells whether p may perform a on o: nil, ErrHidden or ErrForbidden.
func Check(p Principal, a Action, o Object) error {
	if !canView(p, o) {
		return ErrHidden
	}
	if a == View {
		return nil
	}
	if (a == Delete || a == Demote) && o.Resource == User && o.Owner == p.UserID {
		return ErrSelf
	}
	if !allowed(p, a, o) {
		return ErrForbidden
	}
	return nil
}

// Can reports whether Check lets p perform a on o.
func Can(p Principal, a Action, o Object) bool { return Check(p, a, o) == nil }

func canView(p Principal, o Object) bool {
	if p.IsSuperuser {
		return true
	}
	switch o.Resource {
	case Organization, Team:
		return p.Member(o.Organization)
	case CatalogItem:
		return p.Admin(o.Organization) || (o.Enabled && p.Member(o.Organization))
	case Policy:
		return p.Admin(o.Organization)
	case Request:
		return o.Owner == p.UserID || p.Admin(o.Organization) ||
			slices.Contains(o.Approvers, p.Username) || slices.Contains(o.Deciders, p.Username) ||
			slices.Contains(o.Participants, p.Username)
	case User, Delegation:
		return ownerOrAdmin(p, o)
	case Token, DecisionKey, Session:
		return o.Owner == p.UserID
	}
	return false
}

func allowed(p Principal, a Action, o Object) bool {
	if a == Submit {
		// Disabled items cannot be submitted, not even by superusers
		// (SPEC 3.2).
		return o.Resource == CatalogItem && o.Enabled && p.Member(o.Organization)
	}
	if o.Resource == DecisionKey && a == Create {
		// A decision key decides as its owner: nobody, not even a
		// superuser, gets one for someone else.
		return o.Owner == p.UserID
	}
	if p.IsSuperuser {
		return true
	}
	switch o.Resource {
	case Organization:
		// Organizations are created, renamed and deleted by superusers; their
		// admins name other admins.
		return a == Members && p.Admin(o.Organization)
	case Team, CatalogItem, Policy:
		switch a {
		case Create, Update, Delete, Members, Requests:
			return p.Admin(o.Organization)
		}
	case Request:
		switch a {
		case Act:
			return true // the workflow decides who may approve, reject, comment or cancel
		case Delete:
			return o.Owner == p.UserID || p.Admin(o.Organization)
		}
	case User:
		// Users change their own profile (not their account flags: Manage,
		// Demote) and may delete nobody; only superusers manage accounts.
		return a == Update && o.Owner == p.UserID
	case Token, DecisionKey:
		return (a == Create || a == Delete) && o.Owner == p.UserID
	case Delegation:
		// A user's delegations are set up and taken back by the user, by
		// the admins of their organizations (someone is away and did not)
		// and by superusers.
		if a != Create && a != Delete {
			return false
		}
		return ownerOrAdmin(p, o)
	case Session:
		// Sessions start by signing in, never through the API; their
		// owner ends them (as superusers end anyone's).
		return a == Delete && o.Owner == p.UserID
	}
	return false
}

// CanCreateIn reports whether p may create an object of resource r in
// organization org (there is no object to Check yet).
func CanCreateIn(p Principal, r Resource, org int64) error {
	switch {
	case p.IsSuperuser:
		return nil
	case r == Organization || r == User:
		return ErrForbidden
	case !p.Member(org):
		return ErrHidden
	case p.Admin(org):
		return nil
	}
	return ErrForbidden
}

// CanCreateSomewhere reports whether there is any organization p may
// create an object of resource r in: ErrForbidden when there is none, so
// that a call can be refused before its body (which names the
// organization) is even read.
func CanCreateSomewhere(p Principal, r Resource) error {
	switch {
	case p.IsSuperuser:
		return nil
	case r == Organization || r == User || len(p.AdminOf) == 0:
		return ErrForbidden
	}
	return nil
}

// ownerOrAdmin reports whether p owns o or administers an organization o
// shares with its owner (a user's, or their delegation's).
func ownerOrAdmin(p Principal, o Object) bool {
	if o.Owner == p.UserID {
		return true
	}
	return slices.ContainsFunc(o.SharedOrgs, p.Admin)
}
