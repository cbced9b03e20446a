package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/workflows"
)

// decisionKeyEnv holds a private decision key for `countersign decision
// sign`, so that it stays out of shell history and process lists.
const decisionKeyEnv = config.DecisionKeyEnv

const decisionUsage = `usage: countersign decision sign --request ID --action approve|reject|request_changes|comment|cancel|extend|escalate --user NAME [--comment|--reason|--text TEXT] [--by DURATION] [--team ID] [--key-file FILE]

Prints the --input of a temporal workflow signal or update that decides as
NAME, with a proof made with NAME's decision key (from $` + decisionKeyEnv + `
or --key-file). The proof is good for one hour and one use.`

// runDecision is `countersign decision sign`: it needs no server, only the
// user's private decision key, which never leaves this process.
func runDecision(args []string, stdout io.Writer, now time.Time, env func(string) string) error {
	if len(args) == 0 || args[0] != "sign" {
		return errors.New(decisionUsage)
	}
	fs := flag.NewFlagSet("countersign decision sign", flag.ContinueOnError)
	request := fs.Int64("request", 0, "the request's id (its workflow is service-request-<id>)")
	action := fs.String("action", "", "approve, reject, request_changes, comment, cancel, extend or escalate")
	user := fs.String("user", "", "the user deciding: the owner of the decision key")
	comment := fs.String("comment", "", "approve's comment")
	reason := fs.String("reason", "", "reject's, request_changes', cancel's, extend's or escalate's reason")
	by := fs.Duration("by", 0, "extend's duration, such as 24h")
	team := fs.Int64("team", 0, "escalate's team: its id")
	text := fs.String("text", "", "comment's text")
	keyFile := fs.String("key-file", "", "file holding the private decision key (default: $"+decisionKeyEnv+")")
	cfg, err := config.LoadFlags(fs, config.Decision, args[1:], func(k string) (string, bool) { v := env(k); return v, v != "" })
	if err != nil {
		return err
	}
	d := workflows.Decision{RequestID: *request, Action: approval.Action(*action), User: *user}
	switch {
	case *request <= 0:
		return errors.New("--request: give the request's id, a positive number")
	case !d.Action.Valid():
		return fmt.Errorf("--action %q: use approve, reject, request_changes, comment, cancel, extend or escalate", *action)
	case *user == "":
		return errors.New("--user is required")
	}
	given := map[approval.Action]string{approval.ActionApprove: "comment", approval.ActionReject: "reason",
		approval.ActionComment: "text", approval.ActionCancel: "reason", approval.ActionRequestChanges: "reason",
		approval.ActionExtend: "reason", approval.ActionEscalate: "reason"}[d.Action]
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "by":
			if d.Action != approval.ActionExtend {
				err = fmt.Errorf("--by goes with extend only")
			}
		case "team":
			if d.Action != approval.ActionEscalate {
				err = fmt.Errorf("--team goes with escalate only")
			}
		case "comment", "reason", "text":
			if f.Name != given {
				err = fmt.Errorf("--%s does not go with %s; it takes --%s", f.Name, d.Action, given)
			}
		}
	})
	if err != nil {
		return err
	}
	d.Text = map[string]string{"comment": *comment, "reason": *reason, "text": *text}[given]
	if d.Action == approval.ActionExtend {
		if *by <= 0 {
			return errors.New("--by: give extend a positive duration such as 24h")
		}
		d.By = approval.Duration(*by)
	}
	if d.Action == approval.ActionEscalate {
		if *team <= 0 {
			return errors.New("--team: give escalate the id of a team of the request's organization")
		}
		d.Team = *team
	}
	key := cfg.DecisionKey
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("--key-file: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	if key == "" {
		return fmt.Errorf("no decision key: set %s or --key-file (issue one with POST /api/v2/users/<id>/decision_keys/)", decisionKeyEnv)
	}
	p, err := proof.SignUser(key, d.Claims(), now)
	if err != nil {
		return err
	}
	b, err := json.Marshal(d.Payload(&p))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}
