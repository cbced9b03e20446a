package main

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/devidp"
)

// runDevIDP serves the local OpenID provider until ctx is canceled.
func runDevIDP(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, logger, err := loadConfig(config.DevIDP, args)
	if err != nil {
		return err
	}
	s := cfg.IDP
	users, demo := devidp.DemoUsers(), s.UsersFile == ""
	if !demo {
		if users, err = devidp.LoadUsers(s.UsersFile); err != nil {
			return err
		}
	}
	var key *rsa.PrivateKey
	if s.KeyFile != "" {
		if key, err = devidp.LoadKey(s.KeyFile); err != nil {
			return err
		}
	}
	srv, err := devidp.Listen(s.Addr, devidp.Config{
		Issuer: s.Issuer, Users: users, GroupsClaim: s.GroupsClaim, Key: key, Logger: logger,
		Clients: []devidp.Client{{ID: s.ClientID, Secret: s.ClientSecret, RedirectURIs: s.RedirectURLs}},
	})
	if err != nil {
		return fmt.Errorf("%w (is the port already in use? see --addr)", err)
	}
	printIDPBanner(stdout, srv, s, users, demo)
	logger.Info("OpenID provider listening", "issuer", srv.Issuer(), "addr", srv.Addr)
	select {
	case err := <-srv.Done():
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// printIDPBanner says how to point a client at the provider and who can
// sign in.
func printIDPBanner(w io.Writer, srv *devidp.Server, s config.IDPSettings, users []devidp.User, demo bool) {
	fmt.Fprintf(w, "Local OpenID provider (development only) at %s\n", srv.Issuer())
	fmt.Fprintf(w, "  OIDC_ISSUER=%s\n  OIDC_CLIENT_ID=%s\n  OIDC_CLIENT_SECRET=%s\n", srv.Issuer(), s.ClientID, s.ClientSecret)
	fmt.Fprintf(w, "  redirect URLs: %s\n  groups claim: %s\n\n", strings.Join(s.RedirectURLs, ", "), s.GroupsClaim)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if demo {
		fmt.Fprintln(tw, "user\tpassword (dev-only)\tgroups")
	} else {
		fmt.Fprintln(tw, "user\tgroups")
	}
	for _, u := range users {
		groups := strings.Join(u.Groups, ",")
		if groups == "" {
			groups = "-"
		}
		if demo {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Username, u.Password, groups)
		} else {
			fmt.Fprintf(tw, "%s\t%s\n", u.Username, groups)
		}
	}
	tw.Flush()
}
