package bench

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
)

// The benchmark's personas, from the demo organization: alice submits; bob
// (team sre) approves and reads his inbox.
const (
	benchRequester = "alice"
	benchApprover  = "bob"
)

// seedCatalog creates, through the store, catalog items for the demo AWX
// inventory and the policy that puts "Restart service" behind a single
// approval by team sre, and returns "Restart service": the item submitted
// and approved.
func seedCatalog(b *testing.B, s *testkit.Stack) store.CatalogItem {
	b.Helper()
	ctx := context.Background()
	org := s.Identity.Org.ID
	sre := s.Identity.Teams["sre"].ID
	id := func(v int64) *int64 { return &v }
	items := []store.NewCatalogItem{
		{OrganizationID: org, Name: "Restart service", Category: "operations", Tags: []string{"ops"},
			JobTemplateID: id(awxsim.DemoRestartServiceID), RequiresApproval: true, ApproverTeamID: &sre},
		{OrganizationID: org, Name: "Health check", Category: "operations", JobTemplateID: id(awxsim.DemoHealthCheckID)},
		{OrganizationID: org, Name: "Provision environment", Category: "environments", Tags: []string{"dev"},
			WorkflowJobTemplateID: id(awxsim.DemoProvisionEnvironmentID), RequiresApproval: true, ApproverTeamID: &sre},
		{OrganizationID: org, Name: "Rotate credentials", Category: "security", JobTemplateID: id(awxsim.DemoRotateCredentialsID),
			RequiresApproval: true},
	}
	var created []store.CatalogItem
	for _, ni := range items {
		item, err := s.Store.CreateCatalogItem(ctx, ni)
		require.NoError(b, err)
		created = append(created, item)
	}
	_, err := s.Store.CreatePolicy(ctx, store.NewPolicy{
		OrganizationID: org, Name: "operations: one SRE approval", Priority: 10,
		Condition: `item.category == "operations" && item.requires_approval`,
		Stages: []store.PolicyStage{{Name: "SRE review", ApproverTeamID: &sre, MinApprovers: 1,
			DenialMessage: "SRE declined the change.", Timeout: 72 * time.Hour, ReminderInterval: 24 * time.Hour}},
	})
	require.NoError(b, err)
	return created[0]
}

// seededUsers is how many extra requesters seedRequests creates.
const seededUsers = 500

// seedRequests inserts n finished and waiting requests straight into the
// projection, as if the worker had recorded them, so that lists and the
// inbox run against a realistically large table. They have no workflows.
//
// The mix, by id: 70% successful, 5% failed, 8% rejected, 3% expired, 2%
// canceled, 1% approved, 1% running, 10% pending approval. The pending
// ones wait for {bob, carol} (3 in 10; bob's inbox), {carol} alone (bob
// decided already), {dave} (team security) or {erin} (the org admin).
// Requests spread over the organization's catalog items; requesters are
// alice and seededUsers other members. Every request has
// one stage, and decided stages a decision by bob or carol.
//
// Ids continue the sequence, so requests submitted later get higher ids,
// and seeded job ids start at 1e9, far from the AWX simulator's.
func seedRequests(b *testing.B, s *testkit.Stack, n int) (firstID, lastID int64) {
	b.Helper()
	ctx := context.Background()
	db := s.Store.DB().DB
	org := s.Identity.Org.ID
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(b, err)
	defer func() { _ = tx.Rollback() }()

	mustExec(b, tx, `INSERT INTO users (username, email, first_name, last_name)
		SELECT 'user-' || lpad(g::text, 4, '0'), 'user-' || g || '@acme.example', 'User', g::text
		FROM generate_series(1, $1) g`, seededUsers)
	mustExec(b, tx, `INSERT INTO organization_members (organization_id, user_id)
		SELECT $1, id FROM users WHERE username LIKE 'user-%'`, org)
	require.NoError(b, tx.QueryRowContext(ctx, `SELECT nextval('service_requests_id_seq')`).Scan(&firstID))
	lastID = firstID + int64(n) - 1
	now := time.Now()
	// Items and requesters are picked from arrays by position, so one
	// INSERT ... SELECT spreads the rows over them.
	mustExec(b, tx, `WITH items AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(name ORDER BY id) AS names
			FROM catalog_items WHERE organization_id = $3),
		requesters AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(username ORDER BY id) AS names
			FROM users WHERE username LIKE 'user-%' OR username = $4)
		INSERT INTO service_requests (id, organization_id, catalog_item_id, catalog_item_name,
			requester_id, requester_username, justification, extra_vars, status, current_stage,
			pending_approvers, job_type, job_id, job_status, job_url, failure_reason, denial,
			state_seq, created, modified, finished, launch_attempted_at)
		SELECT $1::bigint + g - 1, $3, items.ids[1 + g % cardinality(items.ids)], items.names[1 + g % cardinality(items.ids)],
			requesters.ids[1 + (g * 7) % cardinality(requesters.ids)], requesters.names[1 + (g * 7) % cardinality(requesters.ids)],
			'seeded request ' || g,
			jsonb_build_object('service_name', (ARRAY['api', 'web', 'worker'])[1 + g % 3], 'drain_seconds', 30, 'reason', 'routine'),
			status,
			CASE WHEN status = 'pending_approval' THEN 0 END,
			CASE WHEN status <> 'pending_approval' THEN '{}'::text[]
				WHEN who < 3 THEN ARRAY['bob', 'carol'] WHEN who < 5 THEN ARRAY['carol']
				WHEN who < 8 THEN ARRAY['dave'] ELSE ARRAY['erin'] END,
			CASE WHEN launched THEN 'job' END,
			CASE WHEN launched THEN 1000000000 + g END,
			CASE WHEN launched THEN status ELSE '' END,
			CASE WHEN launched THEN 'https://awx.example/#/jobs/playbook/' || (1000000000 + g) ELSE '' END,
			CASE WHEN status = 'failed' THEN 'The AWX job failed: Task "Restart" failed on 1 host.' ELSE '' END,
			CASE WHEN status = 'rejected' THEN jsonb_build_object('stage', 'SRE review', 'message', 'SRE declined the change.',
				'reason', 'not during the freeze', 'user', 'carol', 'at', created + interval '1 hour') END,
			CASE WHEN status = 'pending_approval' THEN 2 ELSE 6 END,
			created,
			created + CASE WHEN status = 'pending_approval' THEN interval '1 second' ELSE interval '20 minutes' END,
			CASE WHEN status NOT IN ('pending_approval', 'approved', 'running') THEN created + interval '20 minutes' END,
			CASE WHEN launched THEN created + interval '15 minutes' END
		FROM (
			SELECT g, (g / 100) % 10 AS who, status, status IN ('running', 'successful', 'failed') AS launched,
				$5::timestamptz - ($2 - g) * interval '25 seconds' AS created
			FROM (
				SELECT g, CASE WHEN g % 100 < 10 THEN 'pending_approval' WHEN g % 100 = 10 THEN 'approved'
					WHEN g % 100 = 11 THEN 'running' WHEN g % 100 < 20 THEN 'rejected' WHEN g % 100 < 23 THEN 'expired'
					WHEN g % 100 < 25 THEN 'canceled' WHEN g % 100 < 30 THEN 'failed' ELSE 'successful' END AS status
				FROM generate_series(1, $2) g
			) gs
		) r, items, requesters`, firstID, n, org, benchRequester, now)
	mustExec(b, tx, `SELECT setval('service_requests_id_seq', $1::bigint)`, lastID)

	mustExec(b, tx, `INSERT INTO service_request_stages (request_id, position, name, approver_team_id, approver_team_name,
			min_approvers, denial_message, timeout_seconds, reminder_interval_seconds, status, opened_at, deadline, decided_at)
		SELECT r.id, 0, 'SRE review', t.id, COALESCE(t.name, ''), 1, 'SRE declined the change.', 259200, 86400,
			CASE r.status WHEN 'pending_approval' THEN 'pending' WHEN 'rejected' THEN 'rejected' WHEN 'expired' THEN 'expired'
				WHEN 'canceled' THEN 'canceled' ELSE 'approved' END,
			o.opened, o.opened + interval '72 hours',
			CASE WHEN r.status IN ('approved', 'running', 'successful', 'failed', 'rejected') THEN r.created + interval '1 hour' END
		FROM service_requests r
		CROSS JOIN LATERAL (SELECT CASE WHEN r.status = 'pending_approval'
			THEN greatest(r.created, $3::timestamptz - interval '48 hours') ELSE r.created END + interval '1 second' AS opened) o
		LEFT JOIN teams t ON t.organization_id = r.organization_id AND t.name = CASE
			WHEN r.pending_approvers @> ARRAY['dave'] THEN 'security'
			WHEN r.pending_approvers @> ARRAY['erin'] THEN NULL ELSE 'sre' END
		WHERE r.id BETWEEN $1::bigint AND $2::bigint`, firstID, lastID, now)
	mustExec(b, tx, `INSERT INTO service_request_responses (request_id, stage_position, username, kind, text, created)
		SELECT id, 0, CASE WHEN id % 2 = 0 THEN 'bob' ELSE 'carol' END,
			CASE WHEN status = 'rejected' THEN 'reject' ELSE 'approve' END,
			CASE WHEN status = 'rejected' THEN 'not during the freeze' ELSE '' END,
			created + interval '1 hour'
		FROM service_requests
		WHERE id BETWEEN $1::bigint AND $2::bigint AND status IN ('approved', 'running', 'successful', 'failed', 'rejected')`, firstID, lastID)
	require.NoError(b, tx.Commit())
	// The one transaction updated each approver's inbox count thousands of
	// times, and PostgreSQL cannot prune versions its own transaction left:
	// the table of a few rows grew to dozens of pages that every inbox read
	// would scan. Requests arriving over weeks, each in a transaction of its
	// own, leave no such table; compact it.
	_, err = db.ExecContext(ctx, `VACUUM FULL service_request_inbox_counts`)
	require.NoError(b, err)
	// Fresh statistics, as autovacuum would have gathered on a table that
	// grew over weeks; without them the planner guesses from an empty table.
	_, err = db.ExecContext(ctx, `ANALYZE`)
	require.NoError(b, err)
	return firstID, lastID
}

func mustExec(b *testing.B, tx *sql.Tx, q string, args ...any) {
	b.Helper()
	_, err := tx.ExecContext(context.Background(), q, args...)
	require.NoError(b, err)
}
