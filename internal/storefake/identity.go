package storefake

import (
	"context"
	"slices"
	"time"

	"github.com/countersign/countersign/store"
)

var (
	organizationSort = sortFields[store.Organization]{
		{name: "id", cmp: byValue(func(o store.Organization) int64 { return o.ID })},
		{name: "name", cmp: byValue(func(o store.Organization) string { return o.Name })},
		{name: "created", cmp: byTime(func(o store.Organization) time.Time { return o.Created })},
		{name: "modified", cmp: byTime(func(o store.Organization) time.Time { return o.Modified })},
	}
	userSort = sortFields[store.User]{
		{name: "id", cmp: byValue(func(u store.User) int64 { return u.ID })},
		{name: "username", cmp: byValue(func(u store.User) string { return u.Username })},
		{name: "email", cmp: byValue(func(u store.User) string { return u.Email })},
		{name: "first_name", cmp: byValue(func(u store.User) string { return u.FirstName })},
		{name: "last_name", cmp: byValue(func(u store.User) string { return u.LastName })},
		{name: "created", cmp: byTime(func(u store.User) time.Time { return u.Created })},
		{name: "modified", cmp: byTime(func(u store.User) time.Time { return u.Modified })},
	}
	teamSort = sortFields[store.Team]{
		{name: "id", cmp: byValue(func(t store.Team) int64 { return t.ID })},
		{name: "name", cmp: byValue(func(t store.Team) string { return t.Name })},
		{name: "organization", cmp: byValue(func(t store.Team) int64 { return t.OrganizationID })},
		{name: "created", cmp: byTime(func(t store.Team) time.Time { return t.Created })},
		{name: "modified", cmp: byTime(func(t store.Team) time.Time { return t.Modified })},
	}
)

func cloneOrg(o *store.Organization) store.Organization {
	out := *o
	out.AWXOrganization = clonePtr(o.AWXOrganization)
	return out
}

// CreateOrganization is store.Store.CreateOrganization.
func (s *Store) CreateOrganization(ctx context.Context, name, description string) (store.Organization, error) {
	const op = "create organization"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateOrganization", op); err != nil {
		return store.Organization{}, err
	}
	id := s.next("organizations")
	if name == "" {
		return store.Organization{}, fail(op, store.ErrInvalid, "organizations_name_check")
	}
	if s.orgByName(name) != nil {
		return store.Organization{}, fail(op, store.ErrConflict, "organizations_name_key")
	}
	now := s.now()
	o := &store.Organization{ID: id, Name: name, Description: description, Created: now, Modified: now}
	s.orgs[id] = o
	return cloneOrg(o), nil
}

func (s *Store) orgByName(name string) *store.Organization {
	for _, o := range s.orgs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// LinkAWXOrganization is store.Store.LinkAWXOrganization.
func (s *Store) LinkAWXOrganization(ctx context.Context, id int64, awxOrg *int64) (store.Organization, error) {
	const op = "link AWX organization"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "LinkAWXOrganization", op); err != nil {
		return store.Organization{}, err
	}
	o, ok := s.orgs[id]
	if !ok {
		return store.Organization{}, notFound(op)
	}
	o.AWXOrganization = clonePtr(awxOrg)
	o.Modified = s.now()
	return cloneOrg(o), nil
}

// GetOrganization is store.Store.GetOrganization.
func (s *Store) GetOrganization(ctx context.Context, id int64) (store.Organization, error) {
	const op = "get organization"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetOrganization", op); err != nil {
		return store.Organization{}, err
	}
	o, ok := s.orgs[id]
	if !ok {
		return store.Organization{}, notFound(op)
	}
	return cloneOrg(o), nil
}

// GetOrganizationByName is store.Store.GetOrganizationByName.
func (s *Store) GetOrganizationByName(ctx context.Context, name string) (store.Organization, error) {
	const op = "get organization by name"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetOrganizationByName", op); err != nil {
		return store.Organization{}, err
	}
	o := s.orgByName(name)
	if o == nil {
		return store.Organization{}, notFound(op)
	}
	return cloneOrg(o), nil
}

// UpdateOrganization is store.Store.UpdateOrganization.
func (s *Store) UpdateOrganization(ctx context.Context, id int64, name, description string) (store.Organization, error) {
	const op = "update organization"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UpdateOrganization", op); err != nil {
		return store.Organization{}, err
	}
	o, ok := s.orgs[id]
	if !ok {
		return store.Organization{}, notFound(op)
	}
	if name == "" {
		return store.Organization{}, fail(op, store.ErrInvalid, "organizations_name_check")
	}
	if other := s.orgByName(name); other != nil && other.ID != id {
		return store.Organization{}, fail(op, store.ErrConflict, "organizations_name_key")
	}
	o.Name, o.Description, o.Modified = name, description, s.now()
	return cloneOrg(o), nil
}

// DeleteOrganization is store.Store.DeleteOrganization.
func (s *Store) DeleteOrganization(ctx context.Context, id int64) error {
	const op = "delete organization"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DeleteOrganization", op); err != nil {
		return err
	}
	if _, ok := s.orgs[id]; !ok {
		return notFound(op)
	}
	for _, r := range s.requests {
		if r.OrganizationID == id {
			return fail(op, store.ErrReferenced, "service_requests_organization_id_fkey")
		}
	}
	for _, i := range s.items {
		if i.OrganizationID == id {
			return fail(op, store.ErrReferenced, "catalog_items_organization_id_fkey")
		}
	}
	for _, p := range s.policies {
		if p.OrganizationID == id {
			return fail(op, store.ErrReferenced, "approval_policies_organization_id_fkey")
		}
	}
	// The organization's teams go with it; nothing outside it can still
	// name them but the stages of submitted requests, which keep the name.
	for tid, t := range s.teams {
		if t.OrganizationID == id {
			s.dropTeam(tid)
		}
	}
	for p := range s.orgAdmins {
		if p.parent == id {
			delete(s.orgAdmins, p)
		}
	}
	for p := range s.orgMembers {
		if p.parent == id {
			delete(s.orgMembers, p)
		}
	}
	delete(s.orgs, id)
	return nil
}

// ListOrganizations is store.Store.ListOrganizations.
func (s *Store) ListOrganizations(ctx context.Context, f store.OrganizationFilter, opts store.ListOptions) ([]store.Organization, int, error) {
	const op = "list organizations"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListOrganizations", op); err != nil {
		return nil, 0, err
	}
	var rows []store.Organization
	for _, o := range s.orgs {
		if (f.Name == "" || o.Name == f.Name) && inIDs(f.IDs, o.ID) {
			rows = append(rows, cloneOrg(o))
		}
	}
	return page(op, rows, organizationSort, opts)
}

// CreateUser is store.Store.CreateUser.
func (s *Store) CreateUser(ctx context.Context, u store.NewUser) (store.User, error) {
	const op = "create user"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateUser", op); err != nil {
		return store.User{}, err
	}
	id := s.next("users")
	if u.Username == "" {
		return store.User{}, fail(op, store.ErrInvalid, "users_username_check")
	}
	if s.userByName(u.Username) != nil {
		return store.User{}, fail(op, store.ErrConflict, "users_username_key")
	}
	now := s.now()
	out := &store.User{
		ID: id, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		IsSuperuser: u.IsSuperuser, IsActive: true, Created: now, Modified: now,
	}
	s.users[id] = out
	return *out, nil
}

func (s *Store) userByName(username string) *store.User {
	for _, u := range s.users {
		if u.Username == username {
			return u
		}
	}
	return nil
}

// GetUser is store.Store.GetUser.
func (s *Store) GetUser(ctx context.Context, id int64) (store.User, error) {
	const op = "get user"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetUser", op); err != nil {
		return store.User{}, err
	}
	u, ok := s.users[id]
	if !ok {
		return store.User{}, notFound(op)
	}
	return *u, nil
}

// GetUserByUsername is store.Store.GetUserByUsername.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (store.User, error) {
	const op = "get user by username"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "GetUserByUsername", op); err != nil {
		return store.User{}, err
	}
	u := s.userByName(username)
	if u == nil {
		return store.User{}, notFound(op)
	}
	return *u, nil
}

// UpdateUser is store.Store.UpdateUser.
func (s *Store) UpdateUser(ctx context.Context, id int64, u store.UserUpdate) (store.User, error) {
	const op = "update user"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UpdateUser", op); err != nil {
		return store.User{}, err
	}
	out, ok := s.users[id]
	if !ok {
		return store.User{}, notFound(op)
	}
	set(&out.Email, u.Email)
	set(&out.FirstName, u.FirstName)
	set(&out.LastName, u.LastName)
	set(&out.IsSuperuser, u.IsSuperuser)
	set(&out.IsActive, u.IsActive)
	out.Modified = s.now()
	return *out, nil
}

// set is COALESCE(:v, column).
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// DeleteUser is store.Store.DeleteUser.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	const op = "delete user"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DeleteUser", op); err != nil {
		return err
	}
	u, ok := s.users[id]
	if !ok {
		return notFound(op)
	}
	for _, r := range s.requests {
		for _, resp := range r.Responses {
			if resp.Username == u.Username {
				return fail(op, store.ErrReferenced, "they decided or commented on requests")
			}
		}
	}
	for _, r := range s.requests {
		if r.RequesterID == id {
			return fail(op, store.ErrReferenced, "service_requests_requester_id_fkey")
		}
	}
	for _, m := range []map[pair]bool{s.teamMembers, s.orgAdmins, s.orgMembers} {
		for p := range m {
			if p.user == id {
				delete(m, p)
			}
		}
	}
	for tid, t := range s.tokens {
		if t.UserID == id {
			delete(s.tokens, tid)
		}
	}
	for kid, k := range s.keys {
		if k.UserID == id {
			delete(s.keys, kid)
		}
	}
	for did, d := range s.delegations {
		if d.DelegatorID == id || d.DelegateID == id {
			delete(s.delegations, did)
		} else if d.CreatedBy != nil && *d.CreatedBy == id {
			d.CreatedBy = nil
		}
	}
	for sid, x := range s.sessions {
		if x.UserID == id {
			delete(s.sessions, sid)
		}
	}
	delete(s.users, id)
	delete(s.subjects, id)
	return nil
}

// ListUsers is store.Store.ListUsers.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter, opts store.ListOptions) ([]store.User, int, error) {
	const op = "list users"
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ListUsers", op); err != nil {
		return nil, 0, err
	}
	var rows []store.User
	for _, u := range s.users {
		if f.Username != "" && u.Username != f.Username {
			continue
		}
		if f.Search != "" && !containsFold(u.Username, f.Search) && !containsFold(u.FirstName, f.Search) &&
			!containsFold(u.LastName, f.Search) && !containsFold(u.Email, f.Search) {
			continue
		}
		if v := f.Visibility; v != nil && u.ID != v.UserID && !s.inAnyOrg(u.ID, v.AdminOrgIDs) {
			continue
		}
		rows = append(rows, *u)
	}
	return page(op, rows, userSort, opts)
}

// inAnyOrg reports whether the user administers, is a team member of or
// is a member of one of orgs.
func (s *Store) inAnyOrg(userID int64, orgs []int64) bool {
	for _, org := range orgs {
		if s.orgAdmins[pair{org, userID}] || s.orgMembers[pair{org, userID}] {
			return true
		}
	}
	for p := range s.teamMembers {
		if p.user == userID && slices.Contains(orgs, s.teams[p.parent].OrganizationID) {
			return true
		}
	}
	return false
}
