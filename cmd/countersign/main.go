// Command countersign is Countersign's single binary: the API, the worker,
// the database migrations, the AWX simulator, the local OpenID provider and
// the development stack, each a subcommand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/countersign/countersign/internal/config"
)

const usage = `usage: countersign <command> [flags]

commands:
  dev       run the whole stack locally with demo data (what make run runs)
  api       serve the REST API (and /metrics)
  worker    run the Temporal worker (ServiceRequest workflow and activities)
  migrate   apply database migrations (migrate [up] | migrate down N)
  awx-sim   serve the AWX simulator for demos and tests
  dev-idp   serve a local OpenID provider with the demo users (development only)
  token     issue an API token: token create --user NAME
  keys      make a payload key: keys generate [--file FILE]
  decision  sign a decision for the temporal CLI: decision sign --request ID --action A --user NAME

Run "countersign <command> -h" for the flags of a command. Every setting has
an environment variable, shown in its flag's help; the flag wins.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal asks for a clean stop; a second one, while it is
	// under way, ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()

	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "dev":
		err = runDev(ctx, rest, os.Stdout)
	case "api":
		err = runAPI(ctx, rest)
	case "token":
		err = runToken(ctx, rest, os.Stdout)
	case "worker":
		err = runWorker(ctx, rest)
	case "migrate":
		err = runMigrate(ctx, rest)
	case "awx-sim":
		err = runAWXSim(ctx, rest)
	case "dev-idp":
		err = runDevIDP(ctx, rest, os.Stdout)
	case "keys":
		err = runKeys(rest, os.Stdout, time.Now())
	case "decision":
		err = runDecision(rest, os.Stdout, time.Now(), os.Getenv)
	case "help", "-h", "--help":
		fmt.Fprint(stderr, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "countersign: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, context.Canceled):
		return 0
	default:
		fmt.Fprintf(stderr, "countersign %s: %v\n", cmd, err)
		return 1
	}
}

// loadConfig loads the settings of a command that logs, and its logger.
func loadConfig(cmd config.Command, args []string) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(cmd, args, os.LookupEnv)
	if err != nil {
		return cfg, nil, err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slog.SetDefault(logger)
	return cfg, logger, nil
}
