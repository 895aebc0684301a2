// Package cli is berth's command line: one cobra command per file, built
// fresh for every run with its dependencies passed in (no global state).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/remote"
	"github.com/berth-dev/berth/internal/spec"
)

// Exit codes, part of berth's stable interface (docs/cli.md).
const (
	ExitOK       = 0
	ExitError    = 1 // anything else
	ExitUsage    = 2 // bad flags or arguments, or an invalid spec
	ExitFailed   = 3 // a deploy/rollback ran and did not go live: the previous version still serves
	ExitNoDaemon = 4 // no daemon answers on the socket
	ExitBusy     = 5 // another deploy of the app is running
	ExitNotFound = 6 // unknown app or release
)

// Env is what commands get from main: streams, args and the version.
type Env struct {
	Stdin          io.Reader // berth secret set reads the value here
	Stdout, Stderr io.Writer
	Args           []string
	Version        string
	Exe            string // berth's own binary (to start keepers and daemons)
}

// app is the state one run of the CLI shares between its commands.
type app struct {
	env   Env
	home  string
	hosts []string // --host, repeatable
	local bool     // the command acts on this machine only (checkHost)
}

// Main runs the CLI and returns the process exit code.
func Main(env Env) int {
	a := &app{env: env}
	root := a.root()
	root.SetArgs(env.Args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	// cobra reports an unknown subcommand with an untyped error from Find.
	if code == ExitError && strings.HasPrefix(err.Error(), "unknown command ") {
		code = ExitUsage
	}
	if !errors.Is(err, errSilent) {
		fmt.Fprintln(env.Stderr, "berth:", err)
	}
	return code
}

// errSilent marks an error already printed in full by the command.
var errSilent = errors.New("reported")

type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	var ae *api.Error
	var se *spec.Errors
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &se):
		return ExitUsage
	case errors.Is(err, api.ErrNoDaemon), errors.Is(err, remote.ErrNoDaemon):
		return ExitNoDaemon
	case errors.Is(err, remote.ErrBadHost):
		return ExitUsage
	case errors.As(err, &ae):
		switch ae.Code {
		case api.CodeFailed:
			return ExitFailed
		case api.CodeBusy:
			return ExitBusy
		case api.CodeNotFound:
			return ExitNotFound
		case api.CodeInvalidSpec, api.CodeBadRequest, api.CodeMissingSecret:
			return ExitUsage
		}
	}
	return ExitError
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "berth",
		Short:         "Deploy and run long-lived services on one Linux server without downtime",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       a.env.Version,
	}
	root.PersistentFlags().StringArrayVar(&a.hosts, "host", nil, "the daemon on another host: ssh://[user@]host[:port] (default $"+HostEnvVar+", else the active context; deploy takes several)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return a.checkHost(cmd) }
	root.PersistentFlags().StringVar(&a.home, "home", "", "berth's state directory (default $"+home.EnvVar+", "+home.SystemHome+" as root, else ~/.local/state/berth)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	root.AddCommand(
		a.daemonCmd(), a.keeperCmd(), a.initCmd(), a.validateCmd(), a.deployCmd(),
		a.statusCmd(), a.historyCmd(), a.logsCmd(), a.eventsCmd(), a.rollbackCmd(),
		a.startCmd(), a.stopCmd(), a.restartCmd(), a.pauseCmd(), a.resumeCmd(), a.scaleCmd(),
		a.whyCmd(), a.logrotateCmd(), a.checkCmd(), a.demoCmd(), a.sampleAgentCmd(), a.provisionCmd(), a.unprovisionCmd(),
		a.abortCmd(), a.promoteCmd(), a.rmCmd(), a.secretCmd(), a.dialStdioCmd(), a.contextCmd(), a.setupCmd(),
	)
	root.AddCommand(a.versionCmd(), a.upgradeCmd())
	root.AddCommand(a.planCmd())
	root.AddCommand(a.frontCmd())
	root.AddCommand(a.exportCmd())
	root.AddCommand(a.dashboardCmd())
	usageArgs(root)
	a.completeApps(root)
	return root
}

// usageArgs makes a wrong number of arguments a usage error (exit 2) on c and
// every command below it: cobra's validators return plain errors.
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &exitError{code: ExitUsage, err: fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// layout resolves the home from --home, $BERTH_HOME or the default.
func (a *app) layout() (home.Layout, error) {
	h := a.home
	if h == "" {
		h = home.Default()
	}
	return home.New(h)
}

// client returns an API client for the daemon of the target host (see
// targets), else of this home.
func (a *app) client() (*api.Client, error) {
	ts, err := a.targets()
	if err != nil {
		return nil, err
	}
	if len(ts) > 1 {
		return nil, usage("several --host: only deploy goes to more than one")
	}
	if len(ts) == 1 {
		return remoteClient(ts[0]), nil
	}
	l, err := a.layout()
	if err != nil {
		return nil, err
	}
	return api.NewClient(l.Socket()), nil
}

// withClient runs fn with a client of this home's daemon.
func (a *app) withClient(fn func(*api.Client) error) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(cl)
}

// usage wraps an argument error so it exits with ExitUsage.
func usage(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}
