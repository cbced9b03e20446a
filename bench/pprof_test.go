package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"

	"github.com/stretchr/testify/require"
)

// profileCPU starts a CPU profile of this process into dir/name.cpu.pprof
// and returns what stops it; with dir empty it does nothing. dir is
// BENCH_PPROF, created when missing.
func profileCPU(b *testing.B, dir, name string) (stop func()) {
	b.Helper()
	if dir == "" {
		return func() {}
	}
	require.NoError(b, os.MkdirAll(dir, 0o755), "BENCH_PPROF")
	f, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
	require.NoError(b, err)
	require.NoError(b, pprof.StartCPUProfile(f))
	return func() {
		pprof.StopCPUProfile()
		require.NoError(b, f.Close())
		fmt.Fprintf(os.Stderr, "wrote %s\n", f.Name())
	}
}
