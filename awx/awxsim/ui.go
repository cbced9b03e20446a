package awxsim

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strings"
)

// The job page AWX's UI links resolve to. AWX's UI addresses a job as
// <AWX_URL>/#/jobs/playbook/<id> or /#/jobs/workflow/<id>; the fragment
// never reaches the server, so the simulator serves / with one page whose
// script reads the fragment and shows that job, read-only, from the API.
// The page holds no credential: it asks for a token the simulator accepts
// and keeps it in the browser's local storage. It loads nothing from
// elsewhere, and its Content-Security-Policy allows only its own inline
// script and style (by hash) and calls to the simulator itself.
var (
	//go:embed ui/job.js
	jobPageScript string
	//go:embed ui/job.css
	jobPageStyle string

	jobPage = strings.Join([]string{
		`<!doctype html>`,
		`<html lang="en">`,
		`<head>`,
		`<meta charset="utf-8">`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<title>AWX simulator</title>`,
		`<style>` + jobPageStyle + `</style>`,
		`</head>`,
		`<body>`,
		`<header><strong>AWX simulator</strong><span class="spacer"></span><button type="button" id="sign-out" hidden>Sign out</button></header>`,
		`<main id="main" aria-live="polite"></main>`,
		`<script>` + jobPageScript + `</script>`,
		`</body>`,
		`</html>`,
		``,
	}, "\n")

	jobPageCSP = "default-src 'none'; script-src " + sourceHash(jobPageScript) + "; style-src " + sourceHash(jobPageStyle) +
		"; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

func sourceHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (s *Server) getJobPage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", jobPageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(jobPage))
}
