package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRemindedAt(t *testing.T) {
	opened := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	assert.Equal(t, []time.Time{opened.Add(24 * time.Hour), opened.Add(48 * time.Hour)}, remindedAt(&opened, 24*time.Hour, 2))
	assert.Equal(t, []time.Time{}, remindedAt(&opened, time.Hour, 0), "none sent: an empty list, not null")
	assert.Equal(t, []time.Time{}, remindedAt(nil, time.Hour, 1), "a stage that never opened")
}
