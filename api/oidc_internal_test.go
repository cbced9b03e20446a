package api

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A session's auth_time decides step-up: it is the provider's login time,
// never later than the sign-in itself.
func TestAuthTimeOf(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	earlier := now.Add(-time.Hour)
	for name, tc := range map[string]struct {
		claims map[string]any
		want   time.Time
	}{
		"the provider's login time": {map[string]any{"auth_time": float64(earlier.Unix())}, earlier},
		"no auth_time":              {map[string]any{}, now},
		"not a number":              {map[string]any{"auth_time": "yesterday"}, now},
		"zero":                      {map[string]any{"auth_time": float64(0)}, now},
		"a time still to come":      {map[string]any{"auth_time": float64(now.Add(time.Hour).Unix())}, now},
	} {
		assert.True(t, tc.want.Equal(authTimeOf(tc.claims, now)), "%s: got %v", name, authTimeOf(tc.claims, now))
	}
}

// A step-up takes the provider's word for a new login only from auth_time:
// a provider that ignored max_age must not pass an old login off as new.
func TestLoggedInWithin(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) map[string]any {
		return map[string]any{"auth_time": float64(now.Add(-ago).Unix())}
	}
	for name, tc := range map[string]struct {
		claims map[string]any
		maxAge time.Duration
		want   bool
	}{
		"a login within max_age":                 {at(10 * time.Minute), 15 * time.Minute, true},
		"a login older than max_age":             {at(20 * time.Minute), 15 * time.Minute, false},
		"max_age 0: a login just now":            {at(5 * time.Second), 0, true},
		"max_age 0: a login from before":         {at(5 * time.Minute), 0, false},
		"the provider's clock a little behind":   {at(15*time.Minute + 30*time.Second), 15 * time.Minute, true},
		"no auth_time, though max_age was asked": {map[string]any{}, 15 * time.Minute, false},
		"an auth_time that is not a number":      {map[string]any{"auth_time": "now"}, 15 * time.Minute, false},
	} {
		assert.Equal(t, tc.want, loggedInWithin(tc.claims, tc.maxAge, now), name)
	}
}

// The provider configuration reaches logs and messages whole, except for
// its client secret.
func TestOIDCConfigHidesItsSecret(t *testing.T) {
	cfg := OIDCConfig{Issuer: "https://idp.example", ClientID: "countersign", ClientSecret: "s3cret-value", RedirectURL: "https://cs.example/oidc/callback"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("oidc", "config", cfg)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logged.String()} {
		assert.NotContains(t, out, "s3cret-value")
		assert.Contains(t, out, "https://idp.example")
		assert.Contains(t, out, redacted)
	}
	assert.Equal(t, "s3cret-value", cfg.ClientSecret, "the value itself is untouched")
}
