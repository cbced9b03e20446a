// Package temporaldev runs the Temporal dev server (the pinned `temporal`
// CLI built into ./bin by the Makefile) with Countersign's search attributes
// registered: for `countersign dev` and, on free ports, for the tests.
package temporaldev

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

// Options configure a dev server. It listens on 127.0.0.1.
type Options struct {
	// SearchAttributes to register, name → type (Keyword, KeywordList, …).
	SearchAttributes map[string]string
	// DBFile keeps the server's state in a file; empty means in memory.
	DBFile string
	// Port is the frontend's gRPC port; 0 picks a free one.
	Port int
	// UIPort serves the Web UI; 0 runs without it.
	UIPort int
	// UICodecEndpoint is the codec server the Web UI decodes payloads
	// with; the UI calls it with the browser's cookies (credentials
	// included), so a session on that server authenticates it.
	UICodecEndpoint string
}

// Server is a running dev server.
type Server struct {
	// HostPort is the frontend's gRPC address.
	HostPort string
	// Namespace is the namespace tests use.
	Namespace string

	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan error
	uiProxy *http.Server
}

// Binary returns the path of the temporal CLI: $TEMPORAL_CLI if set, else
// bin/temporal at the repository root. The error says how to build it.
func Binary() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "bin", "temporal")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("the Temporal CLI is missing at %s: run `make temporal` (or `make test`) to build the pinned version (the first build takes minutes)", p)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (go.mod) to locate bin/temporal")
		}
		dir = parent
	}
}

// Start launches a dev server and waits until it serves requests with the
// search attributes registered. Stop it with Stop. Ports free a moment ago
// may be taken by another process before the server binds them (it picks
// its internal services' ports itself, so any of them may be): a start
// that failed for that alone is tried again, on other ports, up to
// startAttempts times in all.
func Start(ctx context.Context, opts Options) (*Server, error) {
	for attempt := 1; ; attempt++ {
		s, err := start(ctx, opts)
		if err == nil || attempt == startAttempts || !errors.Is(err, errPortTaken) {
			return s, err
		}
	}
}

// startAttempts bounds Start's tries; a port given in Options that is
// taken fails each the same way.
const startAttempts = 3

// errPortTaken marks a server that exited because a port it was to listen
// on was in use.
var errPortTaken = errors.New("a port it was to listen on is in use")

// serverSettings are the dynamic configuration the server runs with where
// the dev server's defaults cost Countersign's workload CPU for nothing
// (a cluster's are its operators' to set; see the README).
var serverSettings = []string{
	// The activity a workflow task schedules comes back in the answer to
	// the task's completion, started, instead of through the task queue.
	"system.enableActivityEagerExecution=true",
	// The dev server reads the search attributes from its database on
	// every use, so that ones added while it runs show at once; these are
	// all registered before it serves.
	"system.forceSearchAttributesCacheRefreshOnRead=false",
	// One server: a task queue split into four partitions only has its
	// tasks forwarded between them.
	"matching.numTaskqueueReadPartitions=1",
	"matching.numTaskqueueWritePartitions=1",
}

func start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	if opts.Port != 0 {
		ports[0] = opts.Port
	}
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(ports[0]),
		"--http-port", strconv.Itoa(ports[1]),
		"--metrics-port", strconv.Itoa(ports[2]),
		"--log-level", "error",
	}
	for _, setting := range serverSettings {
		args = append(args, "--dynamic-config-value", setting)
	}
	uiPort := opts.UIPort
	if opts.UICodecEndpoint != "" {
		// The UI listens on a port of its own behind the proxy that turns
		// on credentials for the codec endpoint.
		uiPort = ports[3]
		args = append(args, "--ui-codec-endpoint", opts.UICodecEndpoint)
	}
	if opts.UIPort == 0 {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", strconv.Itoa(uiPort))
	}
	if opts.DBFile != "" {
		args = append(args, "--db-filename", opts.DBFile)
	}
	names := make([]string, 0, len(opts.SearchAttributes))
	for name := range opts.SearchAttributes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "--search-attribute", name+"="+opts.SearchAttributes[name])
	}
	s := &Server{
		HostPort:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		Namespace: "default",
		logs:      &syncBuffer{},
		done:      make(chan error, 1),
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	// The server must not outlive a test binary that is killed.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	if opts.UIPort != 0 && uiPort != opts.UIPort {
		if s.uiProxy, err = serveUIProxy(opts.UIPort, uiPort); err != nil {
			_ = s.Stop()
			return nil, err
		}
	}
	if err := s.waitReady(ctx, names); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(parent context.Context, searchAttributes []string) error {
	ctx, cancel := context.WithTimeout(parent, 60*time.Second)
	defer cancel()
	var lastErr error
	for {
		select {
		case err := <-s.done:
			s.done <- err
			logs := s.logs.String()
			if strings.Contains(logs, "address already in use") {
				return fmt.Errorf("temporal dev server exited (%v), %w: %s", err, errPortTaken, logs)
			}
			return fmt.Errorf("temporal dev server exited (%v): %s", err, logs)
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err() // the caller gave up (Ctrl-C, say)
			}
			return fmt.Errorf("temporal dev server not ready on %s: %v; log: %s", s.HostPort, lastErr, s.logs.String())
		case <-time.After(200 * time.Millisecond):
		}
		lastErr = s.ready(ctx, searchAttributes)
		if lastErr == nil {
			return nil
		}
	}
}

func (s *Server) ready(ctx context.Context, searchAttributes []string) error {
	c, err := client.Dial(client.Options{HostPort: s.HostPort, Namespace: s.Namespace, Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace})
	if err != nil {
		return err
	}
	for _, name := range searchAttributes {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			return fmt.Errorf("search attribute %s not registered yet", name)
		}
	}
	return nil
}

// Stop terminates the server and waits for it to exit.
func (s *Server) Stop() error {
	if s.uiProxy != nil {
		_ = s.uiProxy.Close()
	}
	if s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	return nil
}

// PID is the server process's id, for measuring what it uses.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Logs returns what the server printed so far.
func (s *Server) Logs() string { return s.logs.String() }

func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// quietLogger keeps the SDK's connection chatter out of test output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}
