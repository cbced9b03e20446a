package load

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// WriteTable prints one line per result (scenario, calls, errors, rps,
// p50, p90, p99, max) and then, for results with errors, how many of each
// kind and the first of them.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tcalls\terrors\trps\tp50\tp90\tp99\tmax\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t\n", r.Scenario, r.Calls, r.Errors, r.RPS(),
			ms(r.Percentile(50)), ms(r.Percentile(90)), ms(r.Percentile(99)), ms(r.Max()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		kinds := make([]string, 0, len(r.ErrorKinds))
		for k := range r.ErrorKinds {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			if _, err := fmt.Fprintf(w, "%s: %d × %s, first: %s\n", r.Scenario, r.ErrorKinds[k], k, r.ErrorSamples[k]); err != nil {
				return err
			}
		}
		if r.Exhausted {
			if _, err := fmt.Fprintf(w, "%s: ran out of prepared work after %d calls in %s\n", r.Scenario, r.Calls, r.Elapsed.Round(time.Millisecond)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ms shows a latency in milliseconds with a tenth of precision, the scale
// API latencies are read at.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
