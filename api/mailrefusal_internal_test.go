package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

// The confirm page of a mail's link says Temporal is unavailable as the
// API does, instead of a generic error page.
func TestMailRefusal_TemporalUnavailable(t *testing.T) {
	got := mailRefusal(serviceerror.NewUnavailable("connection refused"))
	require.NotNil(t, got)
	assert.Equal(t, http.StatusServiceUnavailable, got.Status)
	assert.Equal(t, "unavailable", got.Code)
	assert.Equal(t, "Temporal is unavailable; try again shortly.", got.Message)
}
