package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `countersign awx-sim -h` shows built-in defaults: the tokens it is given
// through the environment (AWX_TOKEN's value in docker-compose.yml) stay
// out of it.
func TestAWXSim_HelpHidesTheEnvironment(t *testing.T) {
	t.Setenv("AWX_SIM_TOKENS", "sim-secret-token")
	t.Setenv("AWX_SIM_USERNAME", "secret-user")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	code := run([]string{"awx-sim", "-h"}, io.Discard)
	os.Stderr = stderr
	require.NoError(t, w.Close())
	help, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Contains(t, string(help), "-tokens")
	assert.Contains(t, string(help), "AWX_SIM_TOKENS")
	assert.NotContains(t, string(help), "sim-secret-token")
	assert.NotContains(t, string(help), "secret-user")
}

// A bad AWX_SIM_JOB_DURATION stops the simulator with a line naming it,
// instead of being replaced by the default unnoticed.
func TestAWXSim_BadJobDurationIsRefused(t *testing.T) {
	// A port in use: a simulator that went on would stop there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	t.Setenv("AWX_SIM_JOB_DURATION", "soon")
	var stderr bytes.Buffer
	assert.Equal(t, 1, run([]string{"awx-sim", "--addr", ln.Addr().String()}, &stderr))
	assert.Contains(t, stderr.String(), `AWX_SIM_JOB_DURATION) "soon": use a positive duration`)
}
