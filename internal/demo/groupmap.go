package demo

// GroupMap maps the local OpenID provider's demo groups (internal/devidp)
// to the demo organization: a group map for package sso, as the README's
// "Single sign-on" shows it. It grants exactly what SeedIdentity gives,
// so a demo user's first sign-in through the provider changes nothing.
const GroupMap = `{"rules": [
  {"group": "sre", "organization": "acme", "team": "sre"},
  {"group": "security", "organization": "acme", "team": "security"},
  {"group": "acme-admins", "organization": "acme", "role": "admin"}
]}
`
