package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/testkit"
)

// encryptedInWebUI is how the Web UI shows a payload it could not decode:
// its metadata, base64 as protobuf's JSON writes bytes, starts with the
// encoding "binary/encrypted".
const encryptedInWebUI = "YmluYXJ5L2VuY3J5cHRlZA=="

// webUIPage opens the Temporal Web UI's page of a workflow in a browser
// signed in to the portal as user ("" for nobody) and returns the page's
// text once it shows waitFor. The UI reads payloads from the Temporal server
// encrypted and decodes them through Countersign's codec endpoint with the
// browser's cookies.
func webUIPage(t *testing.T, api, ui, workflowID, user, waitFor string) string {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(testkit.Chromium(t)),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1600))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()

	if user != "" {
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(api+"/ui/signin"),
			chromedp.Click(chromedp.CSS(`button[data-user="`+user+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#whoami`))), "signing in to the portal as %s", user)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(ui+"/namespaces/default/workflows/"+workflowID)))
	var body string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err == nil {
			body = text
		}
		if strings.Contains(body, waitFor) {
			return body
		}
	}
	t.Fatalf("the Web UI's page of %s, signed in as %q, did not show %q within a minute; it shows:\n%.2000s", workflowID, user, waitFor, body)
	return ""
}
