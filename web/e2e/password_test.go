package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

// An empty password field keeps the question's default when it has one
// ("$encrypted$" goes to the API and on to AWX), and is simply missing when
// it has none.
func TestPortal_PasswordKeepsItsDefault(t *testing.T) {
	s := newStack(t)
	const templateID = 901
	require.NoError(t, s.sim.AddJobTemplate(awxsim.JobTemplate{
		ID: templateID, Name: "Reset cache", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "Reset cache", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionPassword, QuestionName: "Cache password", Variable: "cache_password", Required: true,
				Default: "the-default-cache-password"},
			{Type: awxsim.QuestionPassword, QuestionName: "Admin token", Variable: "admin_token", Required: true},
		}},
	}))
	s.call(http.StatusCreated, "erin", "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": s.org, "name": "Reset cache", "category": "operations", "job_template": templateID,
	})
	b := newBrowser(t, s.url)
	b.do("opening the portal", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`.dev-users`)))
	b.signIn("alice")

	b.do("opening the request dialog",
		chromedp.WaitVisible(chromedp.CSS(`article[data-item="Reset cache"] footer button`)),
		chromedp.Click(chromedp.CSS(`article[data-item="Reset cache"] footer button`)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` [data-key="justification"] textarea`)),
		chromedp.SendKeys(chromedp.CSS(dialog+` [data-key="justification"] textarea`), "stale entries"),
		chromedp.Click(chromedp.CSS(next)),
		chromedp.WaitVisible(chromedp.CSS(`#q-extra_vars-cache_password`)))
	assert.Equal(t, "Leave empty to keep the default",
		eval[string](b, `document.querySelector('#q-extra_vars-cache_password').getAttribute('placeholder')`))
	assert.Empty(t, eval[string](b, `document.querySelector('#q-extra_vars-admin_token').getAttribute('placeholder') || ''`),
		"no default, nothing to keep")
	b.do("leaving both empty", chromedp.Click(chromedp.CSS(next)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` [data-key="extra_vars.admin_token"] ul.errors li`)))
	assert.False(t, b.present(dialog+` [data-key="extra_vars.cache_password"] ul.errors li`), "the default is kept")
	b.do("giving the token only", chromedp.SendKeys(chromedp.CSS(`#q-extra_vars-admin_token`), "token-of-the-admin"),
		chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(dialog+` .plan[data-approval]`)),
		chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(dialog+` .success`)))
	href := eval[string](b, `document.querySelector('dialog[open] a[href^="#/requests/"]').getAttribute('href')`)
	id := strings.TrimPrefix(href, "#/requests/")

	req := s.call(http.StatusOK, "alice", "GET", "/api/v2/service_requests/"+id+"/", nil)
	assert.Equal(t, map[string]any{"cache_password": "$encrypted$", "admin_token": "$encrypted$"}, req["extra_vars"])
	b.until(30*time.Second, "the request to end", nil, func() bool {
		req = s.call(http.StatusOK, "alice", "GET", "/api/v2/service_requests/"+id+"/", nil)
		return req["status"] == "successful" || req["status"] == "failed"
	})
	assert.Equal(t, "successful", req["status"], "failure reason: %v", req["failure_reason"])
	jobs := s.sim.Jobs()
	require.Len(t, jobs, 1)
	assert.Equal(t, int64(templateID), jobs[0].TemplateID)
	b.checkNoExceptions()
}
