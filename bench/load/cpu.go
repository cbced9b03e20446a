package load

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// CPU is the CPU time one process (or family of processes) used while a
// scenario ran.
type CPU struct {
	Who  string
	Time time.Duration
}

// WriteCPU prints, for result r, a line with the CPU time each of used
// took while it ran: in seconds, as a share of one core over the run, and
// per completed call. It says where the cores went while the calls
// waited for them.
func WriteCPU(w io.Writer, r Result, used []CPU) error {
	if len(used) == 0 {
		return nil
	}
	parts := make([]string, 0, len(used)+1)
	var total time.Duration
	for _, u := range used {
		total += u.Time
		parts = append(parts, r.cpuPart(u.Who, u.Time))
	}
	parts = append(parts, r.cpuPart("in all", total))
	_, err := fmt.Fprintf(w, "%s CPU: %s\n", r.Scenario, strings.Join(parts, ", "))
	return err
}

func (r Result) cpuPart(who string, t time.Duration) string {
	part := fmt.Sprintf("%s %.1fs", who, t.Seconds())
	if r.Elapsed > 0 {
		part += fmt.Sprintf(" = %.0f%% of a core", 100*t.Seconds()/r.Elapsed.Seconds())
	}
	if r.Calls > 0 {
		part += fmt.Sprintf(", %.1f ms a call", t.Seconds()*1000/float64(r.Calls))
	}
	return part
}
