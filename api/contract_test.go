package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/openapi"
)

// notInTheDocument are the served routes the API's document leaves out,
// each for a reason.
func notInTheDocument(r openapi.Route) bool {
	switch {
	case r.Path == "/" || strings.HasPrefix(r.Path, "/ui/") || strings.HasPrefix(r.Path, "/static/"):
		return true // the portal's pages and files, for browsers
	case r.Path == "/metrics":
		return true // Prometheus's text format, for scrapers
	case strings.HasPrefix(r.Path, "/api/v2/codec/"):
		return true // Temporal's codec server protocol, for the Web UI and the CLI
	}
	return false
}

// TestAPI_EveryRouteIsDocumented: every route the API serves is in its
// document and every operation of the document is served, but the routes
// notInTheDocument leaves out, none of them under /api/v2/ but the
// codec's.
func TestAPI_EveryRouteIsDocumented(t *testing.T) {
	e := newEnv(t)
	routes := e.srv.Handler().(*gin.Engine).Routes()
	ops := e.srv.Operations()
	require.NoError(t, openapi.Coverage(routes, ops, notInTheDocument).Err())

	for _, r := range routes {
		if notInTheDocument(openapi.Route{Method: r.Method, Path: r.Path}) {
			assert.False(t, strings.HasPrefix(r.Path, "/api/v2/") && !strings.HasPrefix(r.Path, "/api/v2/codec/"),
				"%s %s is left out of the document", r.Method, r.Path)
		}
	}
	// The check notices an operation missing from the table.
	gaps := openapi.Coverage(routes, ops[1:], notInTheDocument)
	assert.Equal(t, []openapi.Route{ops[0].Route()}, gaps.Undocumented)
}

// TestAPI_ServesItsOpenAPIDocument: anyone fetches the document over HTTP,
// and kin-openapi loads and validates it as an OpenAPI 3.1 document of
// every operation.
func TestAPI_ServesItsOpenAPIDocument(t *testing.T) {
	e := newEnv(t)
	req := e.request(http.MethodGet, "/api/v2/openapi.json", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	status, raw := e.raw(personaAnonymous, http.MethodGet, "/api/v2/openapi.json", nil)
	require.Equal(t, http.StatusOK, status, "%s", raw)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	assert.Equal(t, "Countersign API", doc.Info.Title)

	operations := 0
	for _, item := range doc.Paths.Map() {
		operations += len(item.Operations())
	}
	assert.Equal(t, len(e.srv.Operations()), operations, "one operation per route of the table")
	for _, op := range e.srv.Operations() {
		path, _ := openapi.OpenAPIPath(op.Path)
		item := doc.Paths.Value(path)
		require.NotNil(t, item, path)
		got := item.GetOperation(op.Method)
		require.NotNil(t, got, "%v", op.Route())
		assert.Equal(t, op.ID, got.OperationID)
		assert.Equal(t, op.Public, got.Security != nil && len(*got.Security) == 0, "%s is public exactly when the table says", op.ID)
	}

	_, again := e.raw(requester, http.MethodGet, "/api/v2/openapi.json", nil)
	assert.Equal(t, string(raw), string(again), "built once, served the same")

	// What a client loads checks the API's answers as the suite's does.
	v, err := openapi.NewValidator(doc)
	require.NoError(t, err)
	status, raw = e.raw(requester, http.MethodGet, "/api/v2/me/", nil)
	require.NoError(t, v.ValidateResponse(context.Background(), http.MethodGet, "/api/v2/me/", status, http.Header{"Content-Type": {"application/json"}}, raw))
}

// TestAPI_ContractEveryOperation sends every documented operation to the
// real handlers, with a valid body and parameters on seeded data, and
// checks its answer against the document (env.send checks every answer);
// an operation without a case fails the test.
func TestAPI_ContractEveryOperation(t *testing.T) {
	e := newEnv(t)
	_, restart := e.catalog()
	p := fmt.Sprintf
	org, sre := e.orgID(), e.teamID("sre")
	alice, bob := e.userID(requester), e.userID(approver)
	var newOrg, newUser, newTeam, newItem, newPolicy, token, key, session, delegation, approved, rejected, canceled, changed int64
	portal := e.session(approver)

	cases := []struct {
		op  string
		run func()
	}{
		{"ping", func() { e.must(http.StatusOK, personaAnonymous, "GET", "/api/v2/ping/", nil) }},
		{"openAPIDocument", func() { e.must(http.StatusOK, personaAnonymous, "GET", "/api/v2/openapi.json", nil) }},
		{"me", func() { e.must(http.StatusOK, approver, "GET", "/api/v2/me/", nil) }},

		{"listOrganizations", func() { e.must(http.StatusOK, superuser, "GET", "/api/v2/organizations/?name=acme&page_size=5", nil) }},
		{"createOrganization", func() {
			newOrg = idOf(e.must(http.StatusCreated, superuser, "POST", "/api/v2/organizations/", map[string]any{"name": "contract", "awx_organization": 1}))
		}},
		{"getOrganization", func() { e.must(http.StatusOK, orgAdmin, "GET", p("/api/v2/organizations/%d/", org), nil) }},
		{"updateOrganization", func() {
			e.must(http.StatusOK, superuser, "PATCH", p("/api/v2/organizations/%d/", newOrg), map[string]any{"description": "for the contract"})
		}},
		{"changeOrgAdmins", func() {
			e.must(http.StatusNoContent, superuser, "POST", p("/api/v2/organizations/%d/admins/", newOrg), map[string]any{"id": alice})
		}},
		{"listOrgAdmins", func() {
			e.must(http.StatusOK, superuser, "GET", p("/api/v2/organizations/%d/admins/", newOrg), nil)
			e.must(http.StatusOK, requester, "GET", p("/api/v2/organizations/%d/admins/", org), nil) // as members see them
		}},
		{"changeOrgMembers", func() {
			e.must(http.StatusNoContent, superuser, "POST", p("/api/v2/organizations/%d/users/", newOrg), map[string]any{"id": bob})
		}},
		{"listOrgMembers", func() {
			e.must(http.StatusOK, orgAdmin, "GET", p("/api/v2/organizations/%d/users/?page_size=2", org), nil)
		}},

		{"listUsers", func() { e.must(http.StatusOK, orgAdmin, "GET", "/api/v2/users/?search=a&order_by=username", nil) }},
		{"createUser", func() {
			newUser = idOf(e.must(http.StatusCreated, superuser, "POST", "/api/v2/users/", map[string]any{"username": "contract", "email": "c@example.com"}))
		}},
		{"getUser", func() { e.must(http.StatusOK, requester, "GET", p("/api/v2/users/%d/", alice), nil) }},
		{"updateUser", func() {
			e.must(http.StatusOK, superuser, "PATCH", p("/api/v2/users/%d/", newUser), map[string]any{"first_name": "Con"})
		}},
		{"createUserToken", func() {
			token = idOf(e.must(http.StatusCreated, requester, "POST", p("/api/v2/users/%d/tokens/", alice), map[string]any{"description": "ci"}))
		}},
		{"listUserTokens", func() { e.must(http.StatusOK, requester, "GET", p("/api/v2/users/%d/tokens/", alice), nil) }},
		{"revokeToken", func() { e.must(http.StatusNoContent, requester, "DELETE", p("/api/v2/tokens/%d/", token), nil) }},
		{"createUserDelegation", func() {
			delegation = idOf(e.must(http.StatusCreated, approver, "POST", p("/api/v2/users/%d/delegations/", bob),
				map[string]any{"delegate": alice, "ends": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339), "reason": "away"}))
		}},
		{"listUserDelegations", func() { e.must(http.StatusOK, orgAdmin, "GET", p("/api/v2/users/%d/delegations/", bob), nil) }},
		{"getDelegation", func() { e.must(http.StatusOK, approver, "GET", p("/api/v2/delegations/%d/", delegation), nil) }},
		{"deleteDelegation", func() {
			e.must(http.StatusNoContent, approver, "DELETE", p("/api/v2/delegations/%d/", delegation), nil)
		}},
		{"createUserDecisionKey", func() {
			e.must(http.StatusCreated, approver, "POST", p("/api/v2/users/%d/decision_keys/", bob), map[string]any{"description": "laptop"})
		}},
		{"listUserDecisionKeys", func() { e.must(http.StatusOK, superuser, "GET", p("/api/v2/users/%d/decision_keys/", bob), nil) }},
		{"createMyDecisionKey", func() {
			key = idOf(e.must(http.StatusCreated, approver, "POST", "/api/v2/me/decision_keys/",
				map[string]any{"expires": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}))
		}},
		{"listMyDecisionKeys", func() { e.must(http.StatusOK, approver, "GET", "/api/v2/me/decision_keys/", nil) }},
		{"revokeDecisionKey", func() { e.must(http.StatusNoContent, approver, "DELETE", p("/api/v2/decision_keys/%d/", key), nil) }},
		{"listMySessions", func() {
			status, body := e.cookieCall(portal, "GET", "/api/v2/me/sessions/", nil, "", true)
			require.Equal(e.t, http.StatusOK, status, "%v", body)
			session = idOf(body["results"].([]any)[0].(map[string]any))
		}},
		{"listUserSessions", func() { e.must(http.StatusOK, superuser, "GET", p("/api/v2/users/%d/sessions/", bob), nil) }},
		{"revokeSession", func() { e.must(http.StatusNoContent, approver, "DELETE", p("/api/v2/sessions/%d/", session), nil) }},

		{"listTeams", func() { e.must(http.StatusOK, requester, "GET", p("/api/v2/teams/?organization=%d", org), nil) }},
		{"createTeam", func() {
			newTeam = idOf(e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/teams/", map[string]any{"organization": org, "name": "contract"}))
		}},
		{"getTeam", func() { e.must(http.StatusOK, approver, "GET", p("/api/v2/teams/%d/", sre), nil) }},
		{"updateTeam", func() {
			e.must(http.StatusOK, orgAdmin, "PATCH", p("/api/v2/teams/%d/", newTeam), map[string]any{"description": "ad hoc"})
		}},
		{"changeTeamMembers", func() {
			e.must(http.StatusNoContent, orgAdmin, "POST", p("/api/v2/teams/%d/members/", newTeam), map[string]any{"id": alice})
		}},
		{"listTeamMembers", func() {
			e.must(http.StatusOK, orgAdmin, "GET", p("/api/v2/teams/%d/members/", sre), nil)
			e.must(http.StatusOK, approver, "GET", p("/api/v2/teams/%d/members/", sre), nil) // as fellow members see them
		}},

		{"listCatalogItems", func() {
			e.must(http.StatusOK, requester, "GET", "/api/v2/service_catalog_items/?enabled=true&search=e", nil)
		}},
		{"createCatalogItem", func() {
			newItem = idOf(e.must(http.StatusCreated, superuser, "POST", "/api/v2/service_catalog_items/", map[string]any{
				"organization": org, "name": "Health check", "job_template": awxsim.DemoHealthCheckID, "tags": []string{"ops"},
			}))
		}},
		{"getCatalogItem", func() { e.must(http.StatusOK, requester, "GET", p("/api/v2/service_catalog_items/%d/", restart), nil) }},
		{"updateCatalogItem", func() {
			e.must(http.StatusOK, orgAdmin, "PATCH", p("/api/v2/service_catalog_items/%d/", newItem), map[string]any{"category": "checks"})
		}},
		{"getLaunchData", func() {
			e.must(http.StatusOK, requester, "GET", p("/api/v2/service_catalog_items/%d/launch_data/?justification=why", restart), nil)
		}},

		{"listApprovalPolicies", func() {
			e.must(http.StatusOK, orgAdmin, "GET", p("/api/v2/approval_policies/?organization=%d", org), nil)
		}},
		{"createApprovalPolicy", func() {
			newPolicy = idOf(e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
				"organization": org, "name": "contract", "priority": 90, "condition": `justification == "contract"`,
				"stages": []map[string]any{{"name": "Review", "approver_team": sre, "min_approvers": 1, "timeout": "24h", "reminder_interval": "4h"}},
			}))
		}},
		{"getApprovalPolicy", func() { e.must(http.StatusOK, orgAdmin, "GET", p("/api/v2/approval_policies/%d/", newPolicy), nil) }},
		{"updateApprovalPolicy", func() {
			e.must(http.StatusOK, orgAdmin, "PATCH", p("/api/v2/approval_policies/%d/", newPolicy), map[string]any{"enabled": false})
		}},

		{"submitRequest", func() {
			e.must(http.StatusCreated, requester, "POST", p("/api/v2/service_catalog_items/%d/submit/", restart), restartServiceAnswers())
			approved = e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
			rejected = e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
			canceled = e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
			changed = e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
		}},
		{"listRequests", func() {
			e.must(http.StatusOK, requester, "GET", "/api/v2/service_requests/?mine=true&status=pending_approval,approved&order_by=-id", nil)
		}},
		{"listPendingApprovals", func() { e.must(http.StatusOK, approver, "GET", "/api/v2/service_requests/pending_approvals/", nil) }},
		{"listCatalogItemRequests", func() {
			e.must(http.StatusOK, orgAdmin, "GET", p("/api/v2/service_catalog_items/%d/requests/?requester=%s", restart, requester), nil)
		}},
		{"getRequest", func() { e.must(http.StatusOK, requester, "GET", p("/api/v2/service_requests/%d/", approved), nil) }},
		{"commentRequest", func() {
			e.must(http.StatusOK, approver, "POST", p("/api/v2/service_requests/%d/comment/", approved), map[string]any{"text": "on it"})
		}},
		{"approveRequest", func() {
			e.must(http.StatusOK, approver, "POST", p("/api/v2/service_requests/%d/approve/", approved), map[string]any{"comment": "fine"})
		}},
		{"rejectRequest", func() {
			e.must(http.StatusOK, approver, "POST", p("/api/v2/service_requests/%d/reject/", rejected), map[string]any{"reason": "not now"})
		}},
		{"requestChanges", func() {
			e.must(http.StatusOK, approver, "POST", p("/api/v2/service_requests/%d/request_changes/", changed), map[string]any{"reason": "smaller"})
		}},
		{"extendRequest", func() {
			out := e.must(http.StatusConflict, approver, "POST", p("/api/v2/service_requests/%d/extend/", canceled), map[string]any{"by": "1h", "reason": "away"})
			assert.Equal(e.t, "extension_not_allowed", out["code"], "the fallback stage allows no extension")
		}},
		{"escalateRequest", func() {
			out := e.must(http.StatusOK, orgAdmin, "POST", p("/api/v2/service_requests/%d/escalate/", canceled), map[string]any{"approver_team": newTeam, "reason": "more eyes"})
			assert.Equal(e.t, "contract", stageOf(out, 0)["escalated"].([]any)[0].(map[string]any)["approver_team"].(map[string]any)["name"])
		}},
		{"cancelRequest", func() {
			e.must(http.StatusOK, requester, "POST", p("/api/v2/service_requests/%d/cancel/", canceled), map[string]any{"reason": "no longer needed"})
		}},
		{"deleteRequest", func() {
			// Once the projection knows it is rejected: a delete that finds
			// it pending withdraws it through its workflow, which refuses.
			e.eventually(10*time.Second, "the rejection in the projection", func() bool {
				return slices.Contains(ids(e.must(http.StatusOK, requester, "GET", "/api/v2/service_requests/?status=rejected", nil)), rejected)
			})
			e.must(http.StatusNoContent, requester, "DELETE", p("/api/v2/service_requests/%d/", rejected), nil)
		}},

		{"deleteApprovalPolicy", func() {
			e.must(http.StatusNoContent, orgAdmin, "DELETE", p("/api/v2/approval_policies/%d/", newPolicy), nil)
		}},
		{"deleteCatalogItem", func() {
			e.must(http.StatusNoContent, orgAdmin, "DELETE", p("/api/v2/service_catalog_items/%d/", newItem), nil)
		}},
		{"deleteTeam", func() { e.must(http.StatusNoContent, orgAdmin, "DELETE", p("/api/v2/teams/%d/", newTeam), nil) }},
		{"deleteUser", func() { e.must(http.StatusNoContent, superuser, "DELETE", p("/api/v2/users/%d/", newUser), nil) }},
		{"deleteOrganization", func() { e.must(http.StatusNoContent, superuser, "DELETE", p("/api/v2/organizations/%d/", newOrg), nil) }},
	}

	var covered, documented []string
	for _, c := range cases {
		covered = append(covered, c.op)
	}
	for _, op := range e.srv.Operations() {
		documented = append(documented, op.ID)
	}
	slices.Sort(covered)
	slices.Sort(documented)
	require.Equal(t, documented, covered, "one case per documented operation")

	for _, c := range cases {
		if !t.Run(c.op, func(t *testing.T) {
			e.t = t
			c.run()
		}) {
			return // later cases build on earlier ones
		}
	}

	// Every query parameter the document lists is one the operation
	// takes: all of them at once are accepted, each with a valid value.
	t.Run("query parameters", func(t *testing.T) {
		e.t = t
		values := map[string]string{"page": "1", "page_size": "5", "order_by": "-id", "order": "-id", "status": "approved,canceled",
			"extra_vars": `{"service_name": "worker"}`, "node_survey_data": "{}", "requester": requester, "name": "acme",
			"organization": fmt.Sprint(org), "catalog_item": fmt.Sprint(restart), "username": requester}
		pathIDs := map[string]int64{"organizations": org, "users": alice, "teams": sre, "service_catalog_items": restart}
		for _, op := range e.srv.Operations() {
			if op.Method != http.MethodGet || len(op.Query) == 0 {
				continue
			}
			query := url.Values{}
			for _, param := range op.Query {
				v, ok := values[param.Name]
				switch {
				case ok:
				case param.Type == false:
					v = "true"
				default:
					v = "e"
				}
				query.Set(param.Name, v)
			}
			path := op.Path
			if strings.Contains(path, ":id") {
				collection := strings.Split(strings.TrimPrefix(path, "/api/v2/"), "/")[0]
				path = strings.Replace(path, ":id", fmt.Sprint(pathIDs[collection]), 1)
			}
			e.must(http.StatusOK, superuser, http.MethodGet, path+"?"+query.Encode(), nil)
		}
	})
}
