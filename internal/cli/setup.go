package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/remote"
)

// DefaultRemoteBin is where setup installs berth on a host that lacks it.
const DefaultRemoteBin = "/usr/local/bin/berth"

// setupCmd installs this very berth binary on the host (when it lacks one
// or has another version), starts the daemon there and checks it answers:
// with a deploy, from nothing to a running agent in two commands.
func (a *app) setupCmd() *cobra.Command {
	var bin string
	var here bool
	c := &cobra.Command{
		Use:   "setup [--bin PATH]   (with --host)",
		Short: "Install berth on the --host server (this binary), start its daemon, check it answers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if here {
				return a.setupHere(cmd.Context())
			}
			ts, err := a.targets()
			if err != nil {
				return err
			}
			if len(ts) != 1 {
				return usage("setup needs one --host ssh://[user@]host[:port] (on the server itself: berth daemon, or berth provision)")
			}
			return a.setupRemote(cmd.Context(), ts[0], bin)
		},
	}
	c.Flags().StringVar(&bin, "bin", DefaultRemoteBin, "where to install berth on the host when it lacks this version (a directory in the PATH of its ssh sessions)")
	c.Flags().BoolVar(&here, "here", false, "start the daemon on this machine (what setup runs on the host)")
	_ = c.Flags().MarkHidden("here")
	return c
}

// setupRemote is setup's part on the laptop.
func (a *app) setupRemote(ctx context.Context, t remote.Target, bin string) error {
	if !filepath.IsAbs(bin) {
		return usage("--bin %q: give an absolute path", bin)
	}
	want := "berth version " + a.env.Version
	have, err := remoteVersion(ctx, t)
	switch {
	case errors.Is(err, remote.ErrNoBerth):
		fmt.Fprintf(a.env.Stdout, "%s has no berth: installing this one (%s) as %s\n", t, a.env.Version, bin)
	case err != nil:
		return err
	case have != want:
		fmt.Fprintf(a.env.Stdout, "%s has %q: installing this one (%s) as %s\n", t, have, a.env.Version, bin)
	default:
		fmt.Fprintf(a.env.Stdout, "%s has berth %s already\n", t, a.env.Version)
	}
	if err != nil || have != want {
		if err := a.copySelf(ctx, t, bin); err != nil {
			return err
		}
		if have, err = remoteVersion(ctx, t); err != nil || have != want {
			return fmt.Errorf("installed %s on %s, but its ssh sessions run %q (%v): put %s in their PATH, or pass --bin a directory of it",
				bin, t.Host, have, err, filepath.Dir(bin))
		}
	}
	out, err := remote.Run(ctx, t, nil, "berth setup --here")
	a.env.Stdout.Write(indent(out))
	if err != nil {
		var re *remote.RunError
		if errors.As(err, &re) && re.Code != 255 {
			return fmt.Errorf("starting the daemon on %s: %s", t.Host, strings.TrimSpace(re.Stderr))
		}
		return err
	}
	return a.checkAnswers(ctx, t)
}

// remoteVersion is the output of `berth version` on t.
func remoteVersion(ctx context.Context, t remote.Target) (string, error) {
	out, err := remote.Run(ctx, t, nil, "berth version --client")
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first, err
}

// copySelf streams this binary to bin on t: a temporary file beside it,
// then a rename, so a running daemon's binary is never half written.
func (a *app) copySelf(ctx context.Context, t remote.Target, bin string) error {
	f, err := os.Open(a.env.Exe)
	if err != nil {
		return fmt.Errorf("reading this berth binary: %w", err)
	}
	defer f.Close()
	tmp := remote.Quote(bin + ".new")
	script := fmt.Sprintf("set -e; umask 022; mkdir -p %s; cat > %s; chmod 755 %s; mv -f %s %s",
		remote.Quote(filepath.Dir(bin)), tmp, tmp, tmp, remote.Quote(bin))
	start := time.Now()
	if _, err := remote.Run(ctx, t, f, script); err != nil {
		return fmt.Errorf("copying berth to %s:%s: %w", t.Host, bin, err)
	}
	if info, err := f.Stat(); err == nil {
		fmt.Fprintf(a.env.Stdout, "copied %d bytes in %s\n", info.Size(), round(time.Since(start)))
	}
	return nil
}

// checkAnswers dials the daemon through ssh as every later command will.
func (a *app) checkAnswers(ctx context.Context, t remote.Target) error {
	cl := remoteClient(t)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := cl.Version(ctx)
	if err != nil {
		return fmt.Errorf("the daemon on %s does not answer through ssh: %w", t.Host, err)
	}
	fmt.Fprintf(a.env.Stdout, "✓ %s: berth daemon %s answers (pid %d, home %s); next: berth --host %s deploy\n", t, v.Version, v.PID, v.Home, t)
	return nil
}

// indent prefixes every line of b with two spaces.
func indent(b []byte) []byte {
	var out bytes.Buffer
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if len(l) > 0 {
			out.WriteString("  ")
			out.Write(l)
		}
	}
	return out.Bytes()
}
