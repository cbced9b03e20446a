package main

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/countersign/countersign/internal/devidp"
	"github.com/countersign/countersign/internal/pgcluster"
	"github.com/countersign/countersign/internal/temporaldev"
	"github.com/countersign/countersign/internal/wiring"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// devAWXToken is the simulator's token in dev mode; the simulator is no
// secret keeper.
const devAWXToken = "countersign-dev-awx-token"

// devDatabase is the database of a local cluster.
const devDatabase = "countersign"

// runDev runs the whole stack on 127.0.0.1 for development and demos —
// PostgreSQL, the Temporal dev server with its Web UI, the AWX simulator,
// the local OpenID provider the portal signs in through, the worker and
// the API — seeds the demo data and prints how to use it.
// Everything stops on ctx's end, clients before the servers they use.
func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := config.Load(config.Dev, args, os.LookupEnv)
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
	go func() { errc <- wiring.Worker(run, d.cfg, d.logger) }()
	endpoints := apiEndpoints(d.cfg, d.api)
	endpoints[0].handler = signInAtCallbackHost(endpoints[0].handler, d.cfg.HTTPAddr)
	go func() { errc <- serveHTTP(run, d.logger, endpoints...) }()
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
		fmt.Fprintln(stdout, "Stopped. Requests are kept in "+o.Dev.DataDir+"; `make run` carries on with them.")
	}
	return failure
}

// devStack is what runDev started, to be stopped in reverse order.
type devStack struct {
	// o is dev's own settings; cfg is the one it gives the worker and the
	// API.
	o         config.Config
	cfg       config.Config
	logger    *slog.Logger
	logFile   *os.File
	pg        *pgcluster.Cluster
	temporal  *temporaldev.Server
	sim       *http.Server
	simulator *awxsim.Server
	provider  *devidp.Server
	mail      *devMail
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
	if d.o.DatabaseURL == "" {
		c, err := pgcluster.New(filepath.Join(d.o.Dev.DataDir, "postgres"))
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
	f, err := os.OpenFile(filepath.Join(d.o.Dev.DataDir, "countersign.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	d.logFile = f
	d.logger = slog.New(countingHandler{slog.NewJSONHandler(f, &slog.HandlerOptions{Level: d.o.LogLevel}), &d.logged})

	databaseURL, err := d.startPostgres(ctx)
	if err != nil {
		return err
	}
	var lastJob int64
	if d.catalog, lastJob, err = prepareDevDatabase(ctx, databaseURL, d.pg != nil, d.o.Dev.AllowDatabaseURL, d.logger); err != nil {
		return err
	}

	// Payloads are encrypted with the key file's keys; the file and the
	// history it protects are for our eyes only (the umask covers a new
	// database file).
	keyFile := filepath.Join(d.o.Dev.DataDir, "payload.keys")
	if err := codec.WriteKeyFile(keyFile, time.Now()); err != nil {
		return err
	}
	dbFile := filepath.Join(d.o.Dev.DataDir, "temporal.db")
	if err := os.Chmod(dbFile, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	d.temporal, err = temporaldev.Start(ctx, temporaldev.Options{
		SearchAttributes: workflows.SearchAttributes, DBFile: dbFile,
		Port: d.o.Dev.TemporalPort, UIPort: d.o.Dev.UIPort,
		UICodecEndpoint: "http://" + addr(d.o.Dev.APIPort) + "/api/v2/codec",
	})
	if err != nil {
		return err
	}
	if err := d.startSimulator(lastJob + 1); err != nil {
		return err
	}
	oidc, err := d.startProvider()
	if err != nil {
		return err
	}
	if d.mail, err = startDevMail(d.o); err != nil {
		return err
	}
	d.cfg = config.Config{
		DatabaseURL: databaseURL, TemporalAddress: d.temporal.HostPort, TemporalNamespace: d.temporal.Namespace,
		TaskQueue: workflows.DefaultTaskQueue, AWXURL: d.awxURL(), AWXToken: devAWXToken,
		HTTPAddr: addr(d.o.Dev.APIPort), LogLevel: d.o.LogLevel, AWXPollInterval: 2 * time.Second,
		WorkerStickyCacheSize: d.o.WorkerStickyCacheSize,
		PayloadKeysFile:       keyFile, Decisions: string(d.o.DecisionMode(proof.ModeTrusted)),
		CodecOrigins: fmt.Sprintf("http://127.0.0.1:%d,http://localhost:%d", d.o.Dev.UIPort, d.o.Dev.UIPort),
		OIDC:         oidc,
	}
	d.mail.configure(&d.cfg, "http://"+addr(d.o.Dev.APIPort))
	d.api, d.apiClose, err = wiring.API(ctx, d.cfg, d.logger, api.Deps{DevTokens: true})
	return err
}

// startPostgres returns the URL of the database to use: DATABASE_URL's,
// or that of a cluster in the data directory, created on first use.
func (d *devStack) startPostgres(ctx context.Context) (string, error) {
	if d.pg == nil {
		return d.o.DatabaseURL, nil
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
	if err := c.Start(d.o.Dev.PGPort); err != nil {
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
	ln, err := net.Listen("tcp", addr(d.o.Dev.AWXPort))
	if err != nil {
		return portInUse(d.o.Dev.AWXPort, "AWX simulator", "awx-port", "DEV_AWX_PORT")
	}
	d.simulator = awxsim.New(awxsim.Config{
		Tokens: []string{devAWXToken}, Username: "countersign", JobDuration: d.o.Dev.JobDuration, FirstJobID: firstJobID})
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

func (d *devStack) simStateFile() string { return filepath.Join(d.o.Dev.DataDir, "awxsim.json") }

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

func (d *devStack) awxURL() string { return "http://" + addr(d.o.Dev.AWXPort) }

// claimDataDir creates the data directory, private to us (and searchable
// by the postgres user when it runs the cluster for root), and locks it for
// as long as this process runs: a second `make run` on the same directory
// must not touch the first one's servers or files.
func (d *devStack) claimDataDir() error {
	// What this process and its children create is theirs alone.
	syscall.Umask(0o077)
	mode := os.FileMode(0o700)
	if os.Geteuid() == 0 && d.o.DatabaseURL == "" {
		mode = 0o711
	}
	if err := os.MkdirAll(d.o.Dev.DataDir, mode); err != nil {
		return fmt.Errorf("create %s: %w", d.o.Dev.DataDir, err)
	}
	if err := os.Chmod(d.o.Dev.DataDir, mode); err != nil {
		return fmt.Errorf("%s: %w", d.o.Dev.DataDir, err)
	}
	f, err := os.OpenFile(filepath.Join(d.o.Dev.DataDir, "dev.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("another countersign dev (make run) is using %s; stop it first, or give this one another --data-dir", d.o.Dev.DataDir)
	}
	d.lock = f
	return nil
}

// stop stops what was started, in reverse order; each step is bounded.
func (d *devStack) stop() {
	if d.apiClose != nil {
		d.apiClose()
	}
	if d.provider != nil {
		d.stopProvider()
	}
	if d.mail != nil {
		d.mail.stop()
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
func checkPortsFree(o config.Config) error {
	type listener struct {
		port            int
		what, flag, env string
	}
	ports := []listener{
		{o.Dev.APIPort, "API", "api-port", "DEV_API_PORT"},
		{o.Dev.TemporalPort, "Temporal", "temporal-port", "DEV_TEMPORAL_PORT"},
		{o.Dev.UIPort, "Temporal Web UI", "ui-port", "DEV_UI_PORT"},
		{o.Dev.AWXPort, "AWX simulator", "awx-port", "DEV_AWX_PORT"},
		{o.Dev.IDPPort, "OpenID provider", "idp-port", "DEV_IDP_PORT"},
		{o.Dev.MailPort, "mail page", "mail-port", "DEV_MAIL_PORT"},
	}
	if o.DatabaseURL == "" {
		ports = append(ports, listener{o.Dev.PGPort, "PostgreSQL", "pg-port", "DEV_PG_PORT"})
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
