package devidp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a Provider listening on a TCP address: what `countersign
// dev-idp` runs, and what tests start on 127.0.0.1:0.
type Server struct {
	*Provider
	// Addr is the address it listens on, host:port.
	Addr string
	srv  *http.Server
	errc chan error
}

// Listen starts a provider on addr. An empty cfg.Issuer becomes
// http://<the address listened on>, so a test can listen on a free port.
func Listen(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "http://" + ln.Addr().String()
	}
	p, err := New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{Provider: p, Addr: ln.Addr().String(), errc: make(chan error, 1),
		srv: &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.errc <- err
	}()
	return s, nil
}

// Done delivers the error that stopped the server on its own (nil once
// Shutdown or Close stopped it).
func (s *Server) Done() <-chan error { return s.errc }

// Shutdown stops the server, letting requests in flight end until ctx
// does.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close stops the server at once.
func (s *Server) Close() error { return s.srv.Close() }
