package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/remote"
	"github.com/berth-dev/berth/internal/state"
)

// ExitInterrupted is the exit code of a deploy, rollback or restart whose
// client was interrupted (SIGINT, SIGTERM): 128 + SIGINT, as shells report
// it. The operation itself goes on in the daemon.
const ExitInterrupted = 130

// interrupted tells the user, once the client was interrupted while what
// ran, that the daemon goes on with it and how to follow or stop it.
func (a *app) interrupted(ctx context.Context, err error, started bool, what, app string) error {
	ts, _ := a.targets()
	var t remote.Target
	if len(ts) == 1 {
		t = ts[0]
	}
	return a.interruptedOn(ctx, err, started, what, app, t)
}

// interruptedOn is interrupted for the daemon on host t (zero: the local
// one): the commands it suggests carry --host.
func (a *app) interruptedOn(ctx context.Context, err error, started bool, what, app string, t remote.Target) error {
	if err == nil || ctx.Err() == nil {
		return nil
	}
	head := fmt.Sprintf("the %s of %s goes on in the daemon (it is never left half-done)", what, app)
	if !started { // the daemon may not have had the request yet
		head = fmt.Sprintf("before the daemon answered; if it had the request, the %s of %s goes on (berth status %s says)", what, app, app)
	}
	berth := "berth"
	if t.URL != "" {
		berth += " --host " + t.URL
	}
	fmt.Fprintf(a.env.Stderr, "\nberth: interrupted: %s.\n"+
		"  follow it: %s deploy --attach %s   (or: %s events -f %s)\n"+
		"  stop it:   %s abort %s   (it stops at its current step; the previous version stays live)\n",
		head, berth, app, berth, app, berth, app)
	return &exitError{code: ExitInterrupted, err: errSilent}
}

// attach follows the running deploy of app to its end.
func (a *app) attach(ctx context.Context, app string) error {
	return a.withClient(func(cl *api.Client) error {
		fmt.Fprintf(a.env.Stdout, "attached to the running deploy of %s\n", app)
		p := newPrinter(a.env.Stdout)
		first := true
		d, err := cl.Attach(ctx, app, func(e deploy.Progress) {
			if first { // times count from the deploy's first line, not from now
				p.start, first = e.Time, false
			}
			p.progress(e)
		})
		if ctx.Err() != nil {
			fmt.Fprintf(a.env.Stderr, "\nberth: detached; the deploy of %s goes on (berth abort %s stops it)\n", app, app)
			return &exitError{code: ExitInterrupted, err: errSilent}
		}
		p.result(d, err)
		return err
	})
}

func (a *app) abortCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "abort APP",
		Short: "Stop the running deploy of APP at its current step and go back to the previous live version",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app := args[0]
			return a.withClient(func(cl *api.Client) error {
				id, err := cl.Abort(cmd.Context(), app)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.env.Stdout, "aborting deployment %s of %s; its undoing:\n", id, app)
				p := newPrinter(a.env.Stdout)
				d, err := cl.Attach(cmd.Context(), app, func(e deploy.Progress) {
					if e.Time.After(p.start) {
						p.progress(e)
					}
				})
				if d.ID == id && d.Outcome == state.OutcomeAborted {
					live := "nothing was live before it"
					if d.FromRelease != "" {
						live = "release " + d.FromRelease + " is live, as before it"
					}
					fmt.Fprintf(a.env.Stdout, "deployment %s aborted: %s\n", id, live)
					return nil
				}
				if d.ID != "" {
					p.result(d, err)
					return fmt.Errorf("deployment %s ended %s, not aborted", d.ID, d.Outcome)
				}
				var ae *api.Error
				if err != nil && (!errors.As(err, &ae) || ae.Code != api.CodeNotFound) {
					return err
				}
				// It ended between the abort and the attach.
				fmt.Fprintf(a.env.Stdout, "deployment %s ended; berth history %s shows how\n", id, app)
				return nil
			})
		},
	}
}
