// Package proc reads a Linux process's memory and CPU time from /proc, so
// that benchmarks can report what a process (the worker, the Temporal dev
// server, PostgreSQL with its connections) used over a window. Linux only;
// elsewhere Read and FamilyCPU fail.
package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/PID/stat: 100 on every Linux architecture Go supports (reading it
// properly would need sysconf through cgo).
const clockTicks = 100

// Usage is one reading of a process.
type Usage struct {
	// RSS is the resident set size (VmRSS).
	RSS int64
	// CPU is the user plus system time used since the process started.
	CPU time.Duration
}

// Read reads the usage of process pid (0: this process).
func Read(pid int) (Usage, error) {
	dir := procDir(pid)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return Usage{}, err
	}
	rss, err := ParseRSS(status)
	if err != nil {
		return Usage{}, fmt.Errorf("%s/status: %w", dir, err)
	}
	st, err := readStat(dir)
	if err != nil {
		return Usage{}, err
	}
	return Usage{RSS: rss, CPU: st.CPU}, nil
}

// ParseRSS reads VmRSS, in bytes, from the text of /proc/PID/status.
func ParseRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmRSS line %q", sc.Text())
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS line (a zombie process has none)")
}

// ParseCPU reads utime + stime from the text of /proc/PID/stat.
func ParseCPU(stat []byte) (time.Duration, error) {
	st, err := ParseStat(stat)
	return st.CPU, err
}

// Stat is what the benchmarks read from /proc/PID/stat.
type Stat struct {
	// Name is the command's name (at most 15 bytes, as in comm).
	Name string
	// Parent is the parent's process id.
	Parent int
	// CPU is the user plus system time the process used (utime + stime).
	CPU time.Duration
	// ReapedChildrenCPU is the user plus system time of its children that
	// ended and that it waited for (cutime + cstime).
	ReapedChildrenCPU time.Duration
}

// ParseStat reads the text of /proc/PID/stat. The command name (field 2)
// is in parentheses and may hold spaces and parentheses itself, so fields
// are counted from the last ')'.
func ParseStat(stat []byte) (Stat, error) {
	start, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if start < 0 || end < start {
		return Stat{}, fmt.Errorf("no command name in %q", stat)
	}
	// After the name: state (field 3), ppid (4) ... utime (14), stime
	// (15), cutime (16), cstime (17).
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 15 {
		return Stat{}, fmt.Errorf("too few fields in %q", stat)
	}
	var n [5]int64
	for i, field := range []string{f[1], f[11], f[12], f[13], f[14]} {
		v, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return Stat{}, fmt.Errorf("field %q of %q: %w", field, stat, err)
		}
		n[i] = v
	}
	ticks := func(t int64) time.Duration { return time.Duration(t) * time.Second / clockTicks }
	return Stat{Name: string(stat[start+1 : end]), Parent: int(n[0]), CPU: ticks(n[1] + n[2]), ReapedChildrenCPU: ticks(n[3] + n[4])}, nil
}

// FamilyCPU is the CPU time used by process pid, its children running
// now, and those that ended and were waited for: all of a server that
// forks a process per connection (PostgreSQL's postmaster), counting the
// connections closed meanwhile.
func FamilyCPU(pid int) (time.Duration, error) {
	parent, err := ReadStat(pid)
	if err != nil {
		return 0, err
	}
	total := parent.CPU + parent.ReapedChildrenCPU
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		// A process may end between the listing and the read: its CPU is
		// then in the parent's reaped time, or about to be.
		if child, err := readStat("/proc/" + d.Name()); err == nil && child.Parent == pid {
			total += child.CPU + child.ReapedChildrenCPU
		}
	}
	return total, nil
}

// ReadStat reads process pid's /proc/PID/stat (0: this process).
func ReadStat(pid int) (Stat, error) {
	return readStat(procDir(pid))
}

func procDir(pid int) string {
	if pid == 0 {
		return "/proc/self"
	}
	return "/proc/" + strconv.Itoa(pid)
}

func readStat(dir string) (Stat, error) {
	raw, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return Stat{}, err
	}
	st, err := ParseStat(raw)
	if err != nil {
		return Stat{}, fmt.Errorf("%s/stat: %w", dir, err)
	}
	return st, nil
}

// MiB formats a byte count in mebibytes, as the benchmarks print memory.
func MiB(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}
