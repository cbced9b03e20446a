package proc_test

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/bench/proc"
)

func TestParseRSS(t *testing.T) {
	rss, err := proc.ParseRSS([]byte("Name:\tcountersign\nVmPeak:\t  900000 kB\nVmRSS:\t   52344 kB\nRssAnon:\t   40000 kB\n"))
	require.NoError(t, err)
	assert.Equal(t, int64(52344*1024), rss, "VmRSS, not the first Vm line")

	_, err = proc.ParseRSS([]byte("Name:\tzombie\nState:\tZ (zombie)\n"))
	assert.ErrorContains(t, err, "no VmRSS line")
	_, err = proc.ParseRSS([]byte("VmRSS:\t52344 pages\n"))
	assert.ErrorContains(t, err, "unexpected VmRSS line")
}

func TestParseCPU(t *testing.T) {
	// utime 250 and stime 50 ticks; the command name holds a space and a
	// parenthesis, which must not shift the fields.
	stat := "4431 (odd) name) S 4427 4427 29998 0 -1 4194304 98 0 0 0 250 50 7 9 20 0 1 0 169567 3133440 379\n"
	cpu, err := proc.ParseCPU([]byte(stat))
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, cpu, "utime + stime at 100 ticks a second, children's times left out")

	_, err = proc.ParseCPU([]byte("4431 (cat) R 1 2"))
	assert.ErrorContains(t, err, "too few fields")
	_, err = proc.ParseCPU([]byte("4431 cat R"))
	assert.ErrorContains(t, err, "no command name")
}

func TestRead_ThisProcess(t *testing.T) {
	self, err := proc.Read(0)
	require.NoError(t, err)
	byPID, err := proc.Read(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, self.RSS)
	assert.Positive(t, byPID.RSS)
	assert.GreaterOrEqual(t, byPID.CPU, self.CPU, "CPU time only grows")

	_, err = proc.Read(-1)
	assert.Error(t, err)

	st, err := proc.ReadStat(0)
	require.NoError(t, err)
	assert.Equal(t, os.Getppid(), st.Parent)
}

func TestMiB(t *testing.T) {
	assert.Equal(t, "1.5 MiB", proc.MiB(3<<19))
}

func TestParseStat(t *testing.T) {
	// utime 250, stime 50, cutime 7, cstime 9 ticks; parent 4427.
	stat := "4431 (odd) name) S 4427 4427 29998 0 -1 4194304 98 0 0 0 250 50 7 9 20 0 1 0 169567 3133440 379\n"
	st, err := proc.ParseStat([]byte(stat))
	require.NoError(t, err)
	assert.Equal(t, proc.Stat{Name: "odd) name", Parent: 4427, CPU: 3 * time.Second, ReapedChildrenCPU: 160 * time.Millisecond}, st)

	_, err = proc.ParseStat([]byte("4431 (cat) R 1 2 3 4 5 6 7 8 9 10 11 12"))
	assert.ErrorContains(t, err, "too few fields")
}

// A server that forks a process per connection, as PostgreSQL does: the
// CPU of children that ended is counted too, through the parent's
// reaped-children times. Here this test's process is the parent.
func TestFamilyCPU_CountsChildrenThatEnded(t *testing.T) {
	before, err := proc.FamilyCPU(os.Getpid())
	require.NoError(t, err)
	burn := exec.Command("sh", "-c", `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done`)
	require.NoError(t, burn.Run())
	child := burn.ProcessState.UserTime() + burn.ProcessState.SystemTime()
	require.Greater(t, child, 50*time.Millisecond, "the child used enough CPU to be told apart")
	after, err := proc.FamilyCPU(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, after-before, child-10*time.Millisecond, "the ended child's CPU (to the tick) is in its parent's family")

	_, err = proc.FamilyCPU(-1)
	assert.Error(t, err)
}
