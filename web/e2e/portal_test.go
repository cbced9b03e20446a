package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
)

const (
	dialog = `dialog[open]`
	next   = dialog + ` form > .actions button[type="submit"]`
)

// TestPortal_RequestLifecycle is the portal's end-to-end scenario: alice
// submits "Provision environment" through the request dialog, correcting a
// survey error the API reports; bob and carol approve it from their
// inboxes; dave rejects a second request with a reason and alice reads the
// denial in its timeline; the first request ends successful on its detail
// page. Every page is saved as a screenshot.
func TestPortal_RequestLifecycle(t *testing.T) {
	s := newStack(t)
	provision, _ := s.catalog()
	b := newBrowser(t, s.url)

	// Sign-in: strangers land on the sign-in page with the dev picker.
	b.do("opening the portal", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`.dev-users`)))
	b.screenshot("signin")
	b.signIn("alice")

	// The catalog, with each item's approval plan.
	b.do("the catalog", chromedp.WaitVisible(chromedp.CSS(`article[data-item="Provision environment"] .plan[data-approval="required"]`)),
		chromedp.WaitVisible(chromedp.CSS(`article[data-item="Restart service"] .plan[data-approval="required"]`)))
	assert.Contains(t, b.text(`article[data-item="Provision environment"] .plan`), "SRE review (sre, 2 approvers)")
	assert.True(t, strings.EqualFold("environments", b.text(`article[data-item="Provision environment"] .category`)))
	b.screenshot("catalog")
	b.choose(`.filters select`, "operations")
	b.until(20*time.Second, "the category filter", nil, func() bool { return !b.present(`article[data-item="Provision environment"]`) })
	require.True(t, b.present(`article[data-item="Restart service"]`))
	b.do("searching", chromedp.SetValue(chromedp.CSS(`.filters select`), ""),
		chromedp.SendKeys(chromedp.CSS(`.filters input[type="search"]`), "database"))
	b.until(20*time.Second, "the search", nil, func() bool {
		return b.present(`article[data-item="Provision environment"]`) && !b.present(`article[data-item="Restart service"]`)
	})
	b.do("a phone-sized catalog", chromedp.EmulateViewport(360, 740))
	b.screenshot("catalog-360px")
	b.do("back to a desktop", chromedp.EmulateViewport(1280, 900))

	// The request dialog: justification first.
	b.do("opening the request dialog",
		chromedp.Click(chromedp.CSS(`article[data-item="Provision environment"] footer button`)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` [data-key="justification"] textarea`)),
		chromedp.Click(chromedp.CSS(next)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` [data-key="justification"] ul.errors li`)))
	assert.Equal(t, "Say why this is needed.", b.text(dialog+` [data-key="justification"] ul.errors li`))
	b.do("justifying", chromedp.SendKeys(chromedp.CSS(dialog+` [data-key="justification"] textarea`), "demo for the customer"),
		chromedp.Click(chromedp.CSS(next)),
		chromedp.WaitVisible(chromedp.CSS(`#q-extra_vars-env_name`)))
	// The survey, with ttl_days out of range: only the API knows the range.
	require.Equal(t, "3", eval[string](b, `document.querySelector('#q-extra_vars-ttl_days').value`), "the default is filled in")
	b.do("answering the survey",
		chromedp.SendKeys(chromedp.CSS(`#q-extra_vars-env_name`), "demo-env"),
		chromedp.SetValue(chromedp.CSS(`#q-extra_vars-ttl_days`), "99"))
	b.screenshot("request-survey")
	b.do("the database node's survey", chromedp.Click(chromedp.CSS(next)),
		chromedp.WaitVisible(chromedp.CSS(`#q-node_survey_data-create-database-db_size`)),
		chromedp.SetValue(chromedp.CSS(`#q-node_survey_data-create-database-db_size`), "small"),
		chromedp.SendKeys(chromedp.CSS(`#q-node_survey_data-create-database-db_password`), "correct-horse-battery"),
		chromedp.Click(chromedp.CSS(next)),
		chromedp.WaitVisible(chromedp.CSS(`#q-node_survey_data-deploy-app-replicas`)),
		chromedp.Click(chromedp.CSS(next)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` .plan[data-approval]`)))
	confirm := b.text(dialog + ` .dialog-body`)
	assert.Contains(t, confirm, "••••••••", "the password is masked")
	assert.NotContains(t, confirm, "correct-horse-battery")
	b.screenshot("request-confirm")
	b.do("submitting", chromedp.Click(chromedp.CSS(next)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` [data-key="extra_vars.ttl_days"] ul.errors li`)))
	assert.Contains(t, b.text(dialog+` [data-key="extra_vars.ttl_days"] ul.errors li`), "ttl_days")
	assert.Equal(t, "true", eval[string](b, `document.querySelector('#q-extra_vars-ttl_days').getAttribute('aria-invalid')`))
	b.screenshot("request-survey-error")
	b.do("fixing ttl_days and submitting again",
		chromedp.SetValue(chromedp.CSS(`#q-extra_vars-ttl_days`), "3"),
		chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(`#q-node_survey_data-create-database-db_size`)),
		chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(`#q-node_survey_data-deploy-app-replicas`)),
		chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(dialog+` .plan[data-approval="required"]`)),
		chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(dialog+` .success`)))
	b.screenshot("request-submitted")
	href := eval[string](b, `document.querySelector('dialog[open] a[href^="#/requests/"]').getAttribute('href')`)
	first, err := strconv.ParseInt(strings.TrimPrefix(href, "#/requests/"), 10, 64)
	require.NoError(t, err, href)

	// Its detail page, waiting for sre.
	b.do("the request's page", chromedp.Click(chromedp.CSS(dialog+` a[href^="#/requests/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.detail .badge[data-status="pending_approval"]`)))
	b.until(60*time.Second, "the first stage to open", nil, func() bool { return b.present(`.progress`) })
	assert.Contains(t, b.text(`.timeline`), "alice submitted the request")
	assert.Contains(t, b.text(`.timeline`), "Approval plan from policy “environments”.", "the plan names its policy (policy_name)")
	b.checkLabelledAnswers(`.detail section[aria-label="Answers"]`, "correct-horse-battery")
	b.screenshot("request-detail-pending")

	// A second request, long-lived (two stages), submitted through the API.
	second := int64(s.call(http.StatusCreated, "alice", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", provision), map[string]any{
		"justification": "a long demo", "extra_vars": map[string]any{"env_name": "long-demo", "ttl_days": 9},
		"node_survey_data": map[string]any{"create-database": map[string]any{"db_size": "medium", "db_password": "another-secret-1"}},
	})["id"].(float64))

	b.route("#/requests")
	b.do("my requests", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`a[data-request="%d"]`, second))))
	b.screenshot("my-requests")
	b.signOut()

	// A third one, by bob: two sre approvals, but sre is bob and carol.
	stuck := int64(s.call(http.StatusCreated, "bob", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", provision), map[string]any{
		"justification": "my own environment", "extra_vars": map[string]any{"env_name": "bobs-env", "ttl_days": 2},
		"node_survey_data": map[string]any{"create-database": map[string]any{"db_size": "small", "db_password": "bobs-secret-1"}},
	})["id"].(float64))
	stuckCard := fmt.Sprintf(`article[data-request="%d"]`, stuck)

	// bob and carol approve both from their inboxes.
	for i, approver := range []string{"bob", "carol"} {
		b.signIn(approver)
		b.route("#/approvals")
		b.until(60*time.Second, approver+"'s inbox", func() { b.do("refreshing", chromedp.Click(chromedp.CSS(`.page-head .actions button`))) },
			func() bool {
				return b.present(fmt.Sprintf(`article[data-request="%d"]`, first)) && b.present(fmt.Sprintf(`article[data-request="%d"]`, second))
			})
		if i == 0 {
			assert.Contains(t, b.text(fmt.Sprintf(`article[data-request="%d"] .still-needed`, first)), "2 more needed")
			b.checkLabelledAnswers(fmt.Sprintf(`article[data-request="%d"] details`, first), "correct-horse-battery")
			b.screenshot("approvals-inbox")
		}
		ids := []int64{first, second}
		if approver == "carol" {
			// The inbox says that bob's request cannot be completed, even
			// with her approval.
			b.until(60*time.Second, "bob's request in carol's inbox", nil, func() bool { return b.present(stuckCard + ` .unreachable`) })
			assert.Equal(t, "This stage cannot be completed: needs 2 more approvals but only 1 eligible approver remains (carol): "+
				"bob is the requester and cannot approve their own request", b.text(stuckCard+` .unreachable`))
			b.screenshot("approvals-inbox-unreachable")
			ids = append(ids, stuck)
		}
		for _, id := range ids {
			card := fmt.Sprintf(`article[data-request="%d"]`, id)
			b.do("approving", chromedp.Click(chromedp.CSS(card+` button.btn-ok`)),
				chromedp.WaitVisible(chromedp.CSS(dialog+` textarea`)),
				chromedp.SendKeys(chromedp.CSS(dialog+` textarea`), "capacity is fine"))
			if i == 0 && id == first {
				b.screenshot("approve-dialog")
			}
			b.do("confirming the approval", chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)),
				chromedp.WaitNotPresent(chromedp.CSS(dialog)),
				chromedp.WaitNotPresent(chromedp.CSS(card)))
		}
		if approver == "bob" {
			// bob's own request: he is told why it cannot go on.
			b.route(fmt.Sprintf("#/requests/%d", stuck))
			b.do("bob's request", chromedp.WaitVisible(chromedp.CSS(`.detail .progress .unreachable`)))
			assert.Equal(t, "This stage cannot be completed: needs 2 more approvals but only 1 eligible approver remains (carol): "+
				"bob is the requester and cannot approve their own request", b.text(`.detail .progress .unreachable`))
			assert.NotContains(t, b.text(`.detail .progress`), "Resolving")
		}
		b.signOut()
	}

	// dave rejects the second one at the security stage; a reason is required.
	b.signIn("dave")
	b.route("#/approvals")
	card := fmt.Sprintf(`article[data-request="%d"]`, second)
	b.until(60*time.Second, "dave's inbox", func() { b.do("refreshing", chromedp.Click(chromedp.CSS(`.page-head .actions button`))) },
		func() bool { return b.present(card) })
	assert.Contains(t, b.text(card+` .progress`), "Security review")
	b.do("rejecting without a reason", chromedp.Click(chromedp.CSS(card+` button.btn-danger`)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` textarea`)),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` ul.errors li`)))
	b.screenshot("reject-needs-reason")
	b.do("rejecting with a reason", chromedp.SendKeys(chromedp.CSS(dialog+` textarea`), "no security review for long-lived environments"),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(dialog)), chromedp.WaitNotPresent(chromedp.CSS(card)))
	b.signOut()

	// alice reads the denial, then sees the first request succeed.
	b.signIn("alice")
	b.route(fmt.Sprintf("#/requests/%d", second))
	b.do("the rejected request", chromedp.WaitVisible(chromedp.CSS(`.detail .badge[data-status="rejected"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.timeline .denial-message`)))
	assert.Equal(t, "Security declined the environment.", b.text(`.timeline .denial-message`))
	assert.Equal(t, "no security review for long-lived environments", b.text(`.timeline .denial-reason`))
	b.screenshot("request-rejected")

	b.route(fmt.Sprintf("#/requests/%d", first))
	b.until(120*time.Second, "the first request to succeed (the page refreshes itself)", nil,
		func() bool { return b.present(`.detail .badge[data-status="successful"]`) })
	tl := b.text(`.timeline`)
	assert.Contains(t, tl, "bob approved Stage 1")
	assert.Contains(t, tl, "carol approved Stage 1")
	assert.Contains(t, tl, "in the portal", "each decision says how it came")
	assert.Equal(t, 2, eval[int](b, `document.querySelectorAll('.timeline .via[data-channel="portal"]').length`))
	assert.Contains(t, tl, "Launched AWX workflow job")
	assert.Contains(t, tl, "The job succeeded")
	jobLink := eval[string](b, `document.querySelector('.job a').getAttribute('href')`)
	assert.Contains(t, jobLink, "/#/jobs/workflow/")
	b.screenshot("request-successful")
	b.signOut()

	// The link leads to the AWX simulator's job page, read-only, once
	// signed in there with its token.
	b.do("opening the job in AWX", chromedp.Navigate(jobLink),
		chromedp.WaitVisible(chromedp.CSS(`form[aria-label="Sign in"] #token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), testkit.AWXToken),
		chromedp.Click(chromedp.CSS(`form[aria-label="Sign in"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.status[data-status="successful"]`)))
	assert.Equal(t, "Provision environment", b.text(`h1`))
	assert.Contains(t, b.text(`dl`), `"env_name"`, "the job's variables")
	b.screenshot("awx-job")

	// erin, the org admin, sees why bob's request is stuck since carol
	// approved it: nobody is left who may decide.
	b.signIn("erin")
	b.route(fmt.Sprintf("#/requests/%d", stuck))
	b.do("bob's stuck request", chromedp.WaitVisible(chromedp.CSS(`.detail .progress .unreachable`)))
	b.until(30*time.Second, "carol's approval to show", nil, func() bool {
		return strings.Contains(b.text(`.detail .progress`), "1 of 2 approvals")
	})
	progress := b.text(`.detail .progress`)
	assert.Contains(t, progress, "This stage cannot be completed: needs 1 more approval but no eligible approver remains: "+
		"bob is the requester and cannot approve their own request; carol already decided on this request")
	assert.NotContains(t, progress, "Resolving")
	b.screenshot("request-unreachable")

	// erin's admin pages: items, a policy whose condition does not compile, teams.
	b.route("#/admin/items")
	b.do("admin items", chromedp.WaitVisible(chromedp.CSS(`tr[data-item="Provision environment"]`)))
	b.screenshot("admin-items")
	b.route("#/admin/policies")
	b.do("a broken policy",
		chromedp.WaitVisible(chromedp.CSS(`tr[data-policy="environments"]`)),
		chromedp.Click(chromedp.CSS(`#admin-panel > .actions button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[aria-label="New approval policy"]`)),
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="New approval policy"] [data-key="name"] input`), "broken"),
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="New approval policy"] [data-key="condition"] textarea`), "extra_vars.ttl_days >"),
		chromedp.Click(chromedp.CSS(`form[aria-label="New approval policy"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-key="condition"] ul.errors li`)))
	assert.NotEmpty(t, b.text(`[data-key="condition"] ul.errors li`))
	b.screenshot("admin-policy-error")
	b.route("#/admin/teams")
	b.do("admin teams", chromedp.WaitVisible(chromedp.CSS(`section[data-team="sre"]`)))
	assert.Contains(t, b.text(`section[data-team="sre"]`), "bob")
	b.screenshot("admin-teams")

	b.checkNoExceptions()
}

// demoSurvey is the survey of the demo inventory's job or workflow job
// template id.
func demoSurvey(t *testing.T, id int64) []awxsim.SurveyQuestion {
	t.Helper()
	inv := awxsim.DemoInventory()
	for _, jt := range inv.JobTemplates {
		if jt.ID == id && jt.Survey != nil {
			return jt.Survey.Spec
		}
	}
	for _, wf := range inv.WorkflowJobTemplates {
		if wf.ID == id && wf.Survey != nil {
			return wf.Survey.Spec
		}
	}
	t.Fatalf("the demo inventory has no survey on template %d", id)
	return nil
}

// demoLabel is the question_name of variable in the demo survey of
// template id.
func demoLabel(t *testing.T, id int64, variable string) string {
	t.Helper()
	for _, q := range demoSurvey(t, id) {
		if q.Variable == variable {
			require.NotEmpty(t, q.QuestionName, "the demo question of %s has no label", variable)
			require.NotEqual(t, variable, q.QuestionName, "the demo question of %s is labelled by its variable", variable)
			return q.QuestionName
		}
	}
	t.Fatalf("the demo survey of template %d does not ask %s", id, variable)
	return ""
}

// checkLabelledAnswers checks the answers of a "Provision environment"
// request under sel: shown by their questions' labels with the variable
// names beside them, in the survey's order, the node's password masked
// (and secret nowhere).
func (b *browser) checkLabelledAnswers(sel, secret string) {
	b.t.Helper()
	raw, err := json.Marshal(sel)
	require.NoError(b.t, err)
	// [variable, label, answer] of every answer under sel, in order.
	expr := fmt.Sprintf(`[...document.querySelectorAll(%s + ' dl.answers dt')].map((dt) => {
		const v = dt.querySelector('.variable');
		return [v ? v.textContent : dt.textContent, v ? dt.firstChild.textContent : '', dt.nextElementSibling.innerText];
	})`, raw)
	ttl := demoLabel(b.t, awxsim.DemoProvisionEnvironmentID, "ttl_days")
	var rows [][]string
	b.until(60*time.Second, "the answers labelled by their questions under "+sel, nil, func() bool {
		rows = eval[[][]string](b, expr)
		for _, r := range rows {
			if r[0] == "ttl_days" && r[1] != "" {
				return true
			}
		}
		return false
	})
	byVar := map[string][]string{}
	var order []string
	for _, r := range rows {
		byVar[r[0]] = r
		order = append(order, r[0])
	}
	assert.Equal(b.t, ttl, byVar["ttl_days"][1], "the label of ttl_days")
	assert.Equal(b.t, "3", byVar["ttl_days"][2])
	var survey []string
	for _, q := range demoSurvey(b.t, awxsim.DemoProvisionEnvironmentID) {
		survey = append(survey, q.Variable)
	}
	require.GreaterOrEqual(b.t, len(order), len(survey))
	assert.Equal(b.t, survey, order[:len(survey)], "the workflow's answers in the survey's order")
	require.Contains(b.t, byVar, "db_password")
	assert.Equal(b.t, demoLabel(b.t, awxsim.DemoCreateDatabaseID, "db_password"), byVar["db_password"][1])
	assert.Equal(b.t, "••••••••", byVar["db_password"][2], "the password is masked")
	assert.NotContains(b.t, b.text(sel), secret)
}
