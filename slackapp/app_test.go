package slackapp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/slacktest"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/slackapp"
	"github.com/countersign/countersign/store"
)

var temporalAddr string

func TestMain(m *testing.M) { os.Exit(testkit.Main(m, "slackapp tests", &temporalAddr)) }

const portal = "https://countersign.example"

// env is a worker delivering notifications to Slack and the Slack app
// deciding through the request service, both against slacktest.
type env struct {
	t     *testing.T
	stack *testkit.Stack
	slack *slacktest.Server
	c     client.Client
	queue string
	svc   *requests.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, stack: testkit.NewStack(t, awxsim.Config{JobDuration: 300 * time.Millisecond}), slack: slacktest.New(t)}
	e.c = testkit.Dial(t, temporalAddr)
	e.queue = testkit.TaskQueue(t)
	api := slack.New(slacktest.BotToken, slack.OptionAppLevelToken(slacktest.AppToken), slack.OptionAPIURL(e.slack.APIURL()))
	e.stack.Activities.Notifier = &slackapp.Notifier{Client: api, Store: e.stack.Store, PortalURL: portal}
	testkit.StartWorker(t, e.c, e.queue, e.stack.Activities)
	svc := requests.New(requests.Config{Store: e.stack.Store, Temporal: e.c, TaskQueue: e.queue,
		Templates:       requests.NewTemplates(e.stack.AWX, time.Minute),
		TemporalTimeout: 10 * time.Second, Signer: testkit.ServiceKeys()})
	t.Cleanup(svc.Close)
	e.svc = svc
	app := &slackapp.App{Client: api, Requests: svc, Store: e.stack.Store, PortalURL: portal, Retry: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return e
}

// link links Slack user slackID to username.
func (e *env) link(slackID, username string) {
	e.t.Helper()
	require.NoError(e.t, e.stack.Store.LinkSlackUser(context.Background(), slackID, e.stack.Identity.Users[username].ID, store.SlackLinkedByLink))
}

// start submits r and answers its id.
func (e *env) start(r testkit.Request) int64 {
	e.t.Helper()
	in := e.stack.Create(e.t, r)
	testkit.StartRequest(e.t, e.c, e.queue, in)
	return in.RequestID
}

// dm waits for the direct message about request id in slackID's channel
// that still offers decisions.
func (e *env) dm(slackID string, id int64) slacktest.Message {
	e.t.Helper()
	want := `"value":"` + strconv.FormatInt(id, 10) + `:`
	return e.slack.WaitMessage("D"+slackID, func(m slacktest.Message) bool {
		return strings.Contains(string(m.Blocks), want) && strings.Contains(string(m.Blocks), "countersign_approve")
	})
}

func value(id int64, stage int) string { return strconv.FormatInt(id, 10) + ":" + strconv.Itoa(stage) }

// ackNull asserts envelope id was acked without a payload.
func (e *env) ackNull(id string) {
	e.t.Helper()
	assert.JSONEq(e.t, "null", string(e.slack.Ack(id)))
}

func (e *env) sreStage(name string) approval.Stage {
	return e.stack.Stage(name, "sre", 1, time.Hour, 0)
}

func TestApp_ApproveFromSlack(t *testing.T) {
	e := newEnv(t)
	e.link("U0BOB", "bob")
	e.link("U0CAROL", "carol")
	e.link("U0ALICE", "alice")
	id := e.start(testkit.ProvisionEnvironment(e.sreStage("SRE review")))

	bobs := e.dm("U0BOB", id)
	carols := e.dm("U0CAROL", id)
	assert.Contains(t, string(bobs.Blocks), "SRE review")
	assert.Contains(t, string(bobs.Blocks), "env_name: demo-env")
	assert.Contains(t, string(bobs.Blocks), portal+"/ui/#/requests/"+strconv.FormatInt(id, 10))
	for _, m := range e.slack.Messages() {
		assert.NotEqual(t, "DU0ALICE", m.Channel, "the requester is not asked to decide her own request")
	}

	t.Run("the requester's click is refused with the rule's code", func(t *testing.T) {
		e.ackNull(e.slack.Click("U0ALICE", bobs, "countersign_approve", value(id, 0)))
		e.slack.WaitEphemeral("U0ALICE", "(code: self_decision)")
	})
	t.Run("an unlinked user is told how to link", func(t *testing.T) {
		e.ackNull(e.slack.Click("U0NOBODY", bobs, "countersign_approve", value(id, 0)))
		eph := e.slack.WaitEphemeral("U0NOBODY", "/countersign link")
		assert.NotContains(t, eph.Text, "Provision", "nothing about the request")
	})
	t.Run("a click on another stage's button decides nothing, refused as an e-mail link would be", func(t *testing.T) {
		e.ackNull(e.slack.Click("U0BOB", bobs, "countersign_approve", value(id, 3)))
		e.slack.WaitEphemeral("U0BOB", "(code: stage_not_open)")
	})

	e.ackNull(e.slack.Click("U0BOB", bobs, "countersign_approve", value(id, 0)))
	updated := e.slack.WaitUpdated(bobs)
	assert.NotContains(t, string(updated.Blocks), "countersign_approve", "the buttons are gone")
	assert.Contains(t, string(updated.Blocks), "approved", "it says what became of the request")

	st := testkit.State(t, e.c, id)
	require.Len(t, st.Stages[0].Responses, 1)
	assert.Equal(t, "bob", st.Stages[0].Responses[0].User)
	assert.Equal(t, approval.DecisionApprove, st.Stages[0].Responses[0].Decision)
	assert.Equal(t, "slack", st.Stages[0].Responses[0].Channel, "the decision records its channel")

	// The request moved on: carol's message loses its buttons in place.
	closed := e.slack.WaitUpdated(carols)
	assert.NotContains(t, string(closed.Blocks), "countersign_approve")
	assert.Contains(t, string(closed.Blocks), "The request is")
	for _, m := range e.slack.Messages() {
		assert.NotEqual(t, "DU0ALICE", m.Channel, "the requester is not asked")
	}
}

func TestApp_RejectThroughTheDialog(t *testing.T) {
	e := newEnv(t)
	// carol is linked on her first click, by the address Slack confirmed.
	e.slack.AddUser(slacktest.User{ID: "U0CAROL", Email: "carol@acme.example", EmailConfirmed: true})
	// A look-alike address that Slack has not confirmed links nobody.
	e.slack.AddUser(slacktest.User{ID: "U0FAKE", Email: "bob@acme.example", EmailConfirmed: false})
	e.link("U0BOB", "bob")
	id := e.start(testkit.RestartService(e.sreStage("SRE review")))
	bobs := e.dm("U0BOB", id)

	e.ackNull(e.slack.Click("U0FAKE", bobs, "countersign_reject", value(id, 0)))
	e.slack.WaitEphemeral("U0FAKE", "not linked")

	e.ackNull(e.slack.Click("U0CAROL", bobs, "countersign_reject", value(id, 0)))
	dialog := e.slack.WaitView(1)
	assert.Equal(t, "countersign_reject", dialog.View["callback_id"])

	// The reason is required: the dialog stays open with the error.
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(e.slack.Ack(e.slack.Submit("U0CAROL", dialog, map[string]map[string]string{"reason": {"reason": "  "}})), &resp))
	assert.Equal(t, "errors", resp.ResponseAction)
	assert.Contains(t, resp.Errors["reason"], "required")

	e.ackNull(e.slack.Submit("U0CAROL", dialog, map[string]map[string]string{"reason": {"reason": "not during the freeze"}}))
	testkit.Eventually(t, 20*time.Second, "the request to be rejected", func() bool {
		return testkit.State(t, e.c, id).Status == approval.StatusRejected
	})
	st := testkit.State(t, e.c, id)
	require.NotNil(t, st.Denial)
	assert.Equal(t, "carol", st.Denial.User)
	assert.Equal(t, "not during the freeze", st.Denial.Reason)
	assert.Equal(t, "slack", st.Denial.Channel)
	u, err := e.stack.Store.SlackUser(context.Background(), "U0CAROL")
	require.NoError(t, err)
	assert.Equal(t, "carol", u.Username)

	// bob's message about the rejected request loses its buttons.
	closed := e.slack.WaitUpdated(bobs)
	assert.NotContains(t, string(closed.Blocks), "countersign_approve")
	assert.Contains(t, string(closed.Blocks), "rejected")
}

func TestApp_RecentLoginIsRefusedFromSlack(t *testing.T) {
	e := newEnv(t)
	e.link("U0BOB", "bob")
	stage := e.sreStage("Production change")
	stage.RequireRecentLogin = approval.Duration(10 * time.Minute)
	id := e.start(testkit.RestartService(stage))
	bobs := e.dm("U0BOB", id)

	e.ackNull(e.slack.Click("U0BOB", bobs, "countersign_approve", value(id, 0)))
	eph := e.slack.WaitEphemeral("U0BOB", "(code: recent_login_required)")
	assert.Contains(t, eph.Text, portal+"/ui/")
	// Reject's dialog opens at once (Slack's trigger expires in 3 s, the
	// rules ask the workflow), then turns into the refusal.
	e.ackNull(e.slack.Click("U0BOB", bobs, "countersign_reject", value(id, 0)))
	refused := e.slack.WaitViewUpdated(1)
	assert.Nil(t, refused.View["submit"], "nothing to submit")
	assert.Contains(t, fmt.Sprint(refused.View["blocks"]), "recent_login_required")
	testkit.Eventually(t, 10*time.Second, "the second refusal", func() bool {
		n := 0
		for _, x := range e.slack.Ephemerals() {
			if strings.Contains(x.Text, "recent_login_required") {
				n++
			}
		}
		return n == 2
	})
	assert.Equal(t, approval.StatusPendingApproval, testkit.State(t, e.c, id).Status)
}

func TestApp_LinkCommand(t *testing.T) {
	e := newEnv(t)
	e.slack.AddUser(slacktest.User{ID: "U0DAVE", Email: "dave@acme.example", EmailConfirmed: true})
	e.slack.AddUser(slacktest.User{ID: "U0NEW", Email: "someone@elsewhere.example", EmailConfirmed: true})

	text := func(env string) string {
		var p struct {
			Text string `json:"text"`
		}
		require.NoError(t, json.Unmarshal(e.slack.Ack(env), &p))
		return p.Text
	}
	assert.Contains(t, text(e.slack.Command("U0DAVE", "D0DAVE", "/countersign", "link")), "linked to the Countersign user dave")

	got := text(e.slack.Command("U0NEW", "D0NEW", "/countersign", "link"))
	require.Contains(t, got, portal+"/ui/slack/link?t=")
	tok := got[strings.Index(got, "?t=")+3:]
	tok = strings.Fields(tok)[0]
	slackID, err := e.stack.Store.SlackLinkToken(context.Background(), slackapp.HashLinkToken(tok), time.Now())
	require.NoError(t, err)
	assert.Equal(t, "U0NEW", slackID)

	assert.Contains(t, text(e.slack.Command("U0NEW", "D0NEW", "/countersign", "help")), "Usage")
}

func TestApp_Reconnects(t *testing.T) {
	e := newEnv(t)
	e.link("U0BOB", "bob")
	testkit.Eventually(t, 10*time.Second, "the first connection", func() bool { return e.slack.Connections() == 1 })
	e.slack.Disconnect()
	testkit.Eventually(t, 20*time.Second, "a new connection", func() bool { return e.slack.Connections() >= 2 })
	id := e.start(testkit.RestartService(e.sreStage("SRE review")))
	bobs := e.dm("U0BOB", id)
	e.ackNull(e.slack.Click("U0BOB", bobs, "countersign_approve", value(id, 0)))
	e.slack.WaitUpdated(bobs)
}

func TestApp_PasswordsAreMasked(t *testing.T) {
	e := newEnv(t)
	e.link("U0BOB", "bob")
	ctx := context.Background()
	id := e.stack.Identity
	sre := id.Teams["sre"].ID
	wjt := int64(awxsim.DemoProvisionEnvironmentID)
	created, err := e.stack.Store.CreateCatalogItem(ctx, store.NewCatalogItem{OrganizationID: id.Org.ID, Name: "Provision environment",
		WorkflowJobTemplateID: &wjt, RequiresApproval: true, ApproverTeamID: &sre})
	require.NoError(t, err)
	item, err := e.stack.Store.GetCatalogItem(ctx, created.ID)
	require.NoError(t, err)
	alice := id.Users["alice"]
	answers := testkit.ProvisionEnvironment()
	r, _, err := e.svc.Submit(ctx, requests.Actor{Principal: access.Principal{UserID: alice.ID, Username: alice.Username, MemberOf: []int64{id.Org.ID}},
		Channel: "api"}, requests.Submission{Item: item, ExtraVars: answers.ExtraVars, NodeSurveyData: answers.NodeSurveyData, Justification: "a demo"})
	require.NoError(t, err)

	m := e.dm("U0BOB", r.ID)
	assert.Contains(t, string(m.Blocks), "create-database / db_password: $encrypted$")
	assert.NotContains(t, string(m.Blocks), "s3cret-pass", "the password the requester typed")
	assert.Contains(t, string(m.Blocks), "create-database / db_size: small")
}

// TestApp_SameDecisionAsTheAPI: the same request rejected from Slack and
// through the request service as the REST API calls it ends in the same
// state, apart from its channel (and its ids and times).
func TestApp_SameDecisionAsTheAPI(t *testing.T) {
	e := newEnv(t)
	e.link("U0CAROL", "carol")
	fromSlack := e.start(testkit.RestartService(e.sreStage("SRE review")))
	fromAPI := e.start(testkit.RestartService(e.sreStage("SRE review")))

	m := e.dm("U0CAROL", fromSlack)
	e.ackNull(e.slack.Click("U0CAROL", m, "countersign_reject", value(fromSlack, 0)))
	e.ackNull(e.slack.Submit("U0CAROL", e.slack.WaitView(1), map[string]map[string]string{"reason": {"reason": "not during the freeze"}}))

	e.dm("U0CAROL", fromAPI)
	carol := e.stack.Identity.Users["carol"]
	r, err := e.stack.Store.GetRequest(context.Background(), fromAPI)
	require.NoError(t, err)
	_, err = e.svc.Decide(context.Background(), requests.Actor{
		Principal: access.Principal{UserID: carol.ID, Username: carol.Username, MemberOf: []int64{e.stack.Identity.Org.ID},
			Teams: []int64{e.stack.Identity.Teams["sre"].ID}},
		Channel: "api"}, r, approval.ActionReject, "not during the freeze")
	require.NoError(t, err)

	testkit.Eventually(t, 20*time.Second, "the Slack rejection", func() bool {
		return testkit.State(t, e.c, fromSlack).Status == approval.StatusRejected
	})
	a, b := testkit.State(t, e.c, fromSlack), testkit.State(t, e.c, fromAPI)
	assert.Equal(t, "slack", a.Denial.Channel)
	assert.Equal(t, "api", b.Denial.Channel)
	ca, cb := comparable(t, a, map[int64]bool{fromSlack: true}), comparable(t, b, map[int64]bool{fromAPI: true})
	assert.Equal(t, ca, cb)
	shown, err := json.Marshal(ca)
	require.NoError(t, err)
	assert.Contains(t, string(shown), `"reason":"not during the freeze"`, "what is compared is the state itself")
	assert.Contains(t, string(shown), `"user":"carol"`)
}

// comparable is st as JSON with its ids, times and channels blanked.
func comparable(t *testing.T, st approval.Request, ids map[int64]bool) any {
	t.Helper()
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	var walk func(key string, v any) any
	walk = func(key string, v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				x[k] = walk(k, y)
			}
		case []any:
			for i, y := range x {
				x[i] = walk(key, y)
			}
		case float64:
			if ids[int64(x)] {
				return "<id>"
			}
		case string:
			if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return "<time>"
			}
			if key == "channel" {
				return "<channel>"
			}
			for id := range ids {
				x = strings.ReplaceAll(x, strconv.FormatInt(id, 10), "<id>")
			}
			return x
		}
		return v
	}
	return walk("", v)
}

func TestNotifier_RemindersAndRedeliveries(t *testing.T) {
	e := newEnv(t)
	e.link("U0BOB", "bob")
	stage := e.stack.Stage("SRE review", "sre", 1, time.Hour, 2*time.Second)
	id := e.start(testkit.RestartService(stage))
	first := e.dm("U0BOB", id)

	// A reminder posts a new message and closes the one before.
	second := e.slack.WaitMessage("DU0BOB", func(m slacktest.Message) bool { return m.TS != first.TS })
	assert.Contains(t, string(second.Blocks), "countersign_approve")
	closed := e.slack.WaitUpdated(first)
	assert.NotContains(t, string(closed.Blocks), "countersign_approve")
	assert.Contains(t, string(closed.Blocks), "A newer message about this request follows.")

	// A notification delivered again posts nothing new (about a request
	// without reminders, so that none comes in between).
	quiet := e.start(testkit.RestartService(e.sreStage("SRE review")))
	e.dm("U0BOB", quiet)
	testkit.Eventually(t, 10*time.Second, "the first message to be recorded", func() bool {
		ms, err := e.stack.Store.SlackMessages(context.Background(), quiet)
		return err == nil && len(ms) == 1
	})
	about := func() int {
		n := 0
		for _, m := range e.slack.Messages() {
			if strings.HasPrefix(m.Text, "Request "+strconv.FormatInt(quiet, 10)+" ") {
				n++
			}
		}
		return n
	}
	n := &slackapp.Notifier{Client: slack.New(slacktest.BotToken, slack.OptionAPIURL(e.slack.APIURL())), Store: e.stack.Store, PortalURL: portal}
	no := notify.Notification{ID: "redelivered", Kind: notify.KindReminder, RequestID: quiet, Recipients: []notify.Recipient{{Username: "bob"}}}
	require.NoError(t, n.Notify(context.Background(), no))
	assert.Equal(t, 2, about(), "the first message and the reminder")
	require.NoError(t, n.Notify(context.Background(), no))
	assert.Equal(t, 2, about(), "its redelivery posts nothing")
}

func TestNotifier_ExtensionAndWarning(t *testing.T) {
	e := newEnv(t)
	e.link("U0BOB", "bob")
	e.link("U0ALICE", "alice")
	stage := e.sreStage("SRE review")
	stage.MaxExtension = approval.Duration(24 * time.Hour)
	id := e.start(testkit.RestartService(stage))
	first := e.dm("U0BOB", id)
	testkit.Eventually(t, 10*time.Second, "the message to be recorded", func() bool {
		ms, err := e.stack.Store.SlackMessages(context.Background(), id)
		return err == nil && len(ms) == 1
	})

	bob := e.stack.Identity.Users["bob"]
	r, err := e.stack.Store.GetRequest(context.Background(), id)
	require.NoError(t, err)
	_, err = e.svc.Extend(context.Background(), requests.Actor{
		Principal: access.Principal{UserID: bob.ID, Username: bob.Username, MemberOf: []int64{e.stack.Identity.Org.ID},
			Teams: []int64{e.stack.Identity.Teams["sre"].ID}},
		Channel: "api"}, r, approval.Duration(2*time.Hour), "on leave today")
	require.NoError(t, err)
	extended := e.slack.WaitUpdated(first)
	assert.Contains(t, string(extended.Blocks), "countersign_approve", "an extension keeps the buttons")
	assert.NotEqual(t, string(first.Blocks), string(extended.Blocks), "the new deadline shows")

	// A deadline warning goes to the requester too, but only who may
	// decide gets a message with buttons.
	n := &slackapp.Notifier{Client: slack.New(slacktest.BotToken, slack.OptionAPIURL(e.slack.APIURL())), Store: e.stack.Store, PortalURL: portal}
	require.NoError(t, n.Notify(context.Background(), notify.Notification{ID: "warning", Kind: notify.KindDeadlineWarning, RequestID: id,
		Recipients: []notify.Recipient{{Username: "alice"}, {Username: "bob"}}}))
	for _, m := range e.slack.Messages() {
		assert.NotEqual(t, "DU0ALICE", m.Channel, "the requester gets no buttons on her own request")
	}
	warned := 0
	for _, m := range e.slack.Messages() {
		if m.Channel == "DU0BOB" {
			warned++
		}
	}
	assert.Equal(t, 2, warned, "bob's first message and the warning")
}
