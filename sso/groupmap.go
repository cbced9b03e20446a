// Package sso turns a sign-in at an OpenID provider into a Countersign
// user with the memberships the provider's groups grant. The portal's OIDC
// callback verifies the ID token (signature, issuer, audience, expiry,
// nonce), then calls ClaimsFrom and Provisioner.SignIn; nothing here talks
// to the provider or trusts an unverified token.
//
// The group map (OIDC_GROUP_MAP, a JSON file read by LoadGroupMap) says
// which provider group grants which team membership, organization role or
// superuser status. It is parsed strictly, and Resolve checks at start
// that every organization and team it names exists. At every sign-in the
// memberships the map manages — the teams it names, the roles it grants in
// the organizations it names, superuser status when it has a superuser
// rule — are brought in line with the user's groups; any other membership
// is left alone. Each change reaches waiting requests through
// requests.Service.ApproversChanged, as a change made through the API does.
package sso

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Roles an organization rule may grant.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Rule grants the members of one provider group one thing: membership of
// a team (Organization and Team), a role in an organization (Organization
// and Role), or superuser status (Superuser). A team membership makes its
// holder a member of the team's organization as well.
type Rule struct {
	Group        string
	Organization string
	Team         string
	Role         string
	Superuser    bool
}

// String names the rule in errors and logs.
func (r Rule) String() string {
	switch {
	case r.Superuser:
		return fmt.Sprintf("group %q → superuser", r.Group)
	case r.Team != "":
		return fmt.Sprintf("group %q → team %q of organization %q", r.Group, r.Team, r.Organization)
	default:
		return fmt.Sprintf("group %q → %s of organization %q", r.Group, r.Role, r.Organization)
	}
}

// GroupMap is a parsed group map: its rules in file order.
type GroupMap struct {
	Rules []Rule
}

// ruleJSON is a rule as written; pointers tell a key given empty from a
// key left out.
type ruleJSON struct {
	Group        *string `json:"group"`
	Organization *string `json:"organization"`
	Team         *string `json:"team"`
	Role         *string `json:"role"`
	Superuser    *bool   `json:"superuser"`
}

// LoadGroupMap reads the group map file at path; an empty path is the
// empty map (no group grants anything, and no membership is managed).
func LoadGroupMap(path string) (GroupMap, error) {
	if path == "" {
		return GroupMap{}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return GroupMap{}, fmt.Errorf("group map: %w", err)
	}
	defer func() { _ = f.Close() }()
	m, err := ParseGroupMap(f)
	if err != nil {
		return GroupMap{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseGroupMap reads a group map:
//
//	{"rules": [
//	  {"group": "sre", "organization": "acme", "team": "sre"},
//	  {"group": "acme-admins", "organization": "acme", "role": "admin"},
//	  {"group": "developers", "organization": "acme", "role": "member"},
//	  {"group": "platform", "superuser": true}
//	]}
//
// Strictly: an unknown key, an empty name, a rule granting nothing or more
// than one thing, an unknown role, a rule given twice, a duplicate key or
// anything after the object is an error naming the rule (by its position,
// from 1, and its content).
func ParseGroupMap(r io.Reader) (GroupMap, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return GroupMap{}, fmt.Errorf("group map: %w", err)
	}
	if err := rejectDuplicateKeys(data); err != nil {
		return GroupMap{}, fmt.Errorf("group map: %w", err)
	}
	var doc struct {
		Rules *[]json.RawMessage `json:"rules"`
	}
	if err := decodeStrict(data, &doc); err != nil {
		return GroupMap{}, fmt.Errorf("group map: %w", err)
	}
	if doc.Rules == nil {
		return GroupMap{}, errors.New(`group map: "rules" is missing: give a list of rules, even an empty one`)
	}
	var m GroupMap
	seen := map[Rule]int{}
	for i, raw := range *doc.Rules {
		n := i + 1
		var rj ruleJSON
		if err := decodeStrict(raw, &rj); err != nil {
			return GroupMap{}, fmt.Errorf("group map: rule %d: %w", n, err)
		}
		rule, err := rj.rule()
		if err != nil {
			return GroupMap{}, fmt.Errorf("group map: rule %d (%s): %w", n, strings.TrimSpace(string(raw)), err)
		}
		if first, ok := seen[rule]; ok {
			return GroupMap{}, fmt.Errorf("group map: rule %d (%s) repeats rule %d", n, rule, first)
		}
		seen[rule] = n
		m.Rules = append(m.Rules, rule)
	}
	return m, nil
}

// rule checks one written rule.
func (rj ruleJSON) rule() (Rule, error) {
	name := func(key string, p *string) (string, error) {
		if p == nil {
			return "", nil
		}
		if strings.TrimSpace(*p) == "" {
			return "", fmt.Errorf("%q is empty", key)
		}
		return *p, nil
	}
	var r Rule
	var err error
	if rj.Group == nil {
		return r, errors.New(`"group" is missing`)
	}
	if r.Group, err = name("group", rj.Group); err != nil {
		return r, err
	}
	if r.Organization, err = name("organization", rj.Organization); err != nil {
		return r, err
	}
	if r.Team, err = name("team", rj.Team); err != nil {
		return r, err
	}
	if r.Role, err = name("role", rj.Role); err != nil {
		return r, err
	}
	if rj.Superuser != nil {
		if !*rj.Superuser {
			return r, errors.New(`"superuser" can only be true: leave it out otherwise`)
		}
		if r.Organization != "" || r.Team != "" || r.Role != "" {
			return r, errors.New(`a superuser rule grants nothing else: give "superuser" alone with "group"`)
		}
		r.Superuser = true
		return r, nil
	}
	switch {
	case r.Organization == "":
		return r, errors.New(`give "organization" with "team" or "role", or "superuser": true`)
	case r.Team != "" && r.Role != "":
		return r, errors.New(`give "team" or "role", not both: a team membership makes a member of the organization already`)
	case r.Team == "" && r.Role == "":
		return r, errors.New(`give "team" or "role" with "organization"`)
	case r.Role != "" && r.Role != RoleAdmin && r.Role != RoleMember:
		return r, fmt.Errorf("role %q is unknown: use %q or %q", r.Role, RoleAdmin, RoleMember)
	}
	return r, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown keys and
// anything after the value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// rejectDuplicateKeys refuses an object with a key given twice, which
// encoding/json would take silently, the last one winning.
func rejectDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			keys := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key := kt.(string)
				if keys[key] {
					return fmt.Errorf("key %q is given twice in one object", key)
				}
				keys[key] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return walk()
}
