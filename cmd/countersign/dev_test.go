package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	pathpkg "path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/pgcluster"
)

// devProcess is a running `countersign dev`.
type devProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *bufio.Reader
	banner string
	done   chan error
	stderr *syncBuffer
}

// buildBinary builds countersign into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "countersign")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// devPorts are free ports for every listener of the stack, each a
// different one: a port found free and released may be found free again.
func devPorts(t *testing.T) []string {
	t.Helper()
	var ports []string
	for len(ports) < 7 {
		p, err := pgcluster.FreePort()
		require.NoError(t, err)
		if port := strconv.Itoa(p); !slices.Contains(ports, port) {
			ports = append(ports, port)
		}
	}
	return ports
}

// startDev starts `countersign dev` from the repository root, as `make
// run` does, and waits for its banner.
func startDev(t *testing.T, bin, dataDir string, ports []string) *devProcess {
	t.Helper()
	cmd := exec.Command(bin, "dev", "--data-dir", dataDir, "--api-port", ports[0], "--temporal-port", ports[1],
		"--ui-port", ports[2], "--awx-port", ports[3], "--pg-port", ports[4], "--idp-port", ports[5], "--mail-port", ports[6], "--job-duration", "2s")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "CI=true")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &devProcess{t: t, cmd: cmd, stdout: bufio.NewReader(stdout), done: make(chan error, 1), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		p.done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// Killing a process that has exited does nothing.
		_ = cmd.Process.Kill()
		<-exited
	})
	banner := make(chan string, 1)
	go func() {
		var b strings.Builder
		for {
			line, err := p.stdout.ReadString('\n')
			b.WriteString(line)
			if err != nil || strings.HasPrefix(line, "Ctrl-C stops everything") {
				banner <- b.String()
				return
			}
		}
	}()
	select {
	case p.banner = <-banner:
	case <-time.After(3 * time.Minute):
		t.Fatalf("no banner from countersign dev within 3 minutes; stderr: %s", p.stderr.String())
	}
	require.Contains(t, p.banner, "Ctrl-C stops everything", "stderr: %s", p.stderr.String())
	return p
}

// interrupt sends SIGINT, as Ctrl-C does, and waits for a clean exit.
func (p *devProcess) interrupt() string {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGINT))
	rest, _ := io.ReadAll(p.stdout)
	select {
	case err := <-p.done:
		require.NoError(p.t, err, "countersign dev exits cleanly on Ctrl-C; stderr: %s", p.stderr.String())
	case <-time.After(90 * time.Second):
		p.t.Fatal("countersign dev did not stop within 90s of SIGINT")
	}
	return string(rest)
}

// commands are the copy-paste commands of the banner.
func (p *devProcess) commands() []string {
	var out []string
	inTry := false
	for _, line := range strings.Split(p.banner, "\n") {
		switch {
		case strings.HasPrefix(line, "Try it"):
			inTry = true
		case inTry && strings.HasPrefix(line, "  "):
			out = append(out, strings.TrimSpace(line))
		case inTry:
			inTry = false
		}
	}
	require.Len(p.t, out, 3, "three commands in the banner:\n%s", p.banner)
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return root
}

func getJSON(t *testing.T, url, token string) map[string]any {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", out)
	return out
}

// getPage is the body of the page at url, whatever its status.
func getPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// post sends body as token's user and checks the status.
func post(t *testing.T, url, token, body string, want int) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, want, resp.StatusCode, "POST %s: %s", url, raw)
	return resp
}

func waitStatus(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last any
	for time.Now().Before(deadline) {
		last = getJSON(t, url, "dev-alice")["status"]
		if last == want {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: status %v, want %s", url, last, want)
}

// The acceptance test of `make run`: the banner's three commands work
// verbatim, Ctrl-C stops everything, and a second run keeps the requests,
// seeds nothing twice and lets a waiting request be approved.
func TestDev_WholeStack(t *testing.T) {
	bin := buildBinary(t)
	// PostgreSQL runs as the postgres user when we are root: its directory
	// must be reachable, which t.TempDir's is not.
	dataDir, err := os.MkdirTemp("", "countersign-dev-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dataDir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	ports := devPorts(t)
	api, issuer := "http://127.0.0.1:"+ports[0], "http://127.0.0.1:"+ports[5]

	dev := startDev(t, bin, dataDir, ports)
	for _, want := range []string{api + "/", "http://127.0.0.1:" + ports[2] + "/namespaces/default/workflows",
		"127.0.0.1:" + ports[1], "http://127.0.0.1:" + ports[3] + "/api/v2/", devAWXToken, "dev-alice", "dev-bob", "dev-carol", "dev-dave", "dev-erin", "dev-admin",
		"OpenID provider      " + issuer, "Sign in at " + api + "/ with the local OpenID provider"} {
		assert.Contains(t, dev.banner, want)
	}
	// Each demo user with the password, groups and token that work.
	assert.Regexp(t, `alice / demo-alice\s+-\s+dev-alice\s+requester`, dev.banner)
	assert.Regexp(t, `bob / demo-bob\s+sre\s+dev-bob\s+approver, team sre`, dev.banner)
	assert.Regexp(t, `dave / demo-dave\s+security\s+dev-dave`, dev.banner)
	assert.Regexp(t, `erin / demo-erin\s+acme-admins\s+dev-erin\s+org admin of acme`, dev.banner)

	// The portal signs in through the local provider; the demo group map
	// grants what the demo data gave.
	checkProviderDiscovery(t, api, issuer)
	bob := signInThroughProvider(t, api, api, issuer, "bob")
	assert.Equal(t, "bob", whoAmI(t, bob, api).Username)
	assert.Equal(t, []string{"sre"}, whoAmI(t, bob, api).teams())
	// A sign-in started at localhost moves to 127.0.0.1, where the
	// provider sends the browser back.
	erin := whoAmI(t, signInThroughProvider(t, "http://localhost:"+ports[0], api, issuer, "erin"), api)
	assert.Equal(t, "erin", erin.Username)
	require.Len(t, erin.Organizations, 1)
	assert.Equal(t, "admin", erin.Organizations[0].Role)
	// A second run on the same data directory leaves the first alone.
	other := devPorts(t)
	second := exec.Command(bin, "dev", "--data-dir", dataDir, "--api-port", other[0], "--temporal-port", other[1],
		"--ui-port", other[2], "--awx-port", other[3], "--pg-port", other[4], "--idp-port", other[5], "--mail-port", other[6])
	second.Dir = repoRoot(t)
	out, err := second.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "another countersign dev (make run) is using "+dataDir)
	assert.EqualValues(t, 3, getJSON(t, api+"/api/v2/service_catalog_items/", "dev-admin")["count"], "the first run still serves")
	// Temporal's file and the key that encrypts its payloads are ours only.
	for _, name := range []string{"temporal.db", "payload.keys"} {
		info, err := os.Stat(filepath.Join(dataDir, name))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), name)
	}

	cmds := dev.commands()
	script := fmt.Sprintf("set -e\n%s\necho \"REQ=$REQ\"\n%s\necho\n%s\n", cmds[0], cmds[1], cmds[2])
	sh := exec.Command("bash", "-c", script)
	sh.Dir = repoRoot(t)
	out, err = sh.CombinedOutput()
	require.NoError(t, err, "the banner's commands, run verbatim:\n%s", out)
	assert.Contains(t, string(out), `"pending_approvers":["carol"]`, "bob's approval answers with the request still waiting for carol")
	assert.Contains(t, string(out), "Signal workflow succeeded")
	var path string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "REQ="); ok {
			path = v
		}
	}
	require.Regexp(t, `^/api/v2/service_requests/\d+/$`, path)
	waitStatus(t, api+path, "successful")

	walked := dev.runWalkthrough(bin, ports)

	// Every step went out as mail too: the mail page lists them, with the
	// decision links of the pending mails, which now refuse since the
	// request is decided.
	mails := "http://127.0.0.1:" + ports[6] + "/"
	assert.Contains(t, dev.banner, "Mail                 "+mails)
	var mailPage string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		mailPage = getPage(t, mails)
		if strings.Contains(mailPage, "finished: successful") || time.Now().After(deadline) {
			break
		}
	}
	id := pathpkg.Base(walked)
	for _, want := range []string{"Request " + id + " (Provision environment) needs your approval", "bob@acme.example", "carol@acme.example",
		"alice@acme.example", "Request " + id + " (Provision environment) finished: successful"} {
		assert.Contains(t, mailPage, want)
	}
	link := regexp.MustCompile(`href="(` + regexp.QuoteMeta(api) + `/ui/mail/decide\?t=[^"]+)"`).FindStringSubmatch(mailPage)
	require.NotNil(t, link, "the mails' Approve links")
	assert.Contains(t, getPage(t, html.UnescapeString(link[1])), "request_finished")

	// The Web UI reads every payload encrypted; it decodes through the
	// codec endpoint for a superuser signed in to the portal, for nobody
	// else.
	ui, workflowID := "http://127.0.0.1:"+ports[2], "service-request-"+pathpkg.Base(walked)
	page := webUIPage(t, api, ui, workflowID, "alice", encryptedInWebUI)
	assert.NotContains(t, page, "correct-horse-battery", "alice may not read the payloads")
	page = webUIPage(t, api, ui, workflowID, "admin", "correct-horse-battery")
	assert.NotContains(t, page, encryptedInWebUI, "every payload of the page decoded")

	// A second request, left waiting across the restart.
	var restart int64
	for _, it := range getJSON(t, api+"/api/v2/service_catalog_items/", "dev-alice")["results"].([]any) {
		if it.(map[string]any)["name"] == "Restart service" {
			restart = int64(it.(map[string]any)["id"].(float64))
		}
	}
	require.NotZero(t, restart)
	body := `{"justification":"stuck","extra_vars":{"service_name":"api"}}`
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v2/service_catalog_items/%d/submit/", api, restart), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer dev-alice")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	waiting := resp.Header.Get("Location")
	waitStatus(t, api+waiting, "pending_approval")

	rest := dev.interrupt()
	assert.Contains(t, rest, "Stopped.")
	pg, err := pgcluster.New(filepath.Join(dataDir, "postgres"))
	require.NoError(t, err)
	assert.False(t, pg.Running(), "PostgreSQL is stopped with the rest")
	for _, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:"+p)
		require.NoError(t, err, "port %s is released", p)
		ln.Close()
	}

	// The same ports again: requests were kept and nothing is seeded twice.
	dev = startDev(t, bin, dataDir, ports)
	// bob's first sign-in linked him to the provider's identity; the
	// provider of the new run is the same issuer, so he signs in again.
	assert.Equal(t, "bob", whoAmI(t, signInThroughProvider(t, api, api, issuer, "bob"), api).Username)
	// The simulator still knows the jobs of the first run.
	job := getJSON(t, api+path, "dev-alice")["job"].(map[string]any)
	awxJob := getJSON(t, fmt.Sprintf("http://127.0.0.1:%s/api/v2/workflow_jobs/%d/", ports[3], int64(job["id"].(float64))), devAWXToken)
	assert.Equal(t, "successful", awxJob["status"])
	// The portal's "Open job in AWX" link leads to the simulator's job page.
	jobURL := job["url"].(string)
	assert.Equal(t, fmt.Sprintf("http://127.0.0.1:%s/#/jobs/workflow/%d", ports[3], int64(job["id"].(float64))), jobURL)
	jobPage, err := http.Get(jobURL)
	require.NoError(t, err)
	jobPage.Body.Close()
	assert.Equal(t, http.StatusOK, jobPage.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", jobPage.Header.Get("Content-Type"))
	assert.EqualValues(t, 3, getJSON(t, api+"/api/v2/service_catalog_items/", "dev-admin")["count"])
	assert.EqualValues(t, 2, getJSON(t, api+"/api/v2/approval_policies/", "dev-admin")["count"])
	assert.Equal(t, "successful", getJSON(t, api+path, "dev-alice")["status"])
	post(t, api+waiting+"approve/", "dev-bob", "", http.StatusOK)
	waitStatus(t, api+waiting, "successful")

	// The simulator starts afresh, past the jobs requests own: a new
	// environment gets a job of its own.
	resp = post(t, api+"/api/v2/service_catalog_items/2/submit/", "dev-alice",
		`{"justification":"after the restart","extra_vars":{"env_name":"again","ttl_days":2},`+
			`"node_survey_data":{"create-database":{"db_size":"small","db_password":"correct-horse-battery"},"deploy-app":{"replicas":1}}}`,
		http.StatusCreated)
	again := resp.Header.Get("Location")
	post(t, api+again+"approve/", "dev-bob", "", http.StatusOK)
	post(t, api+again+"approve/", "dev-carol", "", http.StatusOK)
	waitStatus(t, api+again, "successful")
	dev.interrupt()
}

// walkthroughBlocks are the shell blocks of the README's walkthrough, with
// its default ports replaced by ports.
func walkthroughBlocks(t *testing.T, bin string, ports []string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(raw), "<!-- walkthrough:")
	require.True(t, ok, "the README marks its walkthrough")
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for {
		var block string
		if _, section, ok = strings.Cut(section, "```sh\n"); !ok {
			break
		}
		block, section, _ = strings.Cut(section, "```")
		r := strings.NewReplacer("127.0.0.1:8080", "127.0.0.1:"+ports[0], "127.0.0.1:7233", "127.0.0.1:"+ports[1],
			"127.0.0.1:8233", "127.0.0.1:"+ports[2], "./bin/countersign", bin)
		blocks = append(blocks, r.Replace(block))
	}
	return blocks
}

// runWalkthrough runs the README's walkthrough verbatim (but for the ports)
// and checks that each block prints what the README says.
func (p *devProcess) runWalkthrough(bin string, ports []string) string {
	t := p.t
	blocks := walkthroughBlocks(t, bin, ports)
	require.Len(t, blocks, 6)
	state := filepath.Join(t.TempDir(), "state")
	require.NoError(t, os.WriteFile(state, nil, 0o600))
	run := func(block string) string {
		sh := exec.Command("bash", "-c", "set -e\nsource "+state+"\n"+block+"\ndeclare -p REQ > "+state+"\n")
		sh.Dir = repoRoot(t)
		out, err := sh.CombinedOutput()
		require.NoError(t, err, "README walkthrough block:\n%s\noutput:\n%s", block, out)
		return string(out)
	}
	out := run(blocks[0])
	require.Regexp(t, `^/api/v2/service_requests/\d+/\n$`, out)
	path := strings.TrimSpace(out)
	out = run(blocks[1])
	assert.Contains(t, out, `"count":1`)
	assert.Contains(t, out, `"pending_approvers":["carol"]`)
	assert.Contains(t, out, `"$encrypted$"`)
	assert.NotContains(t, out, "correct-horse-battery")
	assert.Contains(t, run(blocks[2]), "Signal workflow succeeded")
	id := strings.TrimSuffix(strings.TrimPrefix(path, "/api/v2/service_requests/"), "/")
	assert.Contains(t, run(blocks[3]), "service-request-"+id)
	waitStatus(t, "http://127.0.0.1:"+ports[0]+path, "successful")
	out = run(blocks[4])
	assert.Regexp(t, `service-request-`+id+`\s+ServiceRequest`, out)
	assert.Contains(t, out, "Completed")
	assert.Contains(t, out, `"status":"successful"`)
	assert.Regexp(t, `"channel":"api"[^}]*"user":"bob"`, out)
	assert.Regexp(t, `"channel":"cli"[^}]*"unverified":false[^}]*"user":"carol"`, out, "carol's decision was proven by her key")
	out = run(blocks[5])
	assert.Contains(t, out, `"justification":"demo for a customer"`, "the state, decoded")
	assert.Contains(t, out, `"channel":"cli"`)
	// The same query without the codec: one encrypted payload.
	bareQuery, _, ok := strings.Cut(blocks[5], " \\\n")
	require.True(t, ok, "the query's first line ends with a continuation: %s", blocks[5])
	out = run(bareQuery)
	assert.Contains(t, out, encryptedInWebUI)
	assert.NotContains(t, out, "demo for a customer")
	return path
}

// A port already in use is one clear line naming it, and nothing starts.
func TestDev_PortInUse(t *testing.T) {
	bin := buildBinary(t)
	for _, c := range []struct {
		what, flag string
	}{{"API", "--api-port"}, {"OpenID provider", "--idp-port"}, {"mail page", "--mail-port"}} {
		t.Run(c.what, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			busy := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
			ports := devPorts(t)
			flags := map[string]string{"--api-port": ports[0], "--temporal-port": ports[1], "--ui-port": ports[2],
				"--awx-port": ports[3], "--idp-port": ports[5], "--mail-port": ports[6]}
			flags[c.flag] = busy
			args := []string{"dev", "--data-dir", t.TempDir(), "--database-url", "postgres://unused/x"}
			for flag, port := range flags {
				args = append(args, flag, port)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Dir = repoRoot(t)
			out, err := cmd.CombinedOutput()
			require.Error(t, err)
			line := strings.TrimSuffix(string(out), "\n")
			assert.NotContains(t, line, "\n", "one line")
			assert.Contains(t, line, "port "+busy+" ("+c.what+") is already in use")
			assert.Contains(t, line, c.flag)
		})
	}
}

// syncBuffer lets a test read stderr while the process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
