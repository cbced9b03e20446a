// Package e2e drives the portal in headless Chromium against the real
// stack: PostgreSQL, a Temporal dev server, a worker, the AWX simulator and
// the API with the portal over HTTP. Screenshots of each page go to
// artifacts/screenshots/ at the repository root.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/store"
)

var temporalAddr string

func TestMain(m *testing.M) { os.Exit(testkit.Main(m, "portal e2e tests", &temporalAddr)) }

// stack is the running Countersign the browser talks to.
type stack struct {
	t   *testing.T
	url string
	org int64
	// teams by name
	teams map[string]int64
	// sim is the simulated AWX, for templates of a test's own.
	sim *awxsim.Server
	// store is the stack's database.
	store *store.Store
	// devTokens: the API accepts "dev-<username>"; otherwise call uses
	// tokens issued in the store, kept in tokens by username.
	devTokens bool
	tokens    map[string]string
}

// newStack starts a stack in dev mode: the sign-in page offers the demo
// users.
func newStack(t *testing.T) *stack {
	t.Helper()
	return startStack(t, func(_ *stack, d *api.Deps) { d.DevTokens = true })
}

// startStack starts a stack; configure completes the API's Deps, with the
// stack's URL (its listener is open, the API not yet served) and store at
// hand.
func startStack(t *testing.T, configure func(*stack, *api.Deps)) *stack {
	t.Helper()
	return startStackWith(t, nil, configure)
}

// startStackWith is startStack with prepare changing the worker's
// activities (their notification channels) before the worker starts.
func startStackWith(t *testing.T, prepare func(*testkit.Stack), configure func(*stack, *api.Deps)) *stack {
	t.Helper()
	s := testkit.NewStack(t, awxsim.Config{JobDuration: 3 * time.Second, PendingFor: 300 * time.Millisecond})
	if prepare != nil {
		prepare(s)
	}
	queue := testkit.TaskQueue(t)
	c := testkit.Dial(t, temporalAddr)
	testkit.StartWorker(t, c, queue, s.Activities)
	hs := httptest.NewUnstartedServer(nil)
	st := &stack{t: t, url: "http://" + hs.Listener.Addr().String(), org: s.Identity.Org.ID, teams: map[string]int64{}, sim: s.Sim,
		store: s.Store, tokens: map[string]string{}}
	for name, team := range s.Identity.Teams {
		st.teams[name] = team.ID
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := api.Deps{PayloadKeys: testkit.PayloadRing(), Store: s.Store, Temporal: c, AWX: s.AWX, Logger: logger, TaskQueue: queue,
		TemporalTimeout: 15 * time.Second}
	configure(st, &deps)
	st.devTokens = deps.DevTokens
	srv := api.New(deps)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(func() { hs.Close(); srv.Close() })
	require.Equal(t, st.url, hs.URL)
	return st
}

// token is an API token of user: their dev token, or one issued in the
// store the first time it is needed.
func (s *stack) token(user string) string {
	s.t.Helper()
	if s.devTokens {
		return "dev-" + user
	}
	if tok, ok := s.tokens[user]; ok {
		return tok
	}
	ctx := context.Background()
	u, err := s.store.GetUserByUsername(ctx, user)
	require.NoError(s.t, err, user)
	tok, _, err := s.store.CreateToken(ctx, u.ID, "browser tests")
	require.NoError(s.t, err)
	s.tokens[user] = tok
	return tok
}

// call sends a JSON request (none when body is nil) to the API as user
// (with their token) and requires the status.
func (s *stack) call(want int, user, method, path string, body any) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(s.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	require.NoError(s.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+s.token(user))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	require.Equal(s.t, want, resp.StatusCode, "%s %s as %s: %s", method, path, user, out)
	var m map[string]any
	if len(out) > 0 {
		require.NoError(s.t, json.Unmarshal(out, &m))
	}
	return m
}

// catalog creates, as erin through the API, the demo catalog of SPEC 8.1:
// "Provision environment" with its two policies and "Restart service"
// (one approval by sre).
func (s *stack) catalog() (provision, restart int64) {
	s.t.Helper()
	p := s.call(http.StatusCreated, "erin", "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": s.org, "name": "Provision environment", "description": "A database and the app, for a few days.",
		"icon": "server", "category": "environments", "tags": []string{"dev", "self-service"},
		"workflow_job_template": awxsim.DemoProvisionEnvironmentID,
	})
	r := s.call(http.StatusCreated, "erin", "POST", "/api/v2/service_catalog_items/", map[string]any{
		"organization": s.org, "name": "Restart service", "description": "Restart one of the services.",
		"icon": "refresh-cw", "category": "operations", "tags": []string{"ops"},
		"job_template": awxsim.DemoRestartServiceID, "requires_approval": true, "approver_team": s.teams["sre"],
	})
	s.call(http.StatusCreated, "erin", "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": s.org, "name": "long-lived environments", "priority": 10,
		"condition": `item.name == "Provision environment" && extra_vars.ttl_days > 5`,
		"stages": []map[string]any{
			{"name": "SRE review", "approver_team": s.teams["sre"], "min_approvers": 2, "denial_message": "SRE declined the environment."},
			{"name": "Security review", "approver_team": s.teams["security"], "min_approvers": 1,
				"denial_message": "Security declined the environment."},
		},
	})
	s.call(http.StatusCreated, "erin", "POST", "/api/v2/approval_policies/", map[string]any{
		"organization": s.org, "name": "environments", "priority": 20,
		"condition": `item.name == "Provision environment"`,
		"stages":    []map[string]any{{"name": "SRE review", "approver_team": s.teams["sre"], "min_approvers": 2}},
	})
	return int64(p["id"].(float64)), int64(r["id"].(float64))
}

// screenshotDir is artifacts/screenshots/ at the repository root.
func screenshotDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "artifacts", "screenshots")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// browser is one headless Chromium tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	shot int

	mu         sync.Mutex
	exceptions []string
	console    []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(testkit.Chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-US"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, dir: screenshotDir(t)}
	// Start the browser (without a deadline: it lives as long as ctx).
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "starting Chromium")
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprintf("%s %s:%d %s", m.Type, m.URL, m.Line+1, m))
			if m.IsException() {
				b.exceptions = append(b.exceptions, m.String())
			}
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs actions with a generous deadline (a shared, busy machine).
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.logConsole()
		b.t.Fatalf("%s: %v", what, err)
	}
}

// click clicks the element that matches the CSS selector. A page that has
// just loaded may still swap the document under a node found a moment
// before; the click then never reached the page, so it is tried again.
func (b *browser) click(what, sel string) {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "Could not find node with given id") || time.Now().After(deadline) {
			b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
			b.logConsole()
			b.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logConsole logs what the page wrote to its console.
func (b *browser) logConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, line := range b.console {
		b.t.Log("console: " + line)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(b.t, err, "evaluating %s", expr)
	return v
}

// evalMay evaluates a JavaScript expression, reporting false instead of
// failing when it cannot (the page is between two documents, reloading).
func evalMay[T any](b *browser, expr string) (T, bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	return v, err == nil
}

// text is the text of the first element that matches the CSS selector,
// once there is one. Pages that refresh themselves replace their elements,
// so the text is read in one script rather than through a node held on to.
func (b *browser) text(sel string) string {
	b.t.Helper()
	raw, err := json.Marshal(sel)
	require.NoError(b.t, err)
	expr := fmt.Sprintf(`(() => { const el = document.querySelector(%s); return el ? [true, el.innerText] : [false, '']; })()`, raw)
	var out string
	b.until(60*time.Second, "an element "+sel, nil, func() bool {
		got := eval[[]any](b, expr)
		out, _ = got[1].(string)
		return got[0] == true
	})
	return strings.TrimSpace(out)
}

// present reports whether an element matches the CSS selector now.
func (b *browser) present(sel string) bool {
	b.t.Helper()
	raw, err := json.Marshal(sel)
	require.NoError(b.t, err)
	return eval[bool](b, fmt.Sprintf("document.querySelector(%s) !== null", raw))
}

// until repeats step (which may be nil) and checks cond every second until
// cond holds or within passes.
func (b *browser) until(within time.Duration, what string, step func(), cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
			b.logConsole()
			b.t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(time.Second)
		if step != nil {
			step()
		}
	}
}

// route goes to a hash route of the portal.
func (b *browser) route(hash string) {
	b.t.Helper()
	raw, _ := json.Marshal(hash)
	eval[string](b, fmt.Sprintf("location.hash = %s", raw))
}

// choose picks value in the select element sel, as a user would (the
// page hears a change event).
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	rs, _ := json.Marshal(sel)
	rv, _ := json.Marshal(value)
	require.True(b.t, eval[bool](b, fmt.Sprintf(`(() => { const el = document.querySelector(%s); el.value = %s;
		el.dispatchEvent(new Event('change', { bubbles: true })); return el.value === %s; })()`, rs, rv, rv)), "choosing %s in %s", value, sel)
}

// screenshot saves the whole page as NN-name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	b.shot++
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s failed: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name))
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
}

// signIn signs in as a demo user from the dev picker.
func (b *browser) signIn(user string) {
	b.t.Helper()
	b.do("opening the sign-in page as "+user,
		chromedp.Navigate(b.base+"/ui/signin"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-user=%q]`, user))),
	)
	b.waitSignedIn(user)
}

// waitSignedIn waits for the portal to show user signed in, however many
// pages the browser goes through on the way.
func (b *browser) waitSignedIn(user string) {
	b.t.Helper()
	// The header is drawn again once the page knows the caller, so the
	// element is read by a script rather than held on to.
	b.until(60*time.Second, user+" signed in", nil, func() bool {
		who, ok := evalMay[string](b, `document.readyState === 'complete' && (document.querySelector('#whoami') || {}).textContent || ''`)
		return ok && who == user
	})
}

// waitFor waits for an element that matches the CSS selector, across the
// pages of a navigation under way: a query that meets a document going
// away is tried again rather than failing.
func (b *browser) waitFor(sel, what string) {
	b.t.Helper()
	raw, err := json.Marshal(sel)
	require.NoError(b.t, err)
	expr := fmt.Sprintf("document.querySelector(%s) !== null", raw)
	b.until(60*time.Second, what, nil, func() bool {
		found, ok := evalMay[bool](b, expr)
		return ok && found
	})
}

// signOut ends the session with the sign-out button.
func (b *browser) signOut() {
	b.t.Helper()
	b.click("signing out", `form.signout button`)
	b.do("waiting for the sign-in page", chromedp.WaitVisible(chromedp.CSS(`form[action="/ui/session"]`)))
}

// checkNoExceptions fails the test if a page script threw.
func (b *browser) checkNoExceptions() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(b.t, b.exceptions, "uncaught exceptions in the portal's scripts")
}
