package e2e_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/awx/awxsim"
)

// Numbers typed into the request dialog are sent as written: an integer
// beyond 2^53 keeps its digits and 2.0 stays a float; the request's page
// shows the answers as they were given.
func TestPortal_NumbersAsWritten(t *testing.T) {
	s := newStack(t)
	const templateID = 902
	require.NoError(t, s.sim.AddJobTemplate(awxsim.JobTemplate{
		ID: templateID, Name: "Resize volume", SurveyEnabled: true,
		Survey: &awxsim.Survey{Name: "Resize volume", Spec: []awxsim.SurveyQuestion{
			{Type: awxsim.QuestionInteger, QuestionName: "Bytes", Variable: "bytes", Required: true},
			{Type: awxsim.QuestionFloat, QuestionName: "Ratio", Variable: "ratio", Required: true},
		}},
	}))
	s.call(http.StatusCreated, "erin", "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": s.org, "name": "Resize volume", "category": "operations", "job_template": templateID,
	})
	b := newBrowser(t, s.url)
	b.do("opening the portal", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`.dev-users`)))
	b.signIn("alice")
	b.do("requesting",
		chromedp.WaitVisible(chromedp.CSS(`article[data-item="Resize volume"] footer button`)),
		chromedp.Click(chromedp.CSS(`article[data-item="Resize volume"] footer button`)),
		chromedp.WaitVisible(chromedp.CSS(dialog+` [data-key="justification"] textarea`)),
		chromedp.SendKeys(chromedp.CSS(dialog+` [data-key="justification"] textarea`), "disk full"),
		chromedp.Click(chromedp.CSS(next)),
		chromedp.WaitVisible(chromedp.CSS(`#q-extra_vars-bytes`)),
		chromedp.SendKeys(chromedp.CSS(`#q-extra_vars-bytes`), "9007199254740993"),
		chromedp.SendKeys(chromedp.CSS(`#q-extra_vars-ratio`), "2.0"),
		chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(dialog+` .plan[data-approval]`)))
	confirm := b.text(dialog + ` .dialog-body`)
	assert.Contains(t, confirm, "9007199254740993")
	assert.Contains(t, confirm, "2.0")
	b.do("submitting", chromedp.Click(chromedp.CSS(next)), chromedp.WaitVisible(chromedp.CSS(dialog+` .success`)))
	href := eval[string](b, `document.querySelector('dialog[open] a[href^="#/requests/"]').getAttribute('href')`)
	id := strings.TrimPrefix(href, "#/requests/")

	req, err := http.NewRequest("GET", s.url+"/api/v2/service_requests/"+id+"/", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer dev-alice")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"extra_vars":{"bytes":9007199254740993,"ratio":2.0}`)

	b.do("the request's page", chromedp.Click(chromedp.CSS(dialog+` a[href^="#/requests/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.detail section[aria-label="Answers"]`)))
	b.until(20*time.Second, "the answers", nil, func() bool {
		return strings.Contains(b.text(`.detail section[aria-label="Answers"]`), "9007199254740993")
	})
	assert.Contains(t, b.text(`.detail section[aria-label="Answers"]`), "2.0")
	b.checkNoExceptions()
}
