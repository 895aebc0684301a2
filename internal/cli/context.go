package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/remote"
)

// contextCmd names remote hosts in the user's contexts.toml so commands
// need no --host; --host and $BERTH_HOST win over the active context.
func (a *app) contextCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "context",
		Short: "Name remote hosts (ssh://...) and pick the one commands go to",
	}
	c.AddCommand(
		a.contextEdit("add NAME ssh://[user@]host[:port]", "Name a remote host", 2, func(cs *remote.Contexts, args []string) (string, error) {
			return fmt.Sprintf("context %s is %s (berth context use %s makes it active)", args[0], args[1], args[0]), cs.Add(args[0], args[1])
		}),
		a.contextEdit("use NAME", "Send commands to this context's host (\"\" = the local daemon)", 1, func(cs *remote.Contexts, args []string) (string, error) {
			if args[0] == "" {
				return "commands go to the local daemon", cs.Use("")
			}
			return fmt.Sprintf("commands go to %s (%s)", args[0], cs.Hosts[args[0]].Host), cs.Use(args[0])
		}),
		a.contextEdit("rm NAME", "Forget a context", 1, func(cs *remote.Contexts, args []string) (string, error) {
			return "removed context " + args[0], cs.Remove(args[0])
		}),
		&cobra.Command{
			Use:   "ls",
			Short: "List the contexts; * marks the active one",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cs, err := a.loadContexts()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "  NAME\tHOST")
				mark := "*"
				if cs.Current != "" {
					mark = " "
				}
				fmt.Fprintf(tw, "%s %s\t%s\n", mark, "(local)", "the daemon of this machine")
				for _, n := range cs.Names() {
					mark = " "
					if n == cs.Current {
						mark = "*"
					}
					fmt.Fprintf(tw, "%s %s\t%s\n", mark, n, cs.Hosts[n].Host)
				}
				return tw.Flush()
			},
		},
	)
	return c
}

// contextEdit is a context subcommand that changes the file.
func (a *app) contextEdit(use, short string, nargs int, edit func(*remote.Contexts, []string) (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := a.loadContexts()
			if err != nil {
				return err
			}
			msg, err := edit(cs, args)
			if err != nil {
				return usage("%v", err)
			}
			if err := cs.Save(); err != nil {
				return err
			}
			fmt.Fprintln(a.env.Stdout, msg)
			return nil
		},
	}
}

func (a *app) loadContexts() (*remote.Contexts, error) {
	p, err := remote.ContextsFile()
	if err != nil {
		return nil, err
	}
	return remote.LoadContexts(p)
}
