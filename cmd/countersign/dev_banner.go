package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/internal/devidp"
	"github.com/countersign/countersign/internal/temporaldev"
	"github.com/countersign/countersign/workflows"
)

// demoRoles describes each demo user in the banner, in SPEC 8.1's order.
var demoRoles = [][2]string{
	{"admin", "superuser"},
	{"erin", "org admin of acme"},
	{"alice", "requester"},
	{"bob", "approver, team sre"},
	{"carol", "approver, team sre"},
	{"dave", "approver, team security"},
}

// submitExample is alice's request in the banner: ttl_days ≤ 5, so the
// "environments" policy applies (two approvals by sre).
const submitExample = `{"justification":"demo for a customer","extra_vars":{"env_name":"demo","ttl_days":3},` +
	`"node_survey_data":{"create-database":{"db_size":"small","db_password":"correct-horse-battery"},"deploy-app":{"replicas":2}}}`

// printDevBanner prints every URL, how the demo users sign in (password
// at the local provider, or dev token), and three commands to paste into
// another terminal.
func printDevBanner(w io.Writer, d *devStack) {
	api := "http://" + addr(d.o.Dev.APIPort)
	temporal := devTemporalCLI()
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("")
	line("Countersign is running (dev mode). Data: %s  Log: %s", d.o.Dev.DataDir, filepath.Join(d.o.Dev.DataDir, "countersign.log"))
	line("")
	line("  Portal and REST API  %s/   (API root %s/api/v2/)", api, api)
	line("  Temporal Web UI      http://%s/namespaces/%s/workflows", addr(d.o.Dev.UIPort), d.temporal.Namespace)
	line("  Temporal gRPC        %s   (namespace %s, task queue %s)", d.temporal.HostPort, d.temporal.Namespace, d.cfg.TaskQueue)
	line("  AWX simulator        %s/api/v2/   (token %s for its job pages; jobs take %s)", d.awxURL(), devAWXToken, d.o.Dev.JobDuration)
	if d.pg != nil {
		line("  PostgreSQL           %s", d.cfg.DatabaseURL)
	}
	line("  OpenID provider      %s   (local, demo users only)", d.provider.Issuer())
	line("  Mail                 %s   (the mails the stack sent; their Approve and Reject links work)", d.mail.url)
	line("")
	line("Sign in at %s/ with %s (user / password below),", api, devProviderName)
	line("or with a dev-only token (refused outside dev mode):")
	printDemoUsers(&b, d.provider)
	line("")
	line("Try it from another terminal (alice asks for an environment, bob and carol approve):")
	line("  REQ=$(curl -s -o /dev/null -w '%%header{location}' -X POST %s/api/v2/service_catalog_items/%d/submit/ -H 'Authorization: Bearer dev-alice' -H 'Content-Type: application/json' -d '%s')",
		api, d.catalog.Items[demo.ProvisionEnvironment].ID, submitExample)
	line(`  curl -s -X POST "%s${REQ}approve/" -H 'Authorization: Bearer dev-bob' -H 'Content-Type: application/json' -d '{"comment":"looks fine"}'`, api)
	line(`  %s workflow signal --address %s --workflow-id "%s$(basename "$REQ")" --name %s --input '{"user":"carol"}'`,
		temporal, d.temporal.HostPort, workflows.WorkflowIDPrefix, workflows.Approve)
	line("")
	line("Ctrl-C stops everything; requests are kept for the next run.")
	fmt.Fprint(w, b.String())
}

// printDemoUsers lists the demo users as the provider knows them, with
// their groups, dev tokens and roles.
func printDemoUsers(w io.Writer, provider *devidp.Server) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  user / password\tgroups\ttoken\trole")
	for _, r := range demoRoles {
		password, groups := "-", "-"
		if u, err := provider.User(r[0]); err == nil {
			password = u.Password
			if len(u.Groups) > 0 {
				groups = strings.Join(u.Groups, ",")
			}
		}
		fmt.Fprintf(tw, "  %s / %s\t%s\tdev-%s\t%s\n", r[0], password, groups, r[0], r[1])
	}
	tw.Flush()
}

// devTemporalCLI is the path of the temporal CLI as the user can type it:
// relative to the working directory when it is below it.
func devTemporalCLI() string {
	bin, err := temporaldev.Binary()
	if err != nil {
		return "temporal"
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, bin); err == nil && !strings.HasPrefix(rel, "..") {
			return "./" + rel
		}
	}
	return bin
}
