package api_test

import (
	"fmt"
	"net/http"
	"strings"
)

// malformedJSON is a body no call can read.
const malformedJSON = `{"name": `

// invalidBodyRows are the matrix's rows that send every endpoint taking a
// body one it must refuse: whoever may not make the call gets 403 or 404
// whatever the body holds, so authorization is decided before the body is
// parsed or validated; only who may make the call learns what is wrong with
// it (400).
func invalidBodyRows(f azFixture, uid map[string]int64) []azRow {
	const (
		bad       = http.StatusBadRequest
		forbidden = http.StatusForbidden
		notFound  = http.StatusNotFound
	)
	p := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	parseError := map[int]string{bad: `"detail":"JSON parse error`}
	request := func(action string) string { return p("/api/v2/service_requests/%d/%s/", f.request, action) }
	return []azRow{
		// Organizations.
		{name: "organizations create (malformed JSON)", method: "POST", path: "/api/v2/organizations/", body: malformedJSON,
			want: azCodes(forbidden, forbidden, forbidden, forbidden, forbidden, bad), has: parseError},
		{name: "organization patch (malformed JSON)", method: "PATCH", path: p("/api/v2/organizations/%d/", f.acme), body: malformedJSON,
			want: azCodes(forbidden, forbidden, forbidden, notFound, forbidden, bad), has: parseError},
		{name: "organization admins add (malformed JSON)", method: "POST", path: p("/api/v2/organizations/%d/admins/", f.acme), body: malformedJSON,
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: parseError},
		{name: "organization users add (an id that is not one)", method: "POST", path: p("/api/v2/organizations/%d/users/", f.acme),
			body: map[string]any{"id": "alice"},
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: map[int]string{bad: `"id":["Expected an integer, got string."]`}},

		// Users and their keys. Only superusers change is_superuser and
		// is_active: anyone else sending another value than the user's is
		// refused, whatever the rest holds.
		{name: "users create (malformed JSON)", method: "POST", path: "/api/v2/users/", body: malformedJSON,
			want: azCodes(forbidden, forbidden, forbidden, forbidden, forbidden, bad), has: parseError},
		{name: "user patch (alice, is_superuser not a boolean)", method: "PATCH", path: p("/api/v2/users/%d/", uid[requester]),
			body: map[string]any{"is_superuser": "yes"},
			want: azCodes(forbidden, notFound, notFound, notFound, forbidden, bad), has: map[int]string{bad: `"is_superuser":["Expected a boolean, got string."]`}},
		{name: "user patch (alice, is_active with an unknown field)", method: "PATCH", path: p("/api/v2/users/%d/", uid[requester]),
			body: map[string]any{"is_active": false, "colour": "red"},
			want: azCodes(forbidden, notFound, notFound, notFound, forbidden, bad), has: map[int]string{bad: `"colour":["Unknown field."]`}},
		{name: "user patch (alice, malformed JSON)", method: "PATCH", path: p("/api/v2/users/%d/", uid[requester]), body: malformedJSON,
			want: azCodes(bad, notFound, notFound, notFound, forbidden, bad), has: parseError},
		{name: "user tokens create (alice, malformed JSON)", method: "POST", path: p("/api/v2/users/%d/tokens/", uid[requester]), body: malformedJSON,
			want: azCodes(bad, notFound, notFound, notFound, forbidden, bad), has: parseError},
		{name: "user decision keys create (alice, malformed JSON)", method: "POST", path: p("/api/v2/users/%d/decision_keys/", uid[requester]),
			body: malformedJSON, want: azCodes(bad, notFound, notFound, notFound, forbidden, forbidden), has: parseError},
		{name: "my decision keys create (malformed JSON)", method: "POST", path: "/api/v2/me/decision_keys/", body: malformedJSON,
			want: azCodes(bad, bad, bad, bad, bad, bad), has: parseError},

		// Teams.
		{name: "teams create (malformed JSON)", method: "POST", path: "/api/v2/teams/", body: malformedJSON,
			want: azCodes(forbidden, forbidden, forbidden, bad, bad, bad), has: parseError},
		{name: "team patch (malformed JSON)", method: "PATCH", path: p("/api/v2/teams/%d/", f.sre), body: malformedJSON,
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: parseError},
		{name: "team members add (malformed JSON)", method: "POST", path: p("/api/v2/teams/%d/members/", f.sre), body: malformedJSON,
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: parseError},

		// Catalog items.
		{name: "catalog create (malformed JSON)", method: "POST", path: "/api/v2/service_catalog_items/", body: malformedJSON,
			want: azCodes(forbidden, forbidden, forbidden, bad, bad, bad), has: parseError},
		{name: "catalog patch (malformed JSON)", method: "PATCH", path: p("/api/v2/service_catalog_items/%d/", f.restart), body: malformedJSON,
			want: azCodes(forbidden, forbidden, forbidden, notFound, bad, bad), has: parseError},
		{name: "catalog submit (malformed JSON)", method: "POST", path: p("/api/v2/service_catalog_items/%d/submit/", f.restart), body: malformedJSON,
			want: azCodes(bad, bad, bad, notFound, bad, bad), has: parseError},
		{name: "catalog submit (disabled item, malformed JSON)", method: "POST", path: p("/api/v2/service_catalog_items/%d/submit/", f.disabled),
			body: malformedJSON, want: azCodes(notFound, notFound, notFound, notFound, forbidden, forbidden)},

		// Approval policies.
		{name: "policy patch (malformed JSON)", method: "PATCH", path: p("/api/v2/approval_policies/%d/", f.envPolicy), body: malformedJSON,
			want: azCodes(notFound, notFound, notFound, notFound, bad, bad), has: parseError},

		// Decisions: who may not act on the request (the requester
		// approving, an admin outside the stage's team, an approver
		// canceling) is refused before what they sent is read.
		{name: "request approve (comment not a string)", method: "POST", path: request("approve"), body: map[string]any{"comment": 5},
			want: azCodes(forbidden, notFound, bad, notFound, forbidden, bad), has: map[int]string{bad: `"comment":["Expected a string, got number."]`},
			hasFor: map[string]string{requester: `"code":"self_decision"`, orgAdmin: `"code":"not_eligible"`}},
		{name: "request approve (malformed JSON)", method: "POST", path: request("approve"), body: malformedJSON,
			want: azCodes(forbidden, notFound, bad, notFound, forbidden, bad), has: parseError,
			hasFor: map[string]string{requester: `"code":"self_decision"`, orgAdmin: `"code":"not_eligible"`}},
		{name: "request reject (the wrong field)", method: "POST", path: request("reject"), body: map[string]any{"comment": "no"},
			want: azCodes(forbidden, notFound, bad, notFound, forbidden, bad), has: map[int]string{bad: `"comment":["Unknown field; this action takes \"reason\"."]`},
			hasFor: map[string]string{requester: `"code":"self_decision"`, orgAdmin: `"code":"not_eligible"`}},
		{name: "request reject (reason too long)", method: "POST", path: request("reject"), body: map[string]any{"reason": strings.Repeat("r", 2001)},
			want: azCodes(forbidden, notFound, bad, notFound, forbidden, bad), has: map[int]string{bad: `"code":"too_long"`},
			hasFor: map[string]string{requester: `"code":"self_decision"`, orgAdmin: `"code":"not_eligible"`}},
		{name: "request comment (text not a string)", method: "POST", path: request("comment"), body: map[string]any{"text": 5},
			want: azCodes(bad, notFound, bad, notFound, bad, bad), has: map[int]string{bad: `"text":["Expected a string, got number."]`}},
		{name: "request cancel (reason not a string)", method: "POST", path: request("cancel"), body: map[string]any{"reason": 5},
			want: azCodes(bad, notFound, forbidden, notFound, bad, bad), has: map[int]string{bad: `"reason":["Expected a string, got number."]`},
			hasFor: map[string]string{approver: `"code":"not_allowed"`}},

		// The codec endpoint: superusers and CODEC_TEAM (acme/security: dave).
		{name: "codec decode (not payloads)", method: "POST", path: "/api/v2/codec/decode", body: map[string]any{"payloads": 5},
			want: azCodes(forbidden, bad, forbidden, forbidden, forbidden, bad), has: map[int]string{bad: `"detail":"The body must be`}},
		{name: "codec encode (malformed JSON)", method: "POST", path: "/api/v2/codec/encode", body: malformedJSON,
			want: azCodes(forbidden, bad, forbidden, forbidden, forbidden, bad), has: map[int]string{bad: `"detail":"The body must be`}},
	}
}
