package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/demo"
	"github.com/countersign/countersign/internal/devidp"
)

// devClientID is the portal's registration at dev's local OpenID
// provider.
const devClientID = "countersign"

// devProviderName names the provider on the portal's sign-in button, as
// the banner does.
const devProviderName = "the local OpenID provider"

// startProvider starts the local OpenID provider with the demo users,
// its one client being the portal on the dev API's address, and returns
// the API's OIDC settings for it: sign-in through the provider, with the
// demo group map, and token sign-in kept for the dev tokens.
func (d *devStack) startProvider() (config.OIDCSettings, error) {
	// The provider and its only client live in this process: the secret
	// need not outlive it, nor be known to anyone else.
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return config.OIDCSettings{}, err
	}
	secret := hex.EncodeToString(raw[:])
	callback := "http://" + addr(d.o.Dev.APIPort) + config.OIDCCallbackPath
	srv, err := devidp.Listen(addr(d.o.Dev.IDPPort), devidp.Config{
		Users:   devidp.DemoUsers(),
		Clients: []devidp.Client{{ID: devClientID, Secret: secret, RedirectURIs: []string{callback}}},
		Logger:  d.logger,
	})
	var listenErr *net.OpError
	if errors.As(err, &listenErr) {
		return config.OIDCSettings{}, portInUse(d.o.Dev.IDPPort, "OpenID provider", "idp-port", "DEV_IDP_PORT")
	}
	if err != nil {
		return config.OIDCSettings{}, err
	}
	d.provider = srv
	groupMap := filepath.Join(d.o.Dev.DataDir, "oidc-group-map.json")
	if err := os.WriteFile(groupMap, []byte(demo.GroupMap), 0o600); err != nil {
		return config.OIDCSettings{}, err
	}
	tokenSignIn := true
	return config.OIDCSettings{
		Issuer: srv.Issuer(), ProviderName: devProviderName, ClientID: devClientID, ClientSecret: secret, RedirectURL: callback,
		// The API's defaults (OIDC_SCOPES, OIDC_USERNAME_CLAIM), and the
		// provider's groups claim.
		Scopes: []string{"openid", "profile", "email"}, UsernameClaim: "preferred_username",
		GroupsClaim: devidp.DefaultGroupsClaim, GroupMapFile: groupMap, PortalTokenSignIn: &tokenSignIn,
	}, nil
}

// signInAtCallbackHost sends a sign-in through the provider that starts
// at another name of the API's address (localhost for 127.0.0.1) to the
// callback's host first: the portal keeps the flow's cookie for the host
// the sign-in starts at, and the provider sends the browser back to the
// callback's.
func signInAtCallbackHost(h http.Handler, callbackHost string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Host != callbackHost && (r.URL.Path == "/ui/signin/oidc" || r.URL.Path == "/ui/signin/again") {
			http.Redirect(w, r, "http://"+callbackHost+r.URL.RequestURI(), http.StatusFound)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// stopProvider stops the provider: a second for sign-ins in flight, then
// at once. A connection a browser opened ahead and never used would hold
// a graceful shutdown for five seconds (net/http waits that long for its
// first request).
func (d *devStack) stopProvider() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := d.provider.Shutdown(ctx); err != nil {
		_ = d.provider.Close()
	}
}
