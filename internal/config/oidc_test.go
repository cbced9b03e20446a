package config_test

import (
	"bytes"
	"flag"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/config"
)

// oidcEnv is a complete provider configuration, changed by each case.
func oidcEnv(change map[string]string) map[string]string {
	m := map[string]string{
		"OIDC_ISSUER":        "https://idp.example.com/realms/acme",
		"OIDC_CLIENT_ID":     "countersign",
		"OIDC_CLIENT_SECRET": "client-secret-value",
		"OIDC_REDIRECT_URL":  "https://countersign.example.com/oidc/callback",
	}
	for k, v := range change {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func TestLoad_OIDC(t *testing.T) {
	t.Run("off by default, with the default claims and scopes", func(t *testing.T) {
		c, err := config.Load(config.API, nil, env(nil))
		require.NoError(t, err)
		assert.False(t, c.OIDC.Enabled())
		assert.Equal(t, "preferred_username", c.OIDC.UsernameClaim)
		assert.Equal(t, "groups", c.OIDC.GroupsClaim)
		assert.Equal(t, []string{"openid", "profile", "email"}, c.OIDC.Scopes)
	})

	t.Run("complete", func(t *testing.T) {
		c, err := config.Load(config.API, []string{"--oidc-scopes", "openid,profile groups"}, env(oidcEnv(map[string]string{
			"OIDC_USERNAME_CLAIM": "email", "OIDC_GROUPS_CLAIM": "roles", "OIDC_GROUP_MAP": "/etc/countersign/groups.json",
		})))
		require.NoError(t, err)
		assert.True(t, c.OIDC.Enabled())
		assert.Equal(t, config.OIDCSettings{
			Issuer: "https://idp.example.com/realms/acme", ClientID: "countersign", ClientSecret: "client-secret-value",
			RedirectURL: "https://countersign.example.com/oidc/callback", Scopes: []string{"openid", "profile", "groups"},
			UsernameClaim: "email", GroupsClaim: "roles", GroupMapFile: "/etc/countersign/groups.json",
		}, c.OIDC)
	})

	t.Run("provider name", func(t *testing.T) {
		c, err := config.Load(config.API, nil, env(oidcEnv(nil)))
		require.NoError(t, err)
		assert.Empty(t, c.OIDC.ProviderName, "unset: the button names the issuer's host")
		c, err = config.Load(config.API, nil, env(oidcEnv(map[string]string{"OIDC_PROVIDER_NAME": "  Acme SSO  "})))
		require.NoError(t, err)
		assert.Equal(t, "Acme SSO", c.OIDC.ProviderName, "trimmed")
		c, err = config.Load(config.API, []string{"--oidc-provider-name", "Entra ID"}, env(oidcEnv(map[string]string{"OIDC_PROVIDER_NAME": "Acme SSO"})))
		require.NoError(t, err)
		assert.Equal(t, "Entra ID", c.OIDC.ProviderName, "the flag wins")
		long := strings.Repeat("é", config.MaxProviderName)
		c, err = config.Load(config.API, nil, env(oidcEnv(map[string]string{"OIDC_PROVIDER_NAME": long})))
		require.NoError(t, err, "the limit counts characters, not bytes")
		assert.Equal(t, long, c.OIDC.ProviderName)
		var out bytes.Buffer
		slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "config", c)
		assert.Contains(t, out.String(), `"provider_name":"`+long+`"`)
	})

	t.Run("http on this host only", func(t *testing.T) {
		_, err := config.Load(config.API, nil, env(oidcEnv(map[string]string{
			"OIDC_ISSUER": "http://127.0.0.1:5556", "OIDC_REDIRECT_URL": "http://localhost:8080/oidc/callback",
		})))
		assert.NoError(t, err)
	})

	for name, tc := range map[string]struct {
		env     map[string]string
		wantErr string
	}{
		"client id without issuer":           {map[string]string{"OIDC_CLIENT_ID": "countersign"}, "OIDC_CLIENT_ID is set but OIDC_ISSUER is not"},
		"secret without issuer":              {map[string]string{"OIDC_CLIENT_SECRET": "s3cret-value"}, "OIDC_CLIENT_SECRET is set but OIDC_ISSUER is not"},
		"group map without issuer":           {map[string]string{"OIDC_GROUP_MAP": "groups.json"}, "OIDC_GROUP_MAP is set but OIDC_ISSUER is not"},
		"issuer alone":                       {map[string]string{"OIDC_ISSUER": "https://idp.example.com"}, "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URL are required too"},
		"no secret":                          {oidcEnv(map[string]string{"OIDC_CLIENT_SECRET": ""}), "OIDC_CLIENT_SECRET is required too"},
		"no redirect URL":                    {oidcEnv(map[string]string{"OIDC_REDIRECT_URL": ""}), "OIDC_REDIRECT_URL is required too"},
		"issuer not a URL":                   {oidcEnv(map[string]string{"OIDC_ISSUER": "idp.example.com"}), "OIDC_ISSUER \"idp.example.com\" must be an absolute https URL"},
		"issuer in clear":                    {oidcEnv(map[string]string{"OIDC_ISSUER": "http://idp.example.com"}), "must use https"},
		"redirect in clear":                  {oidcEnv(map[string]string{"OIDC_REDIRECT_URL": "http://countersign.example.com/cb"}), "OIDC_REDIRECT_URL"},
		"redirect with a fragment":           {oidcEnv(map[string]string{"OIDC_REDIRECT_URL": "https://countersign.example.com/cb#x"}), "no user, query or fragment"},
		"scopes without openid":              {oidcEnv(map[string]string{"OIDC_SCOPES": "profile email"}), "OIDC_SCOPES"},
		"empty groups claim":                 {oidcEnv(map[string]string{"OIDC_GROUPS_CLAIM": " "}), "OIDC_GROUPS_CLAIM"},
		"blank username claim":               {oidcEnv(map[string]string{"OIDC_USERNAME_CLAIM": "\t"}), "must not be empty"},
		"issuer with a password":             {oidcEnv(map[string]string{"OIDC_ISSUER": "https://client:s3cret-value@idp.example.com"}), "OIDC_ISSUER \"https://idp.example.com\" must have no user"},
		"issuer with a password in clear":    {oidcEnv(map[string]string{"OIDC_ISSUER": "http://client:s3cret-value@idp.example.com"}), "must use https"},
		"redirect with a token":              {oidcEnv(map[string]string{"OIDC_REDIRECT_URL": "https://countersign.example.com/cb?token=s3cret-value"}), "no user, query or fragment"},
		"issuer unreadable, with a password": {oidcEnv(map[string]string{"OIDC_ISSUER": "https://client:s3cret-value@[idp"}), "OIDC_ISSUER must be an absolute https URL"},
		"provider name without issuer":       {map[string]string{"OIDC_PROVIDER_NAME": "Acme SSO"}, "OIDC_PROVIDER_NAME is set but OIDC_ISSUER is not"},
		"provider name too long":             {oidcEnv(map[string]string{"OIDC_PROVIDER_NAME": strings.Repeat("x", config.MaxProviderName+1)}), "OIDC_PROVIDER_NAME"},
		"provider name on two lines":         {oidcEnv(map[string]string{"OIDC_PROVIDER_NAME": "Acme\nSSO"}), "must be printable text"},
		"provider name not UTF-8":            {oidcEnv(map[string]string{"OIDC_PROVIDER_NAME": "Acme \xff"}), "must be printable text"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load(config.API, nil, env(tc.env))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotContains(t, err.Error(), "s3cret-value")
			assert.NotContains(t, err.Error(), "client-secret-value")
		})
	}
}

func TestLoad_OIDCSecretNeverShows(t *testing.T) {
	fs := flag.NewFlagSet("countersign api", flag.ContinueOnError)
	var help bytes.Buffer
	fs.SetOutput(&help)
	_, err := config.LoadFlags(fs, config.API, []string{"-h"}, env(oidcEnv(nil)))
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, help.String(), "OIDC_ISSUER")
	assert.NotContains(t, help.String(), "client-secret", "the secret has no flag")

	_, err = config.Load(config.API, []string{"--oidc-client-secret", "x"}, env(nil))
	assert.ErrorContains(t, err, "oidc-client-secret", "no flag: process lists would show it")

	c, err := config.Load(config.API, nil, env(oidcEnv(nil)))
	require.NoError(t, err)
	var out bytes.Buffer
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "config", c)
	assert.NotContains(t, out.String(), "client-secret-value")
	assert.Contains(t, out.String(), `"client_secret_set":true`)
	assert.Contains(t, out.String(), `"issuer":"https://idp.example.com/realms/acme"`)
}

func TestLoad_PortalTokenSignIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"on without a provider", nil, true},
		{"off with a provider", oidcEnv(nil), false},
		{"turned on with a provider", oidcEnv(map[string]string{"PORTAL_TOKEN_SIGNIN": "true"}), true},
		{"turned off with a provider", oidcEnv(map[string]string{"PORTAL_TOKEN_SIGNIN": "false"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(config.API, nil, env(tc.env))
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.OIDC.TokenSignIn())
		})
	}
	t.Run("off without a provider leaves no way in", func(t *testing.T) {
		_, err := config.Load(config.API, nil, env(map[string]string{"PORTAL_TOKEN_SIGNIN": "false"}))
		require.ErrorContains(t, err, "PORTAL_TOKEN_SIGNIN=false needs OIDC_ISSUER")
	})
	t.Run("not a boolean", func(t *testing.T) {
		_, err := config.Load(config.API, nil, env(map[string]string{"PORTAL_TOKEN_SIGNIN": "maybe"}))
		require.ErrorContains(t, err, "PORTAL_TOKEN_SIGNIN")
	})
}
