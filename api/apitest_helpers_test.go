package api_test

// Helpers shared by the authorization, bad-input, survey and secrets tests.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Personas that are not users: no Authorization header at all, and a
// bearer token that matches nothing.
const (
	personaAnonymous = ""
	personaBadToken  = "not-a-valid-token-0000"
)

// personaLabel names a persona in failure messages.
func personaLabel(p string) string {
	switch p {
	case personaAnonymous:
		return "anonymous"
	case personaBadToken:
		return "bad token"
	case requester:
		return "alice (requester)"
	case otherTeam:
		return "dave (approver of another team)"
	case approver:
		return "bob (approver)"
	case otherAdmin:
		return "oscar (admin of initech)"
	case orgAdmin:
		return "erin (org admin)"
	case superuser:
		return "admin (superuser)"
	}
	return p
}

// userID is the id of a persona's user.
func (e *env) userID(username string) int64 {
	e.t.Helper()
	u, err := e.stack.Store.GetUserByUsername(context.Background(), username)
	require.NoError(e.t, err)
	return u.ID
}

// restartServiceAnswers are valid answers for "Restart service".
func restartServiceAnswers() map[string]any {
	return map[string]any{"justification": "stuck workers", "extra_vars": map[string]any{"service_name": "worker"}}
}

// submitAndWait submits answers to item as user, checks that user waiter
// has it in their inbox, and waits until its workflow has recorded its
// first state, so that nothing the workflow does at its start changes
// the database under the caller.
func (e *env) submitAndWait(user string, item int64, answers map[string]any, waiter string) int64 {
	e.t.Helper()
	id := idOf(e.must(http.StatusCreated, user, "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", item), answers))
	require.Contains(e.t, e.inbox(waiter), id, "the 201 is read-your-writes: %s finds request %d at once", waiter, id)
	e.awaitRecorded(id)
	return id
}

// awaitRecorded waits until request id's workflow has recorded its first
// state in the projection.
func (e *env) awaitRecorded(id int64) {
	e.t.Helper()
	e.eventually(30*time.Second, fmt.Sprintf("request %d's workflow to record its state", id), func() bool {
		r, err := e.stack.Store.GetRequest(context.Background(), id)
		return err == nil && r.StateSeq > 0
	})
}

// sortedIDList returns ids sorted, never nil.
func sortedIDList(in []int64) []int64 {
	out := append([]int64{}, in...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// publicTables lists the tables of the public schema.
func (e *env) publicTables() []string {
	e.t.Helper()
	var tables []string
	require.NoError(e.t, e.stack.Store.DB().SelectContext(context.Background(), &tables,
		`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`))
	require.NotEmpty(e.t, tables)
	return tables
}

// volatileTables change on their own while a test reads (a token's
// last_used is written when it authenticates); only their row counts are
// compared.
var volatileTables = map[string]bool{"api_tokens": true}

// dbState is, per table, its row count and (for stable tables) a digest of
// every row: two equal states mean nothing was inserted, deleted or
// updated.
func (e *env) dbState() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, table := range e.publicTables() {
		var count int
		require.NoError(e.t, e.stack.Store.DB().GetContext(context.Background(), &count,
			fmt.Sprintf(`SELECT count(*) FROM %q`, table)))
		state := fmt.Sprintf("%d rows", count)
		if !volatileTables[table] {
			var digest string
			require.NoError(e.t, e.stack.Store.DB().GetContext(context.Background(), &digest,
				fmt.Sprintf(`SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM %q t`, table)))
			state += " " + digest
		}
		out[table] = state
	}
	return out
}

// dumpDatabase is every row of every table as text, one per line.
func (e *env) dumpDatabase() string {
	e.t.Helper()
	var b strings.Builder
	for _, table := range e.publicTables() {
		var rows []string
		require.NoError(e.t, e.stack.Store.DB().SelectContext(context.Background(), &rows,
			fmt.Sprintf(`SELECT t::text FROM %q t`, table)))
		for _, r := range rows {
			b.WriteString(table)
			b.WriteString(": ")
			b.WriteString(r)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// sameJSON reports whether raw decodes to the same JSON value as want.
func sameJSON(t *testing.T, want any, raw []byte) (bool, string) {
	t.Helper()
	wantRaw, err := json.Marshal(want)
	require.NoError(t, err)
	var a, b any
	require.NoError(t, json.Unmarshal(wantRaw, &a))
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, fmt.Sprintf("not JSON: %q", raw)
	}
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	return string(aj) == string(bj), string(bj)
}

// decodeObject decodes a JSON object answer.
func decodeObject(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	return out
}

// keysOf are an object's keys, sorted.
func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}

// extendableRestart submits a restart as requester under a policy of one
// SRE stage of 24 h that may be extended by up to 36 h, and returns its id
// once the approver has it.
func (e *env) extendableRestart() int64 {
	e.t.Helper()
	_, restart := e.catalog()
	e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": e.orgID(), "name": "restarts", "priority": 1,
		"stages": []map[string]any{{"name": "SRE", "approver_team": e.teamID("sre"), "timeout": "24h", "max_extension": "36h"}},
	})
	return e.submitAndWait(requester, restart, restartServiceAnswers(), approver)
}
