package approval_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/approval"
)

func TestCheckDelegationTerms(t *testing.T) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	day := 24 * time.Hour
	for _, tc := range []struct {
		name         string
		starts, ends *time.Time
		reason       string
		want         map[string]string // field → a word of its message
	}{
		{"from now for a week", nil, at(7 * day), "on leave", nil},
		{"starting later", at(day), at(2 * day), "", nil},
		{"started already", at(-day), at(day), "", nil},
		{"no end", nil, nil, "", map[string]string{"ends": "required"}},
		{"ended", nil, at(-time.Second), "", map[string]string{"ends": "future"}},
		{"ends now", nil, at(0), "", map[string]string{"ends": "future"}},
		{"ends before it starts", at(2 * day), at(day), "", map[string]string{"ends": "after starts"}},
		{"366 days", nil, at(366 * day), "", nil},
		{"longer", nil, at(366*day + time.Second), "", map[string]string{"ends": "366 days"}},
		{"ends too far ahead", at(300 * day), at(400 * day), "", map[string]string{"ends": "366 days"}},
		{"reason of 500 bytes", nil, at(day), strings.Repeat("r", 500), nil},
		{"reason too long", nil, at(day), strings.Repeat("r", 501), map[string]string{"reason": "500 bytes"}},
		{"NUL in the reason", nil, at(day), "a\x00b", map[string]string{"reason": "NUL"}},
		{"both wrong", nil, nil, strings.Repeat("r", 501), map[string]string{"ends": "required", "reason": "500 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := approval.CheckDelegationTerms(tc.starts, tc.ends, tc.reason, now)
			assert.Len(t, got, len(tc.want), "%v", got)
			for field, word := range tc.want {
				assert.Contains(t, got[field], word)
			}
		})
	}
}
