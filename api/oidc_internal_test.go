package api

import (
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
