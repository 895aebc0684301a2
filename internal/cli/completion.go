package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
)

// completionTimeout bounds how long a tab press waits for the daemon.
const completionTimeout = time.Second

// completeApps gives every command below c whose first argument is APP
// (its Use says so) shell completion of app names, and a --to flag release
// ids, both asked of the daemon. With no daemon the completion is quietly
// empty: a shell must never print errors on tab.
func (a *app) completeApps(c *cobra.Command) {
	for _, sub := range c.Commands() {
		a.completeApps(sub)
	}
	fields := strings.Fields(c.Use)
	if len(fields) < 2 || strings.Trim(fields[1], "[]") != "APP" || c.ValidArgsFunction != nil {
		return
	}
	c.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.appNames(cmd.Context()), cobra.ShellCompDirectiveNoFileComp
	}
	if c.Flags().Lookup("to") != nil {
		_ = c.RegisterFlagCompletionFunc("to", func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return a.releaseIDs(cmd.Context(), args[0]), cobra.ShellCompDirectiveNoFileComp
		})
	}
}

func (a *app) appNames(ctx context.Context) []string {
	var names []string
	_ = a.askQuickly(ctx, func(ctx context.Context, cl *api.Client) error {
		apps, err := cl.Status(ctx, "")
		for _, s := range apps {
			names = append(names, s.Name)
		}
		return err
	})
	return names
}

// releaseIDs are the releases the app's history names, newest first.
func (a *app) releaseIDs(ctx context.Context, app string) []string {
	var ids []string
	_ = a.askQuickly(ctx, func(ctx context.Context, cl *api.Client) error {
		ds, err := cl.History(ctx, app, 0)
		for _, d := range ds {
			if d.Release != "" && !slices.Contains(ids, d.Release) {
				ids = append(ids, d.Release)
			}
		}
		return err
	})
	return ids
}

func (a *app) askQuickly(ctx context.Context, fn func(context.Context, *api.Client) error) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	return a.withClient(func(cl *api.Client) error { return fn(ctx, cl) })
}
