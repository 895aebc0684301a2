package cli

import (
	"context"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
)

// BuildVersion is berth's version: stamped (by -ldflags) when not empty,
// else the module version and VCS revision Go recorded in the binary.
func BuildVersion(stamped string) string {
	if stamped != "" {
		return stamped
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev + modified + ")"
	}
	return v
}

// BuildDetails is the build of this binary: Go toolchain, platform and
// the VCS revision and time Go recorded, for berth version.
func BuildDetails() string {
	out := goruntime.Version() + " " + goruntime.GOOS + "/" + goruntime.GOARCH
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			out += " rev " + s.Value
		case "vcs.time":
			out += " " + s.Value
		}
	}
	return out
}

func (a *app) versionCmd() *cobra.Command {
	var clientOnly bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version and build of this binary and of the running daemon and front",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The first line is what berth setup and berth upgrade compare.
			fmt.Fprintf(a.env.Stdout, "berth version %s\nclient: build %s\n", a.env.Version, BuildDetails())
			if clientOnly {
				return nil
			}
			cl, err := a.client()
			if err != nil {
				fmt.Fprintf(a.env.Stdout, "daemon: not reachable (%v)\n", err)
				return nil
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			v, err := cl.Version(ctx)
			if err != nil {
				fmt.Fprintf(a.env.Stdout, "daemon: not reachable (%v)\n", err)
				return nil
			}
			fmt.Fprintf(a.env.Stdout, "daemon: berth version %s, build %s, pid %d\n", v.Version, v.Build, v.PID)
			if v.Front != nil {
				fmt.Fprintf(a.env.Stdout, "front:  berth version %s, build %s, pid %d\n", v.Front.Version, v.Front.Build, v.Front.PID)
			} else {
				fmt.Fprintf(a.env.Stdout, "front:  not reachable (%s)\n", v.FrontError)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&clientOnly, "client", false, "this binary only: do not ask the daemon")
	return c
}
