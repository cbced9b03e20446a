package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/internal/openapi"
	"github.com/countersign/countersign/web"
)

// The API's OpenAPI document is built from the table below and the view
// types the handlers answer with, so the two cannot drift silently: the
// api tests check every served route against the table, send every
// operation to the handlers and validate every answer they receive against
// the document.

// openAPIPath serves the document, without authentication.
const openAPIPath = "/api/v2/openapi.json"

// Document is the API's OpenAPI 3.1 document, built once.
func (s *Server) Document() (*openapi3.T, error) { return document() }

// Operations are the operations the document describes, one per route.
func (s *Server) Operations() []openapi.Operation { return operations() }

var document = sync.OnceValues(func() (*openapi3.T, error) {
	return openapi.Document(context.Background(), openapi.Info{
		Title:   "Countersign API",
		Version: Version,
		Description: "Countersign's REST API, in AWX's manner: AWX-style lists (count, next, previous, results), " +
			"error bodies {\"detail\": ...} or {\"field\": [\"message\", ...]}, and summary_fields.user_capabilities " +
			"saying what the caller may do to each object.",
	}, operations(),
		openapi.TypeSchema(approval.Duration(0), &openapi3.Schema{
			Type:        &openapi3.Types{openapi3.TypeString},
			Description: "A Go duration, such as \"72h0m0s\".",
			Example:     "72h0m0s",
		}),
		openapi.SessionCookie(web.SessionCookie, "The portal's session, set when signing in to the portal. "+
			"A call that changes something must also send the "+web.CSRFHeader+" header with the value of the "+
			web.CSRFCookie+" cookie (403 otherwise)."),
		openapi.CommonResponses(map[int]openapi.Response{
			http.StatusInternalServerError: {Body: Problem{}},
			http.StatusServiceUnavailable:  {Description: "The database or Temporal is unavailable; try again shortly.", Body: Problem{}},
		}),
		openapi.AuthResponses(map[int]openapi.Response{
			http.StatusUnauthorized: {Description: "No credentials, or ones that are not valid.", Body: Problem{}},
			http.StatusForbidden:    {Description: "The caller may not do this (or the CSRF header is missing).", Body: Problem{}},
		}),
	)
})

// documentJSON is the document as served.
var documentJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := document()
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

func (s *Server) openAPIDocument(c *gin.Context) {
	raw, err := documentJSON()
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Data(http.StatusOK, "application/json", raw)
}

// operations describes every route under /api/v2/ but the codec's
// (Temporal's codec server protocol, not this API's).
func operations() []openapi.Operation {
	id := []openapi.Param{{Name: "id", Type: int64(0)}}
	ops := []openapi.Operation{
		{Method: http.MethodGet, Path: "/api/v2/ping/", ID: "ping", Summary: "Check that the API answers", Tags: []string{"meta"},
			Public: true, Responses: answers(http.StatusOK, Ping{})},
		{Method: http.MethodGet, Path: openAPIPath, ID: "openAPIDocument", Summary: "This document", Tags: []string{"meta"},
			Public: true, Responses: answers(http.StatusOK, map[string]any{})},
		{Method: http.MethodGet, Path: "/api/v2/me/", ID: "me", Summary: "The caller, with their organizations and teams", Tags: []string{"users"},
			Responses: answers(http.StatusOK, Identity{})},
	}
	ops = append(ops, collection("/api/v2/organizations/", "organizations", "Organization", "Organizations", Organization{}, Page[Organization]{}, orgBody{},
		described(organizationFilters, filter("name", "", "Organizations of this name."))...)...)
	for _, m := range []struct{ path, name, what string }{
		{"admins", "OrgAdmins", "admins"}, {"users", "OrgMembers", "members"},
	} {
		ops = append(ops, members("/api/v2/organizations/:id/"+m.path+"/", "organizations", m.name, "the organization's "+m.what)...)
	}

	ops = append(ops, collection("/api/v2/users/", "users", "User", "Users", User{}, Page[User]{}, userBody{},
		described(userFilters, filter("username", "", "The user of this username."),
			filter("search", "", "Users whose username, name or email contain this text."))...)...)
	ops = append(ops,
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/users/:id/tokens/", ID: "listUserTokens", Tags: []string{"tokens"},
			Summary: "A user's API tokens", PathParams: id, Query: listParams(), Responses: answers(http.StatusOK, Page[Token]{}, 400, 404)},
		openapi.Operation{Method: http.MethodPost, Path: "/api/v2/users/:id/tokens/", ID: "createUserToken", Tags: []string{"tokens"},
			Summary: "Issue a user an API token; its text is in this answer only", PathParams: id, Body: tokenBody{},
			Responses: answers(http.StatusCreated, NewToken{}, 400, 404, 413)},
		openapi.Operation{Method: http.MethodDelete, Path: "/api/v2/tokens/:id/", ID: "revokeToken", Tags: []string{"tokens"},
			Summary: "Revoke an API token", PathParams: id, Responses: answers(http.StatusNoContent, nil, 404)},
	)
	for _, owner := range []struct{ path, name, whose string }{
		{"/api/v2/users/:id/decision_keys/", "User", "a user's"}, {"/api/v2/me/decision_keys/", "My", "the caller's"},
	} {
		var params []openapi.Param
		if owner.name == "User" {
			params = id
		}
		ops = append(ops,
			openapi.Operation{Method: http.MethodGet, Path: owner.path, ID: "list" + owner.name + "DecisionKeys", Tags: []string{"decision keys"},
				Summary: "List " + owner.whose + " decision keys", PathParams: params, Query: listParams(),
				Responses: answers(http.StatusOK, Page[DecisionKey]{}, 400, 404)},
			openapi.Operation{Method: http.MethodPost, Path: owner.path, ID: "create" + owner.name + "DecisionKey", Tags: []string{"decision keys"},
				Summary: "Issue " + owner.whose + " decision key for the temporal CLI; its private half is in this answer only", PathParams: params,
				Body: decisionKeyBody{}, Responses: answers(http.StatusCreated, NewDecisionKey{}, 400, 404, 413)},
		)
	}
	ops = append(ops, openapi.Operation{Method: http.MethodDelete, Path: "/api/v2/decision_keys/:id/", ID: "revokeDecisionKey",
		Tags: []string{"decision keys"}, Summary: "Revoke a decision key", PathParams: id, Responses: answers(http.StatusNoContent, nil, 404)})
	ops = append(ops,
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/users/:id/delegations/", ID: "listUserDelegations", Tags: []string{"delegations"},
			Summary: "The delegations a user gave (theirs, their organizations' admins' and superusers' to see)", PathParams: id,
			Query: listParams(), Responses: answers(http.StatusOK, Page[Delegation]{}, 400, 404)},
		openapi.Operation{Method: http.MethodPost, Path: "/api/v2/users/:id/delegations/", ID: "createUserDelegation", Tags: []string{"delegations"},
			Summary: "Let another user decide wherever this user may, from starts (default now) until ends", PathParams: id,
			Body: delegationBody{}, Responses: answers(http.StatusCreated, Delegation{}, 400, 404, 409, 413)},
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/delegations/:id/", ID: "getDelegation", Tags: []string{"delegations"},
			Summary: "A delegation", PathParams: id, Responses: answers(http.StatusOK, Delegation{}, 404)},
		openapi.Operation{Method: http.MethodDelete, Path: "/api/v2/delegations/:id/", ID: "deleteDelegation", Tags: []string{"delegations"},
			Summary: "Take a delegation back", PathParams: id, Responses: answers(http.StatusNoContent, nil, 404)},
	)
	ops = append(ops,
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/me/sessions/", ID: "listMySessions", Tags: []string{"sessions"},
			Summary: "The caller's live portal sessions; the one the call came with is current", Query: listParams(),
			Responses: answers(http.StatusOK, Page[Session]{}, 400, 404)},
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/users/:id/sessions/", ID: "listUserSessions", Tags: []string{"sessions"},
			Summary: "A user's live portal sessions (their own, or anyone's for a superuser)", PathParams: id, Query: listParams(),
			Responses: answers(http.StatusOK, Page[Session]{}, 400, 404)},
		openapi.Operation{Method: http.MethodDelete, Path: "/api/v2/sessions/:id/", ID: "revokeSession", Tags: []string{"sessions"},
			Summary: "Revoke a portal session: its cookie stops working", PathParams: id, Responses: answers(http.StatusNoContent, nil, 404)},
	)

	ops = append(ops, collection("/api/v2/teams/", "teams", "Team", "Teams", Team{}, Page[Team]{}, nameBody{},
		described(teamFilters, filter("organization", int64(0), "Teams of this organization."), filter("name", "", "Teams of this name."))...)...)
	ops = append(ops, members("/api/v2/teams/:id/members/", "teams", "TeamMembers", "the team's members")...)

	ops = append(ops, collection("/api/v2/service_catalog_items/", "catalog", "CatalogItem", "CatalogItems", Item{}, Page[Item]{}, itemBody{},
		described(itemFilters, filter("category", "", "Items of this category."),
			filter("enabled", false, "Enabled (true) or disabled (false) items; admins see disabled ones."),
			filter("organization", int64(0), "Items of this organization."),
			filter("search", "", "Items whose name or description contain this text."),
			filter("tag", "", "Items with this tag."))...)...)
	ops = append(ops,
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/service_catalog_items/:id/launch_data/", ID: "getLaunchData", Tags: []string{"catalog"},
			Summary: "What a request form needs: the surveys, and the approval plan a request would get", PathParams: id,
			Query: described(launchDataParams,
				filter("extra_vars", "", "The answers, as a JSON object (default: the survey's defaults)."),
				filter("node_survey_data", "", "The workflow nodes' answers, as a JSON object by node identifier."),
				filter("justification", "", "The justification, which policy conditions may test.")),
			Responses: answers(http.StatusOK, LaunchData{}, 400, 404, 409)},
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/service_catalog_items/:id/requests/", ID: "listCatalogItemRequests", Tags: []string{"catalog"},
			Summary: "An item's requests, for its organization's admins", PathParams: id, Query: requestListParams(),
			Responses: answers(http.StatusOK, Page[RequestSummary]{}, 400, 404)},
		openapi.Operation{Method: http.MethodPost, Path: "/api/v2/service_catalog_items/:id/submit/", ID: "submitRequest", Tags: []string{"requests"},
			Summary: "Request an item: the request starts its approval plan (Location names it)", PathParams: id, Body: submitBody{},
			Responses: answers(http.StatusCreated, RequestDetail{}, 400, 404, 409, 413)},
	)

	ops = append(ops, collection("/api/v2/approval_policies/", "policies", "ApprovalPolicy", "ApprovalPolicies", Policy{}, Page[Policy]{}, policyBody{},
		described(policyFilters, filter("organization", int64(0), "Policies of this organization."))...)...)

	ops = append(ops,
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/service_requests/", ID: "listRequests", Tags: []string{"requests"},
			Summary: "The requests the caller may see", Query: requestListParams(), Responses: answers(http.StatusOK, Page[RequestSummary]{}, 400, 404)},
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/service_requests/pending_approvals/", ID: "listPendingApprovals", Tags: []string{"requests"},
			Summary: "The caller's inbox: requests whose open stage they may decide and have not", Query: listParams(),
			Responses: answers(http.StatusOK, Page[RequestSummary]{}, 400, 404)},
		openapi.Operation{Method: http.MethodGet, Path: "/api/v2/service_requests/:id/", ID: "getRequest", Tags: []string{"requests"},
			Summary: "A request, from its workflow's live state when it answers (source)", PathParams: id,
			Responses: answers(http.StatusOK, RequestDetail{}, 404)},
		openapi.Operation{Method: http.MethodDelete, Path: "/api/v2/service_requests/:id/", ID: "deleteRequest", Tags: []string{"requests"},
			Summary: "Delete a request that never launched (withdrawing it first when it waits)", PathParams: id,
			Responses: answers(http.StatusNoContent, nil, 202, 404, 409)},
	)
	for _, d := range []struct{ action, id, field, summary string }{
		{"approve", "approveRequest", "comment", "Approve the open stage"}, {"reject", "rejectRequest", "reason", "Reject the request"},
		{"request_changes", "requestChanges", "reason", "Ask the requester for changes, ending the request changes_requested"},
		{"comment", "commentRequest", "text", "Comment on the request"}, {"cancel", "cancelRequest", "reason", "Cancel the request (its requester)"},
	} {
		ops = append(ops, openapi.Operation{Method: http.MethodPost, Path: "/api/v2/service_requests/:id/" + d.action + "/",
			ID: d.id, Tags: []string{"requests"}, Summary: d.summary, PathParams: id, Body: decisionBody{},
			Description: "The body's one field is " + d.field + "; the others are refused. 202: the decision was sent " +
				"but the workflow did not answer in time, so it may still apply.",
			Responses: answers(http.StatusOK, RequestDetail{}, 202, 400, 404, 409, 413)})
	}
	ops = append(ops, openapi.Operation{Method: http.MethodPost, Path: "/api/v2/service_requests/:id/extend/",
		ID: "extendRequest", Tags: []string{"requests"}, Summary: "Extend the open stage's deadline (an org admin or an eligible approver)",
		PathParams: id, Body: extendBody{},
		Description: "by is a duration such as \"24h\"; a stage's extensions add up to its max_extension at most " +
			"(extension_not_allowed, extension_exceeded). 202: sent, but the workflow did not answer in time.",
		Responses: answers(http.StatusOK, RequestDetail{}, 202, 400, 403, 404, 409, 413)})
	ops = append(ops, openapi.Operation{Method: http.MethodPost, Path: "/api/v2/service_requests/:id/escalate/",
		ID: "escalateRequest", Tags: []string{"requests"}, Summary: "Escalate the open stage to a team of the organization (an org admin)",
		PathParams: id, Body: escalateBody{},
		Description: "The team's active members may then decide the open stage too; approvals given stay. " +
			"already_escalated when the team decides it already. 202: sent, but the workflow did not answer in time.",
		Responses: answers(http.StatusOK, RequestDetail{}, 202, 400, 403, 404, 409, 413)})
	return ops
}

// answers is an operation's responses: ok with body, and the error
// statuses it can answer besides the common ones, with their bodies.
func answers(ok int, body any, errs ...int) map[int]openapi.Response {
	out := map[int]openapi.Response{ok: {Body: body}}
	for _, status := range errs {
		switch status {
		case http.StatusAccepted:
			out[status] = openapi.Response{Description: "Sent, but not known to apply yet: check the request at url.", Body: InFlight{}}
		case http.StatusBadRequest:
			out[status] = openapi.Response{Body: openapi.AnyOf{Problem{}, FieldErrors{}}}
		default:
			out[status] = openapi.Response{Body: Problem{}}
		}
	}
	return out
}

// collection documents the five routes kind.mount serves at path for
// objects named name (names in lists) shown as view, listed as page and
// written as body.
func collection(path, tag, name, names string, view, page, body any, filters ...openapi.Param) []openapi.Operation {
	id := []openapi.Param{{Name: "id", Type: int64(0)}}
	tags := []string{tag}
	return []openapi.Operation{
		{Method: http.MethodGet, Path: path, ID: "list" + names, Tags: tags, Query: listParams(filters...),
			Responses: answers(http.StatusOK, page, 400, 404)},
		{Method: http.MethodPost, Path: path, ID: "create" + name, Tags: tags, Body: body,
			Responses: answers(http.StatusCreated, view, 400, 404, 409, 413)},
		{Method: http.MethodGet, Path: path + ":id/", ID: "get" + name, Tags: tags, PathParams: id,
			Responses: answers(http.StatusOK, view, 404)},
		{Method: http.MethodPatch, Path: path + ":id/", ID: "update" + name, Tags: tags, PathParams: id, Body: body,
			Description: "Fields left out keep their value; the object as GET shows it may be sent back whole.",
			Responses:   answers(http.StatusOK, view, 400, 404, 409, 413)},
		{Method: http.MethodDelete, Path: path + ":id/", ID: "delete" + name, Tags: tags, PathParams: id,
			Responses: answers(http.StatusNoContent, nil, 404, 409)},
	}
}

// members documents a membership's list and its change.
func members(path, tag, name, what string) []openapi.Operation {
	id := []openapi.Param{{Name: "id", Type: int64(0)}}
	return []openapi.Operation{
		{Method: http.MethodGet, Path: path, ID: "list" + name, Tags: []string{tag}, PathParams: id, Query: listParams(),
			Summary:     "List " + what,
			Description: "In full to the organization's admins; as fellow members see them to others.",
			Responses:   answers(http.StatusOK, openapi.AnyOf{Page[User]{}, Page[UserSummary]{}}, 400, 404)},
		{Method: http.MethodPost, Path: path, ID: "change" + name, Tags: []string{tag}, PathParams: id, Body: association{},
			Summary:   "Add ({\"id\": N}) or remove ({\"id\": N, \"disassociate\": true}) one of " + what,
			Responses: answers(http.StatusNoContent, nil, 400, 404, 409, 413)},
	}
}

// listParams are the pagination and ordering every list reads, then
// filters.
func listParams(filters ...openapi.Param) []openapi.Param {
	return append([]openapi.Param{
		{Name: "page", Type: 0, Description: "The page, from 1."},
		{Name: "page_size", Type: 0, Description: "Results per page: 25 by default, at most 200."},
		{Name: "order_by", Description: "Fields to order by, comma-separated; - before one reverses it."},
		{Name: "order", Description: "The same as order_by."},
	}, filters...)
}

func filter(name string, typ any, description string) openapi.Param {
	return openapi.Param{Name: name, Type: typ, Description: description}
}

// requestListParams are a request list's parameters (see readRequestFilter).
func requestListParams() []openapi.Param {
	return listParams(described(requestFilters,
		filter("mine", false, "Only the caller's own requests."),
		filter("status", "", "Requests in these statuses, comma-separated."),
		filter("catalog_item", int64(0), "Requests for this catalog item."),
		filter("requester", "", "Requests by this username."),
		filter("organization", int64(0), "Requests in this organization."),
	)...)
}

// described are the parameters a handler takes (names, the list it
// checks calls against), as params describe them: the document lists
// exactly what the handler takes, and a parameter added to one without a
// description stops the document's build.
func described(names []string, params ...openapi.Param) []openapi.Param {
	out := make([]openapi.Param, len(names))
	for i, name := range names {
		j := slices.IndexFunc(params, func(p openapi.Param) bool { return p.Name == name })
		if j < 0 {
			panic("api: the query parameter " + name + " is not described for the document")
		}
		out[i] = params[j]
	}
	if len(params) != len(names) {
		panic("api: a query parameter is described for the document that the handler does not take")
	}
	return out
}
