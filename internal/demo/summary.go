package demo

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"
)

// Summary is what the demo measured.
type Summary struct {
	Home    string
	Took    time.Duration
	Sent    int64 // requests sent through the proxy while deploying
	Failed  int64 // non-2xx answers and connection errors among them
	Live    string
	Seen    map[string]int64
	Deploys []DeployResult
}

// DeployResult is one deploy of the walkthrough and the traffic during it.
type DeployResult struct {
	Version, Mode, Strategy string
	Outcome, Reason         string
	Took                    time.Duration
	Requests, Failed        int64
}

// Print writes the summary as a short table.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintln(w, "\n== summary")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEPLOY\tAGENT\tSTRATEGY\tOUTCOME\tTOOK\tREQUESTS\tFAILED")
	for _, d := range s.Deploys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", d.Version, d.Mode, d.Strategy, d.Outcome,
			d.Took.Round(10*time.Millisecond), d.Requests, d.Failed)
	}
	tw.Flush()
	fmt.Fprintf(w, "requests sent: %d, failed: %d; live at the end: %q\n", s.Sent, s.Failed, s.Live)
	versions := make([]string, 0, len(s.Seen))
	for v := range s.Seen {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	for _, v := range versions {
		fmt.Fprintf(w, "  %6d answers %q\n", s.Seen[v], v)
	}
	fmt.Fprintf(w, "demo took %s\n", s.Took.Round(100*time.Millisecond))
}
