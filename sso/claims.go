package sso

import "fmt"

// ClaimsFrom reads Claims from a verified ID token's claims (as decoded
// from JSON): iss, sub, email, given_name, family_name, the username from
// usernameClaim and the groups from groupsClaim.
//
// The username must be a non-empty string. The groups claim may be absent
// (no groups), a list of strings, or one string; anything else, or groups
// the provider left out of the token for another endpoint to give
// (distributed claims, as Entra ID does past 200 groups), is
// ErrInvalidClaims: read as "no groups", it would strip every membership
// the map manages.
func ClaimsFrom(raw map[string]any, usernameClaim, groupsClaim string) (Claims, error) {
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%w: claim %q is not a string", ErrInvalidClaims, key)
		}
		return s, nil
	}
	var c Claims
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"iss", &c.Issuer}, {"sub", &c.Subject}, {usernameClaim, &c.Username},
		{"email", &c.Email}, {"given_name", &c.GivenName}, {"family_name", &c.FamilyName},
	} {
		v, err := str(f.key)
		if err != nil {
			return Claims{}, err
		}
		*f.dst = v
	}
	if c.Username == "" {
		return Claims{}, fmt.Errorf("%w: the username claim %q is missing or empty", ErrInvalidClaims, usernameClaim)
	}
	if names, ok := raw["_claim_names"].(map[string]any); ok {
		if _, ok := names[groupsClaim]; ok {
			return Claims{}, fmt.Errorf("%w: the groups claim %q is distributed (too many groups for the token): have the provider send fewer groups, e.g. only those assigned to the application", ErrInvalidClaims, groupsClaim)
		}
	}
	switch v := raw[groupsClaim].(type) {
	case nil:
	case string:
		c.Groups = []string{v}
	case []string:
		c.Groups = v
	case []any:
		for _, g := range v {
			s, ok := g.(string)
			if !ok {
				return Claims{}, fmt.Errorf("%w: the groups claim %q holds a %T, not a string", ErrInvalidClaims, groupsClaim, g)
			}
			c.Groups = append(c.Groups, s)
		}
	default:
		return Claims{}, fmt.Errorf("%w: the groups claim %q is a %T, not a list of strings", ErrInvalidClaims, groupsClaim, v)
	}
	return c, nil
}
