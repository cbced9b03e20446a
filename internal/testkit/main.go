package testkit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/pgtest"
	"github.com/countersign/countersign/internal/temporaltest"
	"github.com/countersign/countersign/workflows"
)

// Main runs the tests of a package that needs PostgreSQL (pgtest) and a
// Temporal dev server with Countersign's search attributes. The server's
// address is stored in *temporalAddr before any test runs; the server stops
// after the last. It returns the exit code for os.Exit; a server that does
// not start fails the package with one line naming it. Run as a
// WorkerProcess, it is that worker instead.
func Main(m *testing.M, name string, temporalAddr *string) int {
	return run(m, name, func(srv *temporaltest.Server) { *temporalAddr = srv.HostPort })
}

// MainServer is Main for tests that need the server itself (its process,
// to measure it), stored in *srv before any test runs.
func MainServer(m *testing.M, name string, srv **temporaltest.Server) int {
	return run(m, name, func(s *temporaltest.Server) { *srv = s })
}

func run(m *testing.M, name string, started func(*temporaltest.Server)) int {
	if os.Getenv(envWorkerProcess) == "1" {
		return runWorkerProcess()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := temporaltest.Start(ctx, temporaltest.Options{SearchAttributes: workflows.SearchAttributes})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s: started the Temporal dev server on %s\n", name, srv.HostPort)
	started(srv)
	code := pgtest.Main(m)
	_ = srv.Stop()
	return code
}
