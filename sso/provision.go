package sso

import (
	"context"
	"errors"
	"fmt"

	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

// Errors of SignIn, besides the store's.
var (
	// ErrDeactivated: the user exists and is deactivated; they may not
	// sign in, and nothing about them changes.
	ErrDeactivated = errors.New("the user is deactivated")
	// ErrIdentityTaken: the username belongs to a user linked to another
	// identity at the provider (another subject, or another issuer). It
	// is never taken over: an administrator resolves it.
	ErrIdentityTaken = errors.New("the username belongs to another identity")
	// ErrInvalidClaims: the claims lack what a sign-in needs (issuer,
	// subject, username) or hold something unusable.
	ErrInvalidClaims = errors.New("invalid claims")
)

// Claims are what SignIn takes from a verified ID token.
type Claims struct {
	Issuer, Subject string
	// Username is the configured username claim's value.
	Username                     string
	Email, GivenName, FamilyName string
	// Groups are the configured groups claim's values.
	Groups []string
}

// Store is what SignIn needs of PostgreSQL; *store.Store and the API's
// Store implement it.
type Store interface {
	UserBySubject(ctx context.Context, issuer, subject string) (store.User, error)
	LinkUserSubject(ctx context.Context, userID int64, issuer, subject string) error
	GetUserByUsername(ctx context.Context, username string) (store.User, error)
	CreateUser(ctx context.Context, u store.NewUser) (store.User, error)
	UpdateUser(ctx context.Context, id int64, u store.UserUpdate) (store.User, error)
	UserRoles(ctx context.Context, userID int64) (store.Roles, error)
	DirectOrgMemberships(ctx context.Context, userID int64) ([]int64, error)
	AddTeamMember(ctx context.Context, teamID, userID int64) error
	RemoveTeamMember(ctx context.Context, teamID, userID int64) error
	AddOrgAdmin(ctx context.Context, orgID, userID int64) error
	RemoveOrgAdmin(ctx context.Context, orgID, userID int64) error
	AddOrgMember(ctx context.Context, orgID, userID int64) error
	RemoveOrgMember(ctx context.Context, orgID, userID int64) error
}

// Approvers is told every change of who may decide waiting requests:
// *requests.Service.
type Approvers interface {
	ApproversChanged(ctx context.Context, ch requests.Change)
}

// Provisioner signs users in: it finds or creates them and brings their
// memberships in line with the group map.
type Provisioner struct {
	store     Store
	approvers Approvers
	mapping   *Mapping
}

// NewProvisioner returns a Provisioner; m is the resolved group map (nil
// maps nothing).
func NewProvisioner(st Store, approvers Approvers, m *Mapping) *Provisioner {
	if m == nil {
		m = &Mapping{}
	}
	return &Provisioner{store: st, approvers: approvers, mapping: m}
}

// Result is what a sign-in did.
type Result struct {
	// User is the user as they stand after the sign-in.
	User store.User
	// Created: the user was created by this sign-in.
	Created bool
	// Changes are the memberships changed: the plan, as far as it went.
	Changes Plan
}

// SignIn signs in the person c describes, whose ID token the caller
// verified:
//
//   - the user linked to c's issuer and subject is theirs, whatever the
//     username claim says now (usernames are not renamed: decisions are
//     recorded by username);
//   - otherwise the user with c's username is linked to that identity
//     for good, unless it is linked to another one (ErrIdentityTaken);
//   - otherwise a user is created, without password nor token;
//   - a deactivated user is refused (ErrDeactivated) before anything
//     changes;
//   - e-mail and names are updated from non-empty claims, and the
//     memberships the map manages brought in line with c.Groups (see
//     Mapping.Plan). Each change that alters who may decide is passed to
//     Approvers, also when a later step fails.
//
// Steps are separate writes: a sign-in that fails half-way leaves the
// changes made so far, and the next one completes them.
func (p *Provisioner) SignIn(ctx context.Context, c Claims) (Result, error) {
	if c.Issuer == "" || c.Subject == "" || c.Username == "" {
		return Result{}, fmt.Errorf("%w: issuer, subject and username are required", ErrInvalidClaims)
	}
	u, created, err := p.identify(ctx, c)
	if err != nil {
		return Result{}, err
	}
	if u, err = p.updateProfile(ctx, u, c); err != nil {
		return Result{}, err
	}
	res := Result{User: u, Created: created}
	res.Changes, err = p.syncMemberships(ctx, &res.User, c.Groups)
	return res, err
}

// identify finds or creates c's user and links it to c's identity.
func (p *Provisioner) identify(ctx context.Context, c Claims) (store.User, bool, error) {
	u, err := p.store.UserBySubject(ctx, c.Issuer, c.Subject)
	if err == nil {
		return u, false, active(u)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, err
	}
	created := false
	u, err = p.store.GetUserByUsername(ctx, c.Username)
	if errors.Is(err, store.ErrNotFound) {
		u, err = p.store.CreateUser(ctx, store.NewUser{
			Username: c.Username, Email: c.Email, FirstName: c.GivenName, LastName: c.FamilyName,
		})
		created = err == nil
		if errors.Is(err, store.ErrConflict) {
			// Someone took the username meanwhile (their first sign-in
			// in another tab): link to it as to any existing user.
			u, err = p.store.GetUserByUsername(ctx, c.Username)
		}
	}
	if err != nil {
		return store.User{}, false, err
	}
	if err := active(u); err != nil {
		return store.User{}, false, err
	}
	if err := p.store.LinkUserSubject(ctx, u.ID, c.Issuer, c.Subject); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.User{}, false, fmt.Errorf("%w: user %q", ErrIdentityTaken, c.Username)
		}
		return store.User{}, false, err
	}
	return u, created, nil
}

func active(u store.User) error {
	if !u.IsActive {
		return fmt.Errorf("%w: user %q", ErrDeactivated, u.Username)
	}
	return nil
}

// updateProfile copies the non-empty profile claims that differ: an empty
// one may only mean the provider was not asked for it.
func (p *Provisioner) updateProfile(ctx context.Context, u store.User, c Claims) (store.User, error) {
	var upd store.UserUpdate
	changed := false
	for _, f := range []struct {
		claim, have string
		dst         **string
	}{
		{c.Email, u.Email, &upd.Email}, {c.GivenName, u.FirstName, &upd.FirstName}, {c.FamilyName, u.LastName, &upd.LastName},
	} {
		if f.claim != "" && f.claim != f.have {
			*f.dst = &f.claim
			changed = true
		}
	}
	if !changed {
		return u, nil
	}
	return p.store.UpdateUser(ctx, u.ID, upd)
}

// syncMemberships applies the mapping's plan for u and groups, and tells
// Approvers of each change made, even when a later one fails.
func (p *Provisioner) syncMemberships(ctx context.Context, u *store.User, groups []string) (Plan, error) {
	roles, err := p.store.UserRoles(ctx, u.ID)
	if err != nil {
		return Plan{}, err
	}
	direct, err := p.store.DirectOrgMemberships(ctx, u.ID)
	if err != nil {
		return Plan{}, err
	}
	plan := p.mapping.Plan(groups, Standing{Roles: roles, DirectMemberOf: direct, Superuser: u.IsSuperuser})
	var done Plan
	var changes []requests.Change
	defer func() {
		for _, ch := range changes {
			p.approvers.ApproversChanged(ctx, ch)
		}
	}()
	m := p.mapping
	// Each step applies one kind of membership change; change, when set,
	// is what waiting requests are told (organization members decide
	// nothing, so their steps tell no request).
	steps := []struct {
		ids    []int64
		apply  func(ctx context.Context, group, user int64) error
		done   *[]int64
		change func(id int64) requests.Change
	}{
		{plan.JoinTeams, p.store.AddTeamMember, &done.JoinTeams, func(id int64) requests.Change {
			return requests.Change{Team: &id, Reason: fmt.Sprintf("user %s joined team %s at sign-in", u.Username, m.teams[id])}
		}},
		{plan.LeaveTeams, removal(p.store.RemoveTeamMember), &done.LeaveTeams, func(id int64) requests.Change {
			return requests.Change{Team: &id, Reason: fmt.Sprintf("user %s left team %s at sign-in", u.Username, m.teams[id])}
		}},
		{plan.BecomeAdmin, p.store.AddOrgAdmin, &done.BecomeAdmin, func(id int64) requests.Change {
			return requests.Change{OrgAdmins: &id, Reason: fmt.Sprintf("user %s became an admin of %s at sign-in", u.Username, m.adminOf[id])}
		}},
		{plan.StopAdmin, removal(p.store.RemoveOrgAdmin), &done.StopAdmin, func(id int64) requests.Change {
			return requests.Change{OrgAdmins: &id, Reason: fmt.Sprintf("user %s stopped being an admin of %s at sign-in", u.Username, m.adminOf[id])}
		}},
		{plan.JoinOrgs, p.store.AddOrgMember, &done.JoinOrgs, nil},
		{plan.LeaveOrgs, removal(p.store.RemoveOrgMember), &done.LeaveOrgs, nil},
	}
	for _, st := range steps {
		for _, id := range st.ids {
			if err := st.apply(ctx, id, u.ID); err != nil {
				return done, err
			}
			*st.done = append(*st.done, id)
			if st.change != nil {
				changes = append(changes, st.change(id))
			}
		}
	}
	if plan.Superuser != nil {
		nu, err := p.store.UpdateUser(ctx, u.ID, store.UserUpdate{IsSuperuser: plan.Superuser})
		if err != nil {
			return done, err
		}
		*u = nu
		done.Superuser = plan.Superuser
		changes = append(changes, requests.Change{Superuser: true, User: &u.ID, Reason: fmt.Sprintf("user %s became or stopped being a superuser at sign-in", u.Username)})
	}
	return done, nil
}

// removal is remove treating a membership already removed (by an
// administrator at the same moment) as removed.
func removal(remove func(ctx context.Context, group, user int64) error) func(ctx context.Context, group, user int64) error {
	return func(ctx context.Context, group, user int64) error {
		if err := remove(ctx, group, user); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
}
