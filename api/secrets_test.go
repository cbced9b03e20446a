package api_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
)

// secretTemplateID is a simulator job template with password questions.
const secretTemplateID int64 = 802

func TestAPI_PasswordsNeverLeak(t *testing.T) {
	e := newEnv(t)
	provision, _ := e.catalog()
	salt := fmt.Sprintf("%08x", rand.Uint32())
	secrets := map[string]string{
		"db_password (valid)":                     "pw-provision-" + salt,
		"api_key (valid)":                         "apikey-valid-" + salt,
		"db_password (too short)":                 "Zq#7!w",
		"api_key (too short)":                     "Kx#9!" + salt[:5],
		"api_key (valid, in a refused form)":      "apikey-refused-" + salt,
		"api_key (in a launch_data preview)":      "apikey-preview-" + salt,
		"fallback_secret (template default)":      "fallback-default-" + salt,
		"api_key (a number, not a string)":        "31415926535897932",
		"db_password (refused with other errors)": "pw-other-errors-" + salt,
	}
	require.NoError(t, e.stack.Sim.AddJobTemplate(awxsim.JobTemplate{
		ID: secretTemplateID, Name: "Rotate API key", SurveyEnabled: true, AskLabelsOnLaunch: true,
		Survey: &awxsim.Survey{Name: "Rotate API key", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionText, QuestionName: "Target", Variable: "target", Required: true, Max: secretIntPtr(40)},
			{Type: awxsim.QuestionPassword, QuestionName: "New API key", Variable: "api_key", Required: true, Min: secretIntPtr(12)},
			{Type: awxsim.QuestionPassword, QuestionName: "Fallback secret", Variable: "fallback_secret", Default: secrets["fallback_secret (template default)"]},
		}},
	}))
	rotate := idOf(e.must(http.StatusCreated, orgAdmin, "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": e.orgID(), "name": "Rotate API key", "job_template": secretTemplateID, "icon": "key-round",
		"requires_approval": true, "approver_team": e.teamID("security"),
	}))
	submitPath := func(item int64) string { return fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", item) }
	withDBPassword := func(pw string) map[string]any {
		a := provisionAnswers(3)
		a["node_survey_data"].(map[string]any)["create-database"].(map[string]any)["db_password"] = pw
		return a
	}
	rotateAnswers := func(key any) map[string]any {
		return map[string]any{"justification": "quarterly rotation", "extra_vars": map[string]any{"target": "billing", "api_key": key}}
	}

	// Refused submissions: AWX's messages show the password as $encrypted$.
	refusals := []struct {
		item int64
		body map[string]any
		want map[string]any
	}{
		{provision, withDBPassword(secrets["db_password (too short)"]),
			fieldErr("node_survey_data.create-database.db_password", "'db_password' value $encrypted$ is too small (length is 6 must be at least 8).")},
		{rotate, rotateAnswers(secrets["api_key (too short)"]),
			fieldErr("extra_vars.api_key", "'api_key' value $encrypted$ is too small (length is 10 must be at least 12).")},
		{rotate, rotateAnswers(json.Number(secrets["api_key (a number, not a string)"])),
			fieldErr("extra_vars.api_key", "Value $encrypted$ for 'api_key' expected to be a string.")},
		{rotate, map[string]any{"justification": "rotation", "extra_vars": map[string]any{"target": strings.Repeat("t", 41), "api_key": secrets["api_key (valid, in a refused form)"]}},
			fieldErr("extra_vars.target", "'target' value "+strings.Repeat("t", 41)+" is too large (must be no more than 40).")},
		{provision, func() map[string]any {
			a := withDBPassword(secrets["db_password (refused with other errors)"])
			a["extra_vars"].(map[string]any)["ttl_days"] = 99
			return a
		}(), fieldErr("extra_vars.ttl_days", "'ttl_days' value 99 is too large (must be no more than 30).")},
	}
	for _, r := range refusals {
		status, raw := e.raw(requester, "POST", submitPath(r.item), r.body)
		require.Equal(t, http.StatusBadRequest, status, "%s", raw)
		eq, got := sameJSON(t, r.want, raw)
		require.True(t, eq, "\n got  %s\n want %s", got, mustJSON(t, r.want))
	}

	// The launch form previews a plan from answers given in the query.
	preview := url.QueryEscape(fmt.Sprintf(`{"target":"billing","api_key":%q}`, secrets["api_key (in a launch_data preview)"]))
	form := e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/?extra_vars=%s", rotate, preview), nil)
	shown := map[string]any{}
	for _, q := range form["survey_spec"].(map[string]any)["spec"].([]any) {
		shown[q.(map[string]any)["variable"].(string)] = q.(map[string]any)["default"]
	}
	require.Contains(t, shown, "fallback_secret")
	assert.Equal(t, "$encrypted$", shown["fallback_secret"], "a password default is shown masked")
	e.must(http.StatusOK, requester, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/", provision), nil)

	// Two valid requests, each driven through its approvals to a finished job.
	env := e.must(http.StatusCreated, requester, "POST", submitPath(provision), withDBPassword(secrets["db_password (valid)"]))
	assert.Equal(t, "$encrypted$", env["node_survey_data"].(map[string]any)["create-database"].(map[string]any)["db_password"])
	key := e.must(http.StatusCreated, requester, "POST", submitPath(rotate), rotateAnswers(secrets["api_key (valid)"]))
	assert.Equal(t, "$encrypted$", key["extra_vars"].(map[string]any)["api_key"])
	_, hasFallback := key["extra_vars"].(map[string]any)["fallback_secret"]
	assert.False(t, hasFallback, "a password default is AWX's to apply")
	envID, keyID := idOf(env), idOf(key)
	// Provision environment waits for two of sre; Rotate API key for
	// security.
	e.eventually(30*time.Second, "the requests in bob's and dave's inboxes", func() bool {
		return slices.Contains(e.inbox(approver), envID) && slices.Contains(e.inbox(otherTeam), keyID)
	})
	envPath, keyPath := fmt.Sprintf("/api/v2/service_requests/%d/", envID), fmt.Sprintf("/api/v2/service_requests/%d/", keyID)
	e.must(http.StatusOK, requester, "GET", envPath, nil)
	e.must(http.StatusOK, requester, "GET", keyPath, nil)
	e.must(http.StatusOK, approver, "POST", envPath+"approve/", map[string]any{"comment": "ok"})
	e.must(http.StatusOK, approver2, "POST", envPath+"approve/", nil)
	e.must(http.StatusOK, requester, "POST", keyPath+"comment/", map[string]any{"text": "the old key expires on Friday"})
	e.must(http.StatusOK, otherTeam, "POST", keyPath+"approve/", map[string]any{"comment": "rotate it"})
	for _, id := range []int64{envID, keyID} {
		path := fmt.Sprintf("/api/v2/service_requests/%d/", id)
		e.eventually(40*time.Second, fmt.Sprintf("request %d to succeed", id), func() bool {
			return e.must(http.StatusOK, requester, "GET", path, nil)["status"] == "successful"
		})
	}

	// A password AWX refuses at launch (its survey changed after the
	// submission), long enough that AWX's message is cut inside it, with
	// runs of spaces that the one-line message collapses.
	refusedAtLaunch := "launch-refused-" + salt + "  with   runs  of spaces " + strings.Repeat("z", 300)
	secrets["api_key (refused at launch)"] = refusedAtLaunch
	secrets["api_key (refused at launch, its start)"] = refusedAtLaunch[:20]
	secrets["api_key (refused at launch, collapsed)"] = strings.Join(strings.Fields(refusedAtLaunch), " ")[:40]
	refused := idOf(e.must(http.StatusCreated, requester, "POST", submitPath(rotate), rotateAnswers(refusedAtLaunch)))
	require.NoError(t, e.stack.Sim.AddJobTemplate(awxsim.JobTemplate{
		ID: secretTemplateID, Name: "Rotate API key", SurveyEnabled: true, AskLabelsOnLaunch: true,
		Survey: &awxsim.Survey{Name: "Rotate API key", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionText, QuestionName: "Target", Variable: "target", Required: true, Max: secretIntPtr(40)},
			{Type: awxsim.QuestionPassword, QuestionName: "New API key", Variable: "api_key", Required: true, Min: secretIntPtr(1000)},
		}},
	}))
	refusedPath := fmt.Sprintf("/api/v2/service_requests/%d/", refused)
	e.eventually(30*time.Second, "the request in dave's inbox", func() bool { return slices.Contains(e.inbox(otherTeam), refused) })
	e.must(http.StatusOK, otherTeam, "POST", refusedPath+"approve/", nil)
	var failed map[string]any
	e.eventually(40*time.Second, "the launch to fail", func() bool {
		failed = e.must(http.StatusOK, requester, "GET", refusedPath, nil)
		return failed["status"] == "failed"
	})
	reason, _ := failed["failure_reason"].(string)
	assert.Contains(t, reason, "AWX refused the launch: variables_needed_to_start: 'api_key' value $encrypted$", "%s", reason)
	// Everything the refused request's workflow wrote to its history, in
	// clear where it is not a payload: activity failures' messages and
	// types above all.
	var refusedHistory strings.Builder
	for _, ev := range testkit.History(t, e.client, refused).GetEvents() {
		protoText(&refusedHistory, ev.ProtoReflect())
	}
	require.Contains(t, refusedHistory.String(), "AWXRefused", "the history holds the launch's failure")
	var notified strings.Builder
	e.eventually(10*time.Second, "the requester to be told", func() bool {
		notified.Reset()
		for _, n := range e.stack.Notifier.Sent() {
			raw, err := json.Marshal(n)
			require.NoError(t, err)
			notified.Write(raw)
		}
		return strings.Contains(notified.String(), "AWX refused the launch")
	})

	// Read everything that shows requests, as everyone who may.
	for _, user := range []string{requester, approver, approver2, otherTeam, orgAdmin, superuser} {
		e.must(http.StatusOK, user, "GET", "/api/v2/service_requests/?page_size=200", nil)
		e.must(http.StatusOK, user, "GET", "/api/v2/service_requests/pending_approvals/", nil)
		for _, id := range []int64{envID, keyID} {
			status, _ := e.raw(user, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", id), nil)
			require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, status)
		}
	}
	for _, item := range []int64{provision, rotate} {
		e.must(http.StatusOK, orgAdmin, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/requests/", item), nil)
		e.must(http.StatusOK, superuser, "GET", fmt.Sprintf("/api/v2/service_catalog_items/%d/launch_data/", item), nil)
	}
	detail := e.must(http.StatusOK, orgAdmin, "GET", fmt.Sprintf("/api/v2/service_requests/%d/", envID), nil)
	assert.Equal(t, "$encrypted$", detail["node_survey_data"].(map[string]any)["create-database"].(map[string]any)["db_password"])

	// The passwords did reach AWX, and only AWX.
	launched := map[int64]map[string]any{}
	for _, j := range e.stack.Sim.Jobs() {
		launched[j.TemplateID] = j.ExtraVars
	}
	require.Equal(t, secrets["db_password (valid)"], launched[awxsim.DemoProvisionEnvironmentID]["db_password"])
	// AWX shows a job template's password answers as $encrypted$ and keeps
	// it only when a real answer came: sent "$encrypted$", the required
	// api_key (no default) would have been missing and the launch refused.
	require.Equal(t, "$encrypted$", launched[secretTemplateID]["api_key"])

	// Temporal's history holds every payload encrypted: the answers, the
	// justification, the state; the search attributes and the memo stay
	// readable, so lists and filters work without the keys.
	var history []byte
	for _, id := range []int64{envID, keyID} {
		raw, err := proto.Marshal(testkit.History(t, e.client, id))
		require.NoError(t, err)
		history = append(history, raw...)
	}
	inHistory := func(s string) bool { return strings.Contains(string(history), s) }
	require.True(t, inHistory("Rotate API key"), "the search attributes are in the history")
	require.True(t, inHistory("binary/encrypted"), "the payloads are encrypted")
	for _, clear := range []string{"quarterly rotation", "demo for the customer", "the old key expires on Friday", "demo-env", "$encrypted$"} {
		assert.False(t, inHistory(clear), "%q is in clear in Temporal's history", clear)
	}

	bodies, logs, tables := e.bodies.String(), e.logs.String(), e.dumpDatabase()
	// Each place searched does hold the requests, so a miss means something.
	for what, text := range map[string]string{"response bodies": bodies, "database": tables} {
		require.Contains(t, text, "quarterly rotation", what)
		require.Contains(t, text, "$encrypted$", what)
	}
	require.Contains(t, logs, fmt.Sprintf(`"path":"/api/v2/service_requests/%d/approve/"`, keyID))
	require.Contains(t, logs, fmt.Sprint(keyID), "the worker and the API logged about the request")
	for name, secret := range secrets {
		assert.False(t, inHistory(secret), "%s appears in Temporal's history", name)
		assert.NotContains(t, bodies, secret, "%s appears in a response body", name)
		assert.NotContains(t, tables, secret, "%s appears in the database", name)
		assert.NotContains(t, logs, secret, "%s appears in a log line", name)
		assert.NotContains(t, refusedHistory.String(), secret, "%s appears in a workflow's history", name)
		assert.NotContains(t, notified.String(), secret, "%s appears in a notification", name)
	}
}

func secretIntPtr(n int) *int { return &n }

// protoText writes every string and bytes field of m (payloads are JSON
// bytes), recursively, one per line.
func protoText(b *strings.Builder, m protoreflect.Message) {
	var value func(fd protoreflect.FieldDescriptor, v protoreflect.Value)
	value = func(fd protoreflect.FieldDescriptor, v protoreflect.Value) {
		switch fd.Kind() {
		case protoreflect.StringKind:
			b.WriteString(v.String() + "\n")
		case protoreflect.BytesKind:
			b.Write(v.Bytes())
			b.WriteByte('\n')
		case protoreflect.MessageKind, protoreflect.GroupKind:
			protoText(b, v.Message())
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				value(fd, v.List().Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				b.WriteString(k.String() + "\n")
				value(fd.MapValue(), mv)
				return true
			})
		default:
			value(fd, v)
		}
		return true
	})
}
