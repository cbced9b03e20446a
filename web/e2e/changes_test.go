package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

// An approver asks for changes from the request's page; its requester
// reads why and resubmits from a dialog prefilled with the old answers,
// the password left empty; the two requests link to each other.
func TestPortal_RequestChangesAndResubmit(t *testing.T) {
	s := newStack(t)
	const templateID = 902
	require.NoError(t, s.sim.AddJobTemplate(awxsim.JobTemplate{
		ID: templateID, Name: "Rotate key", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "Rotate key", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionText, QuestionName: "Key name", Variable: "key_name", Required: true},
			{Type: awxsim.QuestionPassword, QuestionName: "Passphrase", Variable: "passphrase", Required: true},
		}},
	}))
	item := s.call(http.StatusCreated, "erin", "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": s.org, "name": "Rotate key", "category": "operations", "job_template": templateID,
		"requires_approval": true, "approver_team": s.teams["sre"],
	})
	old := int64(s.call(http.StatusCreated, "alice", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", int64(item["id"].(float64))),
		map[string]any{"justification": "rotate the old key", "extra_vars": map[string]any{"key_name": "api-key", "passphrase": "first-secret-pass"}})["id"].(float64))
	route := fmt.Sprintf("#/requests/%d", old)
	b := newBrowser(t, s.url)
	b.do("opening the portal", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`.dev-users`)))

	// bob asks for changes.
	b.signIn("bob")
	b.route(route)
	b.until(60*time.Second, "bob to be offered Request changes", nil, func() bool { return b.present(`.detail [data-action="request_changes"]`) })
	b.do("asking for changes", chromedp.Click(chromedp.CSS(`.detail [data-action="request_changes"]`)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` textarea`)),
		chromedp.SendKeys(chromedp.CSS(dialog+` textarea`), "rotate web-key instead"),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	b.until(30*time.Second, "the request to show changes requested", nil, func() bool {
		return b.present(`.detail .badge[data-status="changes_requested"]`)
	})
	assert.Contains(t, b.text(`.timeline`), "bob asked for changes at Stage 1")
	assert.False(t, b.present(`.detail [data-action="resubmit"]`), "only the requester may resubmit")
	b.signOut()

	// alice reads why and resubmits.
	b.signIn("alice")
	b.route(route)
	b.until(60*time.Second, "alice to be offered Resubmit", nil, func() bool { return b.present(`.detail [data-action="resubmit"]`) })
	assert.Equal(t, "rotate web-key instead", b.text(`.detail .changes-reason`))
	assert.True(t, b.present(`.detail [data-action="request_again"]`))
	b.screenshot("changes-requested")
	b.do("opening the prefilled dialog", chromedp.Click(chromedp.CSS(`.detail [data-action="resubmit"]`)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` [data-key="justification"] textarea`)))
	assert.Equal(t, "rotate the old key", eval[string](b, `document.querySelector('dialog[open] [data-key="justification"] textarea').value`))
	assert.Contains(t, b.text(dialog+` [data-resubmits]`), fmt.Sprintf("resubmits request #%d", old))
	b.do("to the survey", chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(`#q-extra_vars-key_name`)))
	assert.Equal(t, "api-key", eval[string](b, `document.querySelector('#q-extra_vars-key_name').value`))
	assert.Empty(t, eval[string](b, `document.querySelector('#q-extra_vars-passphrase').value`), "a password is never prefilled")
	b.do("making the change", chromedp.SetValue(chromedp.CSS(`#q-extra_vars-key_name`), "web-key"),
		chromedp.SendKeys(chromedp.CSS(`#q-extra_vars-passphrase`), "second-secret-pass"),
		chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(dialog+` .plan[data-approval]`)),
		chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(dialog+` .success`)))
	href := eval[string](b, `document.querySelector('dialog[open] a[href^="#/requests/"]').getAttribute('href')`)
	child := strings.TrimPrefix(href, "#/requests/")
	req := s.call(http.StatusOK, "alice", "GET", "/api/v2/service_requests/"+child+"/", nil)
	assert.EqualValues(t, old, req["parent"])
	assert.Equal(t, map[string]any{"key_name": "web-key", "passphrase": "$encrypted$"}, req["extra_vars"])
	b.do("closing the dialog", chromedp.Click(chromedp.CSS(next)), chromedp.WaitNotPresent(chromedp.CSS(dialog)))

	// The old request links to the new one and is resubmitted no more.
	b.until(30*time.Second, "the link to the resubmission", nil, func() bool {
		return b.present(fmt.Sprintf(`.detail [data-link="children"] a[href="#/requests/%s"]`, child))
	})
	assert.False(t, b.present(`.detail [data-action="resubmit"]`), "a request is resubmitted once")
	b.route("#/requests/" + child)
	b.until(30*time.Second, "the link back", nil, func() bool {
		return b.present(fmt.Sprintf(`.detail [data-link="parent"] a[href="#/requests/%d"]`, old))
	})
	b.screenshot("resubmitted")
	b.checkNoExceptions()
}
