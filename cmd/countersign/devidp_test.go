package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `countersign dev-idp` serves discovery for its issuer, shows the demo
// users with their dev-only passwords, and stops cleanly.
func TestDevIDP_ServesUntilCanceled(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- runDevIDP(ctx, []string{"--addr", addr, "--redirect-url", "http://127.0.0.1:8080/cb"}, &out)
	}()

	issuer := "http://" + addr
	var discovery struct {
		Issuer string `json:"issuer"`
	}
	require.Eventually(t, func() bool {
		resp, err := http.Get(issuer + "/.well-known/openid-configuration")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&discovery) == nil
	}, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, issuer, discovery.Issuer)

	cancel()
	require.NoError(t, <-errc)
	banner := out.String()
	assert.Contains(t, banner, "OIDC_ISSUER="+issuer)
	assert.Contains(t, banner, "OIDC_CLIENT_ID=countersign")
	assert.Contains(t, banner, "http://127.0.0.1:8080/cb")
	assert.Regexp(t, `bob\s+demo-bob\s+sre`, banner)
	assert.Regexp(t, `erin\s+demo-erin\s+acme-admins`, banner)
}

// A users file replaces the demo users; its passwords are not printed.
func TestDevIDP_UsersFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"users":[{"username":"zoe","password":"zoe-secret","groups":["ops"]}]}`), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- runDevIDP(ctx, []string{"--addr", freeAddr(t), "--users-file", file}, &out) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "zoe") }, 10*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-errc)
	assert.Regexp(t, `zoe\s+ops`, out.String())
	assert.NotContains(t, out.String(), "zoe-secret")
	assert.NotContains(t, out.String(), "bob")
}

func TestDevIDP_PortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var stderr bytes.Buffer
	assert.Equal(t, 1, run([]string{"dev-idp", "--addr", ln.Addr().String()}, &stderr))
	assert.Contains(t, stderr.String(), "is the port already in use?")
}
