// Command countersign-load measures the latency of Countersign's API under
// load: submitting a request, approving one and reading the approval
// inbox, each for a duration with a number of concurrent workers, against
// an API that is already running. It prints calls, errors, throughput and
// p50/p90/p99/max latency per scenario, and exits 1 when any call failed.
//
//	countersign-load --url http://127.0.0.1:8080 --item 3 \
//		--token-requester "$ALICE_TOKEN" --token-approver "$BOB_TOKEN" \
//		--duration 20s --concurrency 8 --scenarios submit,approve,inbox
//
// Tokens come from `countersign token create --user NAME`, or from a file
// (--tokens) of "requester TOKEN" and "approver TOKEN" lines, which keeps
// them out of the process list; several tokens per role are used in turn.
//
// The approve scenario first submits --approvals requests to --item (not
// timed) and waits until the approvers can decide them, then approves them
// one per call until they are all decided or --duration passes. Use an
// item whose approval plan is one stage needing one approval from a team
// every approver is in: each approval then completes its request, and the
// worker launches the item's AWX job (with the AWX simulator, a short job),
// so the run exercises the whole path an approval takes. The approvers
// must not be the requesters, who cannot decide on their own requests.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/countersign/countersign/bench/load"
	"github.com/countersign/countersign/bench/scenario"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "countersign-load:", err)
		os.Exit(1)
	}
}

// errCallsFailed ends a run whose table shows failed calls.
var errCallsFailed = errors.New("some calls failed; see above")

// config is what the flags say.
type config struct {
	url         string
	requesters  []string
	approvers   []string
	item        int64
	body        []byte
	duration    time.Duration
	concurrency int
	scenarios   []string
	approvals   int
	readyWithin time.Duration
	inboxQuery  string
}

func parse(args []string, stderr io.Writer) (config, error) {
	var (
		cfg                               config
		requester, approver               string
		tokensFile, bodyFile, scenarioArg string
	)
	fs := flag.NewFlagSet("countersign-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "root URL of the running API")
	fs.StringVar(&requester, "token-requester", "", "API token of the user who submits")
	fs.StringVar(&approver, "token-approver", "", "API token of the user who approves and reads the inbox")
	fs.StringVar(&tokensFile, "tokens", "", `file of "requester TOKEN" and "approver TOKEN" lines, instead of or besides the token flags`)
	fs.Int64Var(&cfg.item, "item", 0, "catalog item id to submit (submit and approve)")
	fs.StringVar(&bodyFile, "body", "", "file holding the JSON submission; default: answers for the demo \"Restart service\" job template")
	fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "how long each scenario runs")
	fs.IntVar(&cfg.concurrency, "concurrency", 8, "concurrent workers per scenario")
	fs.StringVar(&scenarioArg, "scenarios", "submit,approve,inbox", "scenarios to run, in order: submit, approve, inbox")
	fs.IntVar(&cfg.approvals, "approvals", 1000, "requests prepared for the approve scenario, which ends early once all are approved")
	fs.DurationVar(&cfg.readyWithin, "ready-within", 5*time.Minute, "how long to wait for prepared requests to reach the approvers")
	fs.StringVar(&cfg.inboxQuery, "inbox-query", "", `query string of the inbox call, e.g. "page_size=50"`)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if requester != "" {
		cfg.requesters = append(cfg.requesters, requester)
	}
	if approver != "" {
		cfg.approvers = append(cfg.approvers, approver)
	}
	if tokensFile != "" {
		req, appr, err := readTokens(tokensFile)
		if err != nil {
			return cfg, err
		}
		cfg.requesters, cfg.approvers = append(cfg.requesters, req...), append(cfg.approvers, appr...)
	}
	if bodyFile != "" {
		b, err := os.ReadFile(bodyFile)
		if err != nil {
			return cfg, err
		}
		cfg.body = b
	}
	for _, name := range strings.Split(scenarioArg, ",") {
		name = strings.TrimSpace(name)
		switch name {
		case "":
			continue
		case "submit", "approve":
			if cfg.item <= 0 {
				return cfg, fmt.Errorf("scenario %s needs --item", name)
			}
			if len(cfg.requesters) == 0 {
				return cfg, fmt.Errorf("scenario %s needs a requester token (--token-requester or --tokens)", name)
			}
			if name == "approve" && len(cfg.approvers) == 0 {
				return cfg, errors.New("scenario approve needs an approver token (--token-approver or --tokens)")
			}
		case "inbox":
			if len(cfg.approvers) == 0 {
				return cfg, errors.New("scenario inbox needs an approver token (--token-approver or --tokens)")
			}
		default:
			return cfg, fmt.Errorf("unknown scenario %q: choose from submit, approve, inbox", name)
		}
		cfg.scenarios = append(cfg.scenarios, name)
	}
	if len(cfg.scenarios) == 0 {
		return cfg, errors.New("no scenario to run")
	}
	if cfg.duration <= 0 || cfg.concurrency <= 0 || cfg.approvals <= 0 {
		return cfg, errors.New("--duration, --concurrency and --approvals must be positive")
	}
	return cfg, nil
}

// readTokens reads "role token" lines; blank lines and # comments are
// skipped.
func readTokens(path string) (requesters, approvers []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		role, tok, ok := strings.Cut(line, " ")
		tok = strings.TrimSpace(tok)
		switch {
		case !ok || tok == "":
			return nil, nil, fmt.Errorf("%s:%d: want \"requester TOKEN\" or \"approver TOKEN\"", path, n)
		case role == "requester":
			requesters = append(requesters, tok)
		case role == "approver":
			approvers = append(approvers, tok)
		default:
			return nil, nil, fmt.Errorf("%s:%d: unknown role %q (requester or approver)", path, n, role)
		}
	}
	return requesters, approvers, sc.Err()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parse(args, stderr)
	if err != nil {
		return err
	}
	client := load.NewClient(cfg.concurrency)
	t := &scenario.Target{BaseURL: cfg.url, Item: cfg.item, SubmitBody: cfg.body, InboxQuery: cfg.inboxQuery}
	if t.Requesters, err = scenario.Users(ctx, client, cfg.url, cfg.requesters); err != nil {
		return err
	}
	if t.Approvers, err = scenario.Users(ctx, client, cfg.url, cfg.approvers); err != nil {
		return err
	}
	opts := load.Options{Concurrency: cfg.concurrency, Duration: cfg.duration, Client: client}
	var results []load.Result
	for _, name := range cfg.scenarios {
		var sc load.Scenario
		switch name {
		case "submit":
			sc = t.Submit()
		case "inbox":
			sc = t.Inbox()
		case "approve":
			fmt.Fprintf(stderr, "approve: submitting %d requests to approve, then waiting for them to reach the approvers\n", cfg.approvals)
			if sc, err = t.PrepareApprovals(ctx, client, cfg.approvals, cfg.concurrency, cfg.readyWithin); err != nil {
				return err
			}
		}
		fmt.Fprintf(stderr, "%s: %d workers for up to %s\n", name, cfg.concurrency, cfg.duration)
		res, err := load.Run(ctx, opts, sc)
		if err != nil {
			return err
		}
		results = append(results, res)
		if ctx.Err() != nil {
			break
		}
	}
	if err := load.WriteTable(stdout, results); err != nil {
		return err
	}
	for _, r := range results {
		if r.Errors > 0 {
			return errCallsFailed
		}
	}
	return ctx.Err()
}
