// Package temporaltest starts a real Temporal dev server for integration
// tests, on free ports, without its Web UI.
package temporaltest

import (
	"context"

	"github.com/countersign/countersign/internal/temporaldev"
)

// Options configure a test server.
type Options struct {
	// SearchAttributes to register, name → type (Keyword, KeywordList, …).
	SearchAttributes map[string]string
	// DBFile keeps the server's state in a file; empty means in memory.
	DBFile string
}

// Server is a running dev server.
type Server = temporaldev.Server

// Binary returns the path of the temporal CLI (see temporaldev.Binary).
func Binary() (string, error) { return temporaldev.Binary() }

// Start launches a dev server on free ports and waits until it serves
// requests with the search attributes registered. Stop it with Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	return temporaldev.Start(ctx, temporaldev.Options{SearchAttributes: opts.SearchAttributes, DBFile: opts.DBFile})
}
