package api

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

// keysOf are the top-level keys of v as JSON, sorted.
func keysOf(t *testing.T, v any) []string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return slices.Sorted(maps.Keys(m))
}

// TestViews_FieldNames pins the field names of each representation: the
// typed views kept those the API always answered, and added only
// summary_fields.user_capabilities.
func TestViews_FieldNames(t *testing.T) {
	admin := access.Principal{UserID: 1, IsSuperuser: true}
	team, now := int64(3), time.Now()
	for name, tc := range map[string]struct {
		view any
		want []string
	}{
		"organization": {orgView(admin, store.Organization{ID: 1}),
			[]string{"awx_organization", "created", "description", "id", "modified", "name", "related", "summary_fields", "type", "url"}},
		"user": {userView(admin, store.User{ID: 2}),
			[]string{"created", "email", "first_name", "id", "is_active", "is_superuser", "last_name", "modified", "related", "summary_fields", "type", "url", "username"}},
		"user summary": {userSummary(store.User{ID: 2}), []string{"first_name", "id", "last_name", "type", "username"}},
		"identity": {Identity{User: userView(admin, store.User{ID: 2})},
			[]string{"created", "email", "first_name", "id", "is_active", "is_superuser", "last_name", "modified", "organizations", "related", "summary_fields", "teams", "type", "url", "username"}},
		"team": {teamView(admin, store.Team{ID: 3}),
			[]string{"created", "description", "id", "modified", "name", "organization", "related", "summary_fields", "type", "url"}},
		"token": {NewToken{Token: tokenView(store.Token{ID: 4, RevokedAt: &now})},
			[]string{"created", "description", "id", "last_used", "prefix", "revoked", "revoked_at", "token", "type", "url", "user"}},
		"decision key": {NewDecisionKey{DecisionKey: decisionKeyView(store.DecisionKey{ID: 5})},
			[]string{"created", "description", "expires", "id", "key_id", "last_used", "private_key", "revoked", "revoked_at", "type", "url", "user"}},
		"item": {itemViewFor(admin, store.CatalogItem{ID: 6, ApproverTeamID: &team}),
			[]string{"approver_team", "category", "created", "description", "enabled", "icon", "id", "is_workflow", "job_template", "modified", "name",
				"organization", "related", "requires_approval", "summary_fields", "tags", "type", "url", "workflow_job_template"}},
		"policy": {policyView(admin, store.Policy{ID: 7}),
			[]string{"condition", "created", "enabled", "id", "modified", "name", "organization", "priority", "stages", "summary_fields", "type", "url"}},
		"policy stage": {policyView(admin, store.Policy{Stages: []store.PolicyStage{{ApproverTeamID: &team}}}).Stages[0],
			[]string{"approver_team", "denial_message", "escalations", "max_extension", "min_approvers", "name", "order", "reminder_interval",
				"require_recent_login", "summary_fields", "timeout", "warn_before"}},
		"page": {Page[Team]{}, []string{"count", "next", "previous", "results"}},
	} {
		assert.Equal(t, tc.want, keysOf(t, tc.view), name)
	}
	item := itemViewFor(admin, store.CatalogItem{ID: 6, ApproverTeamID: &team})
	assert.Equal(t, []string{"approver_team", "organization", "user_capabilities"}, keysOf(t, item.SummaryFields))
	assert.Equal(t, []string{"delete", "edit", "submit"}, keysOf(t, item.SummaryFields.UserCapabilities))
	assert.Equal(t, []string{"delete", "edit"}, keysOf(t, policyView(admin, store.Policy{}).SummaryFields.UserCapabilities))
}
