package load

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteCPU_SharesAndPerCall(t *testing.T) {
	var out bytes.Buffer
	r := Result{Scenario: "approve", Calls: 400, Elapsed: 20 * time.Second}
	require.NoError(t, WriteCPU(&out, r, []CPU{{"dev server", 20 * time.Second}, {"PostgreSQL", 6 * time.Second}}))
	assert.Equal(t, "approve CPU: dev server 20.0s = 100% of a core, 50.0 ms a call, "+
		"PostgreSQL 6.0s = 30% of a core, 15.0 ms a call, in all 26.0s = 130% of a core, 65.0 ms a call\n", out.String())

	out.Reset()
	require.NoError(t, WriteCPU(&out, Result{Scenario: "inbox"}, []CPU{{"this process", time.Second}}))
	assert.Equal(t, "inbox CPU: this process 1.0s, in all 1.0s\n", out.String(), "no run, no shares")

	out.Reset()
	require.NoError(t, WriteCPU(&out, r, nil))
	assert.Empty(t, out.String(), "nothing measured, nothing printed")
}
