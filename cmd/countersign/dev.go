package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/internal/pgcluster"
	"github.com/countersign/countersign/internal/temporaldev"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/worker"
	"github.com/countersign/countersign/workflows"
)

// devOptions are the settings of `countersign dev`.
type devOptions struct {
	dataDir     string
	databaseURL string
	// allowDatabaseURL accepts a databaseURL that dev did not prepare.
	allowDatabaseURL bool
	apiPort          int
	temporalPort     int
	uiPort           int
	awxPort          int
	pgPort           int
	jobDuration      time.Duration
	logLevel         slog.Level
	decisions        proof.Mode
}

// devAWXToken is the simulator's token in dev mode; the simulator is no
// secret keeper.
const devAWXToken = "countersign-dev-awx-token"

// devDatabase is the database of a local cluster.
const devDatabase = "countersign"

func parseDevOptions(args []string, env config.Lookup) (devOptions, error) {
	o := devOptions{}
	fs := flag.NewFlagSet("countersign dev", flag.ContinueOnError)
	// The environment applies after parsing, under the flags given, so that
	// its values (DATABASE_URL's password) never show in the help text.
	type envSetting struct {
		name string
		set  func(string)
	}
	fromEnv := map[string]envSetting{} // by flag name
	str := func(p *string, name, envName, def, usage string) {
		fs.StringVar(p, name, def, usage+" (env "+envName+")")
		fromEnv[name] = envSetting{envName, func(v string) { *p = v }}
	}
	num := func(p *int, name, envName string, def int, usage string) {
		fs.IntVar(p, name, def, usage+" (env "+envName+")")
		fromEnv[name] = envSetting{envName, func(v string) {
			n, err := strconv.Atoi(v)
			if err != nil {
				n = -1 // reported below
			}
			*p = n
		}}
	}
	var jobDuration, logLevel, allow, decisions string
	str(&o.dataDir, "data-dir", "DEV_DATA_DIR", ".data", "directory kept between runs: PostgreSQL cluster, Temporal database, log")
	str(&o.databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL URL to use instead of a local cluster (see --allow-database-url)")
	fs.BoolFunc("allow-database-url", "use --database-url even if countersign dev did not prepare that database: it gets demo users with well-known tokens (env DEV_ALLOW_DATABASE_URL=true)",
		func(v string) error { allow = v; return nil })
	fromEnv["allow-database-url"] = envSetting{"DEV_ALLOW_DATABASE_URL", func(v string) { allow = v }}
	num(&o.apiPort, "api-port", "DEV_API_PORT", 8080, "port of the API and portal")
	num(&o.temporalPort, "temporal-port", "DEV_TEMPORAL_PORT", 7233, "gRPC port of the Temporal dev server")
	num(&o.uiPort, "ui-port", "DEV_UI_PORT", 8233, "port of the Temporal Web UI")
	num(&o.awxPort, "awx-port", "DEV_AWX_PORT", 8052, "port of the AWX simulator")
	num(&o.pgPort, "pg-port", "DEV_PG_PORT", 15432, "port of the local PostgreSQL cluster")
	str(&jobDuration, "job-duration", "DEV_JOB_DURATION", "20s", "how long a simulated AWX job runs")
	str(&logLevel, "log-level", "LOG_LEVEL", "info", "level of the log file: debug, info, warn or error")
	str(&decisions, "temporal-decisions", "TEMPORAL_DECISIONS", string(proof.ModeTrusted),
		"decisions sent with the temporal CLI: trusted (as anyone, recorded unverified), verified (with a decision key's proof) or off")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for flagName, e := range fromEnv {
		if v, ok := env(e.name); ok && v != "" && !given[flagName] {
			e.set(v)
		}
	}
	if allow != "" {
		var err error
		if o.allowDatabaseURL, err = strconv.ParseBool(allow); err != nil {
			return o, fmt.Errorf("--allow-database-url (DEV_ALLOW_DATABASE_URL) %q: use true or false", allow)
		}
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for name, p := range map[string]int{"api-port": o.apiPort, "temporal-port": o.temporalPort, "ui-port": o.uiPort, "awx-port": o.awxPort, "pg-port": o.pgPort} {
		if p < 1 || p > 65535 {
			return o, fmt.Errorf("--%s: use a port number from 1 to 65535", name)
		}
	}
	d, err := time.ParseDuration(jobDuration)
	if err != nil || d < time.Second {
		return o, fmt.Errorf("--job-duration %q: use a duration of at least 1s, e.g. 20s", jobDuration)
	}
	o.jobDuration = d
	if o.decisions, err = proof.ParseMode(decisions, proof.ModeTrusted); err != nil {
		return o, err
	}
	if err := o.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return o, fmt.Errorf("LOG_LEVEL %q: use debug, info, warn or error", logLevel)
	}
	if o.dataDir, err = filepath.Abs(o.dataDir); err != nil {
		return o, err
	}
	return o, nil
}

// runDev runs the whole stack on 127.0.0.1 for development and demos —
// PostgreSQL, the Temporal dev server with its Web UI, the AWX simulator,
// the worker and the API — seeds the demo data and prints how to use it.
// Everything stops on ctx's end, clients before the servers they use.
func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseDevOptions(args, os.LookupEnv)
	if err != nil {
		return err
	}
	d := &devStack{o: o}
	defer d.stop()
	if err := d.start(ctx); err != nil {
		return err
	}
	errc := make(chan error, 2)
	run, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { errc <- worker.Serve(run, d.cfg, d.logger) }()
	go func() { errc <- serveHTTP(run, d.logger, apiEndpoints(d.cfg, d.api)...) }()
	failure := d.awaitReady(run, errc, stdout)
	if failure != nil {
		cancel()
	} else {
		printDevBanner(stdout, d)
		go func() {
			<-run.Done()
			fmt.Fprintln(stdout, "Stopping (running activities get up to 10s to finish)...")
		}()
	}
	for range 2 {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) && failure == nil {
			failure = err
			cancel()
		}
	}
	if failure == nil {
		fmt.Fprintln(stdout, "Stopped. Requests are kept in "+o.dataDir+"; `make run` carries on with them.")
	}
	return failure
}

// devStack is what runDev started, to be stopped in reverse order.
type devStack struct {
	o         devOptions
	cfg       config.Config
	logger    *slog.Logger
	logFile   *os.File
	pg        *pgcluster.Cluster
	temporal  *temporaldev.Server
	sim       *http.Server
	simulator *awxsim.Server
	api       *api.Server
	apiClose  func()
	catalog   demo.Catalog
	lock      *os.File
	// logged counts the log's records: progress while the stack starts.
	logged atomic.Int64
}

func (d *devStack) start(ctx context.Context) error {
	if err := d.claimDataDir(); err != nil {
		return err
	}
	if d.o.databaseURL == "" {
		c, err := pgcluster.New(filepath.Join(d.o.dataDir, "postgres"))
		if err != nil {
			return fmt.Errorf("PostgreSQL: %w; or set DATABASE_URL", err)
		}
		// The data directory is ours (locked), so a server running on it
		// was left by a run that was killed; it would hold its port.
		if c.Running() {
			if err := c.Stop("fast"); err != nil {
				return fmt.Errorf("PostgreSQL: %w", err)
			}
		}
		d.pg = c
	}
	if err := checkPortsFree(d.o); err != nil {
		return err
	}
	if _, err := temporaldev.Binary(); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(d.o.dataDir, "countersign.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	d.logFile = f
	d.logger = slog.New(countingHandler{slog.NewJSONHandler(f, &slog.HandlerOptions{Level: d.o.logLevel}), &d.logged})

	databaseURL, err := d.startPostgres(ctx)
	if err != nil {
		return err
	}
	var lastJob int64
	if d.catalog, lastJob, err = prepareDevDatabase(ctx, databaseURL, d.pg != nil, d.o.allowDatabaseURL, d.logger); err != nil {
		return err
	}

	// Payloads are encrypted with the key file's keys; the file and the
	// history it protects are for our eyes only (the umask covers a new
	// database file).
	keyFile := filepath.Join(d.o.dataDir, "payload.keys")
	if err := codec.WriteKeyFile(keyFile, time.Now()); err != nil {
		return err
	}
	dbFile := filepath.Join(d.o.dataDir, "temporal.db")
	if err := os.Chmod(dbFile, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	d.temporal, err = temporaldev.Start(ctx, temporaldev.Options{
		SearchAttributes: workflows.SearchAttributes, DBFile: dbFile,
		Port: d.o.temporalPort, UIPort: d.o.uiPort,
		UICodecEndpoint: "http://" + addr(d.o.apiPort) + "/api/v2/codec",
	})
	if err != nil {
		return err
	}
	if err := d.startSimulator(lastJob + 1); err != nil {
		return err
	}
	d.cfg = config.Config{
		DatabaseURL: databaseURL, TemporalAddress: d.temporal.HostPort, TemporalNamespace: d.temporal.Namespace,
		TaskQueue: workflows.DefaultTaskQueue, AWXURL: d.awxURL(), AWXToken: devAWXToken,
		HTTPAddr: addr(d.o.apiPort), LogLevel: d.o.logLevel, AWXPollInterval: 2 * time.Second,
		PayloadKeysFile: keyFile, Decisions: string(d.o.decisions),
		CodecOrigins: fmt.Sprintf("http://127.0.0.1:%d,http://localhost:%d", d.o.uiPort, d.o.uiPort),
	}
	d.api, d.apiClose, err = newAPI(ctx, d.cfg, d.logger, api.Deps{DevTokens: true})
	return err
}

// startPostgres returns the URL of the database to use: DATABASE_URL's,
// or that of a cluster in the data directory, created on first use.
func (d *devStack) startPostgres(ctx context.Context) (string, error) {
	if d.pg == nil {
		return d.o.databaseURL, nil
	}
	c := d.pg
	initialized, err := c.Initialized()
	if err != nil {
		return "", fmt.Errorf("PostgreSQL: %w", err)
	}
	if !initialized {
		if err := c.Init(false); err != nil {
			return "", fmt.Errorf("PostgreSQL: %w", err)
		}
	}
	if err := c.Start(d.o.pgPort); err != nil {
		return "", fmt.Errorf("PostgreSQL: %w", err)
	}
	admin, err := store.Open(ctx, c.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close()
	if _, err := admin.CreateDatabase(ctx, devDatabase); err != nil {
		return "", err
	}
	return c.URL(devDatabase), nil
}

// startSimulator serves the AWX simulator with the jobs it had when the
// last run stopped, so requests find the jobs they follow.
func (d *devStack) startSimulator(firstJobID int64) error {
	ln, err := net.Listen("tcp", addr(d.o.awxPort))
	if err != nil {
		return portInUse(d.o.awxPort, "AWX simulator", "awx-port", "DEV_AWX_PORT")
	}
	d.simulator = awxsim.New(awxsim.Config{
		Tokens: []string{devAWXToken}, Username: "countersign", JobDuration: d.o.jobDuration, FirstJobID: firstJobID})
	if raw, err := os.ReadFile(d.simStateFile()); err == nil {
		var st awxsim.State
		if err := json.Unmarshal(raw, &st); err != nil {
			d.logger.Warn("the simulator's jobs of the last run cannot be read; starting without them", "file", d.simStateFile(), "error", err)
		} else if err := d.simulator.Restore(st); err != nil {
			d.logger.Warn("the simulator's jobs of the last run cannot be restored; starting without them", "error", err)
		}
	}
	d.sim = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: d.simulator}
	go func() { _ = d.sim.Serve(ln) }()
	return nil
}

func (d *devStack) simStateFile() string { return filepath.Join(d.o.dataDir, "awxsim.json") }

// saveSimulator keeps the simulator's jobs for the next run.
func (d *devStack) saveSimulator() error {
	raw, err := json.Marshal(d.simulator.State())
	if err != nil {
		return err
	}
	tmp := d.simStateFile() + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, d.simStateFile())
}

func (d *devStack) awxURL() string { return "http://" + addr(d.o.awxPort) }

// claimDataDir creates the data directory, private to us (and searchable
// by the postgres user when it runs the cluster for root), and locks it for
// as long as this process runs: a second `make run` on the same directory
// must not touch the first one's servers or files.
func (d *devStack) claimDataDir() error {
	// What this process and its children create is theirs alone.
	syscall.Umask(0o077)
	mode := os.FileMode(0o700)
	if os.Geteuid() == 0 && d.o.databaseURL == "" {
		mode = 0o711
	}
	if err := os.MkdirAll(d.o.dataDir, mode); err != nil {
		return fmt.Errorf("create %s: %w", d.o.dataDir, err)
	}
	if err := os.Chmod(d.o.dataDir, mode); err != nil {
		return fmt.Errorf("%s: %w", d.o.dataDir, err)
	}
	f, err := os.OpenFile(filepath.Join(d.o.dataDir, "dev.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("another countersign dev (make run) is using %s; stop it first, or give this one another --data-dir", d.o.dataDir)
	}
	d.lock = f
	return nil
}

// stop stops what was started, in reverse order; each step is bounded.
func (d *devStack) stop() {
	if d.apiClose != nil {
		d.apiClose()
	}
	if d.sim != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.sim.Shutdown(ctx)
		cancel()
		if err := d.saveSimulator(); err != nil {
			d.logger.Error("saving the simulator's jobs", "error", err)
		}
	}
	if d.temporal != nil {
		_ = d.temporal.Stop()
	}
	if d.pg != nil {
		if err := d.pg.Stop("fast"); err != nil && d.logger != nil {
			d.logger.Error("stopping PostgreSQL", "error", err)
		}
	}
	if d.logFile != nil {
		_ = d.logFile.Close()
	}
	if d.lock != nil {
		_ = d.lock.Close() // releases the lock
	}
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// checkPortsFree names the first port that something else holds, so that a
// second `make run` or a busy port is one clear line rather than a half
// started stack.
func checkPortsFree(o devOptions) error {
	type listener struct {
		port            int
		what, flag, env string
	}
	ports := []listener{
		{o.apiPort, "API", "api-port", "DEV_API_PORT"},
		{o.temporalPort, "Temporal", "temporal-port", "DEV_TEMPORAL_PORT"},
		{o.uiPort, "Temporal Web UI", "ui-port", "DEV_UI_PORT"},
		{o.awxPort, "AWX simulator", "awx-port", "DEV_AWX_PORT"},
	}
	if o.databaseURL == "" {
		ports = append(ports, listener{o.pgPort, "PostgreSQL", "pg-port", "DEV_PG_PORT"})
	}
	seen := map[int]string{}
	for _, p := range ports {
		if other, dup := seen[p.port]; dup {
			return fmt.Errorf("port %d is given to both the %s and the %s", p.port, other, p.what)
		}
		seen[p.port] = p.what
		ln, err := net.Listen("tcp", addr(p.port))
		if err != nil {
			return portInUse(p.port, p.what, p.flag, p.env)
		}
		_ = ln.Close()
	}
	return nil
}

func portInUse(port int, what, flagName, env string) error {
	return fmt.Errorf("port %d (%s) is already in use on 127.0.0.1 (another `make run`?); stop what holds it or pick another port with --%s or %s",
		port, what, flagName, env)
}
