package temporaldev_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGo stands in for `go install` of the Temporal CLI: it reports
// module downloads and compiled packages on stderr as the real one does
// (the latter with -v), takes a few seconds, then installs a binary into
// GOBIN, or fails when FAKE_GO_FAIL is set.
const fakeGo = `#!/usr/bin/env bash
set -eu
for m in a b c; do echo "go: downloading example.com/$m v1.0.0" >&2; done
sleep 1
if [ -n "${FAKE_GO_FAIL:-}" ]; then echo "example.com/b: compile error: undefined: x" >&2; exit 1; fi
if [[ " $* " == *" -v "* ]]; then for p in one two three four five; do echo "example.com/$p" >&2; done; fi
sleep 4
printf '#!/bin/sh\n' > "$GOBIN/temporal"
chmod +x "$GOBIN/temporal"
`

// makeTemporal runs `make temporal` with the repository's Makefile in a
// scratch directory, without a terminal (as CI does), with fakeGo as go.
func makeTemporal(t *testing.T, env ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Makefile"), raw, 0o644))
	goPath := filepath.Join(dir, "fake-go")
	require.NoError(t, os.WriteFile(goPath, []byte(fakeGo), 0o755))
	cmd := exec.Command("make", "temporal", "GO="+goPath, "TEMPORAL_PROGRESS_EVERY=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"CI=true"}, env...)...)
	out, err := cmd.CombinedOutput()
	return dir, string(out), err
}

// The first build of the Temporal CLI takes minutes: make says how long,
// then shows progress while it builds, with no terminal needed.
func TestMakefile_TemporalShowsProgress(t *testing.T) {
	dir, out, err := makeTemporal(t)
	require.NoError(t, err, out)
	assert.Regexp(t, `first build takes \d+ to \d+ minutes`, out)
	assert.Regexp(t, `still building the Temporal CLI \(\d+m\d\ds: 3 modules downloaded, [0-5] of about [\d,]+ packages compiled\)`, out)
	assert.Contains(t, out, "built bin/temporal in ")
	assert.Regexp(t, `3 modules downloaded, 5 of about [\d,]+ packages compiled`, out)
	assert.FileExists(t, filepath.Join(dir, "bin", "temporal"))
	matches, err := filepath.Glob(filepath.Join(dir, "bin", ".temporal-*"))
	require.NoError(t, err)
	assert.Len(t, matches, 1, "the version stamp")
	assert.FileExists(t, filepath.Join(dir, "bin", "temporal-build.log"), "the whole output is kept")
	assert.Less(t, len(regexp.MustCompile(`(?m)^example\.com/`).FindAllString(out, -1)), 1, "packages are counted, not listed")

	t.Run("a failed build shows the end of its log", func(t *testing.T) {
		dir, out, err := makeTemporal(t, "FAKE_GO_FAIL=1")
		require.Error(t, err)
		assert.Contains(t, out, "compile error: undefined: x")
		assert.NoFileExists(t, filepath.Join(dir, "bin", "temporal"))
		matches, _ := filepath.Glob(filepath.Join(dir, "bin", ".temporal-*"))
		assert.Empty(t, matches, "no stamp: the next make tries again")
	})
}
