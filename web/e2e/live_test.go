package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPortal_LivePages: what happens around the pages while they are open.
// A link to a request opens it after signing in, and from another site
// opens it signed in; pages that refresh themselves keep the keyboard
// focus; signing in again elsewhere does not break the page's actions;
// Escape cannot hide an approval under way; the page of a request deleted
// meanwhile says so and stops asking.
func TestPortal_LivePages(t *testing.T) {
	s := newStack(t)
	_, restart := s.catalog()
	b := newBrowser(t, s.url)
	submit := func(why string) int64 {
		t.Helper()
		return int64(s.call(http.StatusCreated, "alice", "POST", fmt.Sprintf("/api/v2/service_catalog_items/%d/submit/", restart),
			map[string]any{"justification": why, "extra_vars": map[string]any{"service_name": "worker"}})["id"].(float64))
	}
	whoami := func() string { return eval[string](b, `(document.querySelector('#whoami') || {}).textContent || ''`) }
	toasts := func() string { return eval[string](b, `document.getElementById('toasts').innerText`) }
	timelineHas := func(text string) func() bool {
		return func() bool {
			got, _ := evalMay[string](b, `(document.querySelector('.timeline') || {}).innerText || ''`)
			return strings.Contains(got, text)
		}
	}

	first := submit("stuck workers")
	route := fmt.Sprintf("#/requests/%d", first)
	pending := chromedp.CSS(`.detail .badge[data-status="pending_approval"]`)

	// Signed out, a link to the request leads through the sign-in page to
	// the request.
	b.do("following a link signed out", chromedp.Navigate(s.url+"/"+route), chromedp.WaitVisible(chromedp.CSS(`.dev-users`)))
	assert.Equal(t, route, eval[string](b, `document.querySelector('button[data-user="bob"]').form.elements.next.value`))
	b.do("signing in as bob", chromedp.Click(chromedp.CSS(`button[data-user="bob"]`)), chromedp.WaitVisible(pending))
	assert.Equal(t, route, eval[string](b, `location.hash`))
	assert.Equal(t, "bob", whoami())

	// Signed in, a link from another site (a chat, a mail) opens the
	// request at once: the session cookie comes along (SameSite=Lax).
	chat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>chat</title><a id="link" href="%s/%s">the request</a>`, s.url, route)
	}))
	t.Cleanup(chat.Close)
	b.do("following a link from another site",
		chromedp.Navigate(strings.Replace(chat.URL, "127.0.0.1", "localhost", 1)),
		chromedp.Click(chromedp.CSS(`#link`)),
		chromedp.WaitVisible(pending))
	assert.Equal(t, "/", eval[string](b, `location.pathname`), "not sent to the sign-in page")
	assert.Equal(t, "bob", whoami())

	// The detail page refreshes itself every 3 s; the focus stays on the
	// Approve button while the request changes underneath.
	approve := `.detail [data-action="approve"]`
	b.until(60*time.Second, "bob to be asked to decide", nil, func() bool { return b.present(approve) })
	require.True(t, eval[bool](b, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus(); return document.activeElement === el; })()`, approve)))
	s.call(http.StatusOK, "alice", "POST", fmt.Sprintf("/api/v2/service_requests/%d/comment/", first), map[string]any{"text": "any news?"})
	b.until(60*time.Second, "the page to show alice's comment", nil, timelineHas("any news?"))
	time.Sleep(7 * time.Second) // more than two refreshes
	assert.Equal(t, "approve", eval[string](b, `document.activeElement.dataset.action || document.activeElement.tagName`),
		"the refresh took the focus away")

	// Signing in again elsewhere (another tab) replaces the CSRF cookie; the
	// page's actions go on working.
	served := eval[string](b, `document.querySelector('meta[name="csrf-token"]').content`)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	_, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('/ui/session', { method: 'POST', redirect: 'manual',
		body: new URLSearchParams({ token: 'dev-bob' }) }).then((r) => r.type)`, chromedp.EvalAwaitPromise))
	cancel()
	require.NoError(t, err, "signing in again")
	require.NotContains(t, eval[string](b, `document.cookie`), "countersign_csrf="+served, "the sign-in did not replace the CSRF cookie")
	comment := chromedp.CSS(`.detail form textarea`)
	addComment := chromedp.CSS(`.detail form button[type="submit"]`)
	b.do("commenting after signing in elsewhere", chromedp.SendKeys(comment, "on it"), chromedp.Click(addComment))
	b.until(60*time.Second, "bob's comment", nil, timelineHas("on it"))
	assert.False(t, b.present(`.detail form .form-alert`))

	// Without any CSRF cookie the call is refused: the page reloads, once,
	// says why, and works again.
	require.True(t, eval[bool](b, `(() => { document.cookie = 'countersign_csrf=; Max-Age=0; Path=/'; window.beforeReload = true;
		return !document.cookie.includes('countersign_csrf='); })()`))
	b.do("commenting without a CSRF cookie", chromedp.SendKeys(comment, "second try"), chromedp.Click(addComment))
	b.until(60*time.Second, "the page to reload and say why", nil, func() bool {
		got, ok := evalMay[string](b, `window.beforeReload ? '' : document.getElementById('toasts').innerText`)
		return ok && strings.Contains(got, "Your session changed")
	})
	b.do("the page after the reload", chromedp.WaitVisible(pending))
	b.do("commenting again", chromedp.SendKeys(comment, "second try"), chromedp.Click(addComment))
	b.until(60*time.Second, "the second comment", nil, timelineHas("second try"))
	b.screenshot("detail-after-csrf-reload")

	// Escape does not close the approval dialog while the approval is under
	// way (its outcome would go unseen); the approval is then confirmed.
	require.True(t, eval[bool](b, `(() => { const fetch0 = window.fetch; window.fetch0 = fetch0; window.held = false;
		window.fetch = (url, init) => (init && init.method === 'POST'
			? new Promise((release) => { window.held = true; window.release = release; }).then(() => fetch0(url, init))
			: fetch0(url, init));
		return true; })()`))
	b.do("approving", chromedp.Click(chromedp.CSS(approve)), chromedp.WaitVisible(chromedp.CSS(dialog+` textarea`)),
		chromedp.Click(chromedp.CSS(dialog+` button[type="submit"]`)))
	b.until(30*time.Second, "the approval to be under way", nil, func() bool { return eval[bool](b, `window.held === true`) })
	b.do("pressing Escape", chromedp.KeyEvent(kb.Escape), chromedp.Sleep(time.Second))
	assert.True(t, b.present(dialog), "Escape closed the dialog while the approval was under way")
	// Chromium honours that only once per user activation: a second Escape
	// closes the dialog all the same, and the page still tells the outcome.
	b.do("pressing Escape again", chromedp.KeyEvent(kb.Escape), chromedp.Sleep(time.Second))
	require.True(t, eval[bool](b, `(() => { window.fetch = window.fetch0; window.release(); return true; })()`))
	b.until(60*time.Second, "the approval's toast", nil, func() bool {
		return strings.Contains(toasts(), fmt.Sprintf("Request #%d approved.", first))
	})
	b.do("the dialog to close", chromedp.WaitNotPresent(chromedp.CSS(dialog)))

	// The inbox reloads itself every 20 s, but not while the focus is in
	// its list.
	third := submit("inbox one")
	b.route("#/approvals")
	card := func(id int64) string { return fmt.Sprintf(`article[data-request="%d"]`, id) }
	b.until(60*time.Second, "bob's inbox", func() { b.do("refreshing", chromedp.Click(chromedp.CSS(`.page-head .actions button`))) },
		func() bool { return b.present(card(third)) })
	require.True(t, eval[bool](b, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus(); return document.activeElement === el; })()`,
		card(third)+` button.btn-ok`)))
	fourth := submit("inbox two")
	time.Sleep(25 * time.Second) // more than one period
	assert.Equal(t, fmt.Sprint(third), eval[string](b, `(document.activeElement.closest('article[data-request]') || { dataset: {} }).dataset.request || ''`),
		"the inbox's reload took the focus away")
	assert.False(t, b.present(card(fourth)), "the inbox reloaded while the focus was in it")
	eval[bool](b, `(document.activeElement.blur(), true)`)
	b.until(60*time.Second, "the inbox to reload by itself", nil, func() bool { return b.present(card(fourth)) })

	// A request deleted while its page is open: the page says so and stops
	// asking about it.
	b.route(fmt.Sprintf("#/requests/%d", fourth))
	b.do("the fourth request's page", chromedp.WaitVisible(pending))
	require.True(t, eval[bool](b, fmt.Sprintf(`(() => { const fetch0 = window.fetch; window.asked = 0;
		window.fetch = (url, init) => { if (String(url).includes('/service_requests/%d/')) window.asked += 1; return fetch0(url, init); };
		return true; })()`, fourth)))
	s.call(http.StatusNoContent, "alice", "DELETE", fmt.Sprintf("/api/v2/service_requests/%d/", fourth), nil)
	b.until(60*time.Second, "the page to say the request is gone", nil, func() bool {
		return strings.Contains(eval[string](b, `document.getElementById('main').innerText`), "This request no longer exists.")
	})
	asked := eval[int](b, `window.asked`)
	time.Sleep(7 * time.Second) // more than two refreshes
	assert.Equal(t, asked, eval[int](b, `window.asked`), "the page still asks about a deleted request")
	b.screenshot("detail-deleted")

	b.checkNoExceptions()
}
