package devidp

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
)

// User is a person who can sign in at the provider. Groups go into the
// groups claim of every ID token and userinfo answer.
type User struct {
	Username string `json:"username"`
	// Password is compared as it is: this provider is for development and
	// tests, never for real people.
	Password   string   `json:"password"`
	Email      string   `json:"email"`
	GivenName  string   `json:"given_name"`
	FamilyName string   `json:"family_name"`
	Groups     []string `json:"groups"`
	// Disabled users cannot sign in, and their sessions and tokens stop
	// working.
	Disabled bool `json:"disabled,omitempty"`
	// Subject is the sub claim; empty derives a stable opaque one from the
	// username, so that relying parties cannot mistake sub for a username.
	Subject string `json:"subject,omitempty"`
}

// Directory is the content of a users file: the people who may sign in.
type Directory struct {
	Users []User `json:"users"`
}

// Demo groups, matching the demo organization's teams and admins.
const (
	GroupSRE        = "sre"
	GroupSecurity   = "security"
	GroupAcmeAdmins = "acme-admins"
)

// DemoPassword is the well-known password of a demo user: dev-only, like
// the demo's API tokens.
func DemoPassword(username string) string { return "demo-" + username }

// DemoUsers are the demo organization's people (internal/demo's users),
// each with DemoPassword: bob and carol in sre, dave in security, erin (the
// organization's admin) in acme-admins; admin and alice in no group.
func DemoUsers() []User {
	users := []User{
		{Username: "admin", Email: "admin@acme.example", GivenName: "Ada", FamilyName: "Admin"},
		{Username: "erin", Email: "erin@acme.example", GivenName: "Erin", FamilyName: "Org-Admin", Groups: []string{GroupAcmeAdmins}},
		{Username: "alice", Email: "alice@acme.example", GivenName: "Alice", FamilyName: "Requester"},
		{Username: "bob", Email: "bob@acme.example", GivenName: "Bob", FamilyName: "SRE", Groups: []string{GroupSRE}},
		{Username: "carol", Email: "carol@acme.example", GivenName: "Carol", FamilyName: "SRE", Groups: []string{GroupSRE}},
		{Username: "dave", Email: "dave@acme.example", GivenName: "Dave", FamilyName: "Security", Groups: []string{GroupSecurity}},
	}
	for i := range users {
		users[i].Password = DemoPassword(users[i].Username)
	}
	return users
}

// LoadUsers reads a users file: JSON of the shape of Directory. Unknown
// fields are refused, so that a misspelt "groups" does not silently leave
// someone without groups.
func LoadUsers(path string) ([]User, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Directory
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	if len(d.Users) == 0 {
		return nil, fmt.Errorf("users file %s: no users", path)
	}
	return d.Users, nil
}

// Errors of the user directory.
var (
	ErrUnknownUser   = errors.New("devidp: unknown user")
	ErrWrongPassword = errors.New("devidp: wrong username or password")
	ErrDisabled      = errors.New("devidp: user disabled")
)

// users is the provider's live directory: tests change groups and disable
// people while the provider runs.
type users struct {
	mu        sync.RWMutex
	byName    map[string]*User
	bySubject map[string]*User
}

func newUsers(list []User) (*users, error) {
	u := &users{byName: map[string]*User{}, bySubject: map[string]*User{}}
	for _, in := range list {
		if in.Username == "" || in.Password == "" {
			return nil, fmt.Errorf("devidp: user %q needs a username and a password", in.Username)
		}
		c := in
		c.Groups = slices.Clone(in.Groups)
		if c.Subject == "" {
			c.Subject = subjectOf(c.Username)
		}
		if _, dup := u.byName[c.Username]; dup {
			return nil, fmt.Errorf("devidp: user %q given twice", c.Username)
		}
		if _, dup := u.bySubject[c.Subject]; dup {
			return nil, fmt.Errorf("devidp: subject %q given twice", c.Subject)
		}
		u.byName[c.Username], u.bySubject[c.Subject] = &c, &c
	}
	return u, nil
}

// subjectOf is a stable subject for a username: the same across restarts,
// so a relying party keeps recognising the person.
func subjectOf(username string) string {
	sum := sha256.Sum256([]byte("countersign dev-idp subject\x00" + username))
	return hex.EncodeToString(sum[:10])
}

// authenticate checks a username and password; a disabled user is
// refused only once the password is right.
func (u *users) authenticate(username, password string) (User, error) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	p, ok := u.byName[username]
	if !ok || subtle.ConstantTimeCompare([]byte(p.Password), []byte(password)) != 1 {
		return User{}, ErrWrongPassword
	}
	if p.Disabled {
		return User{}, ErrDisabled
	}
	return p.copy(), nil
}

// active is the enabled user with this subject.
func (u *users) active(subject string) (User, error) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	p, ok := u.bySubject[subject]
	switch {
	case !ok:
		return User{}, ErrUnknownUser
	case p.Disabled:
		return User{}, ErrDisabled
	}
	return p.copy(), nil
}

// lookup is the user named username, disabled or not.
func (u *users) lookup(username string) (User, error) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	p, ok := u.byName[username]
	if !ok {
		return User{}, fmt.Errorf("%w: %q", ErrUnknownUser, username)
	}
	return p.copy(), nil
}

// update changes the user named username under the lock.
func (u *users) update(username string, change func(*User)) (User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, ok := u.byName[username]
	if !ok {
		return User{}, fmt.Errorf("%w: %q", ErrUnknownUser, username)
	}
	change(p)
	return p.copy(), nil
}

func (p *User) copy() User {
	c := *p
	c.Groups = slices.Clone(p.Groups)
	return c
}
