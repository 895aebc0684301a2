package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/secrets"
	"github.com/berth-dev/berth/internal/spec"
)

func (a *app) secretCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "secret",
		Short: "Set, list and remove the secrets agents get through [run] secrets (values never on argv, never printed)",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(a.secretSetCmd(), a.secretLsCmd(), a.secretRmCmd())
	return c
}

func (a *app) secretSetCmd() *cobra.Command {
	var fromFile string
	c := &cobra.Command{
		Use:   "set APP NAME [--from-file FILE]",
		Short: "Store a secret read from stdin (or a file); running instances keep the old value until berth restart APP",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 3 {
				return usage("berth secret set takes no value on the command line, where ps and shell history show it; give it on stdin (berth secret set %s %s < FILE) or with --from-file FILE", args[0], args[1])
			}
			if err := checkSecretArgs(args[0], args[1]); err != nil {
				return err
			}
			value, err := a.readSecret(fromFile)
			if err != nil {
				return err
			}
			defer clear(value)
			if err := secrets.CheckValue(value); err != nil {
				return usage("%v", err)
			}
			return a.withClient(func(cl *api.Client) error {
				info, err := cl.SetSecret(cmd.Context(), args[0], args[1], value)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.env.Stdout, "set secret %s of %s (%d bytes); it reaches the agent at its next start: berth restart %s\n", info.Name, args[0], info.Size, args[0])
				return nil
			})
		},
	}
	c.Flags().StringVar(&fromFile, "from-file", "", "read the value from this file instead of stdin")
	return c
}

func checkSecretArgs(app, name string) error {
	if err := spec.CheckAppName(app); err != nil {
		return usage("%v", err)
	}
	if err := spec.CheckSecretName(name); err != nil {
		return usage("%v", err)
	}
	return nil
}

// readSecret reads the value from the file, or from stdin: without echo
// and up to the end of the line at a terminal, else to EOF. One trailing
// newline (what echo and editors add) is removed.
func (a *app) readSecret(file string) ([]byte, error) {
	var b []byte
	var err error
	switch {
	case file != "":
		b, err = os.ReadFile(file)
	case a.env.Stdin == nil:
		return nil, usage("no stdin to read the value from; use --from-file FILE")
	default:
		b, err = a.readStdin()
	}
	if err != nil {
		return nil, fmt.Errorf("reading the secret's value: %w", err)
	}
	if len(b) > secrets.MaxSize+2 {
		return nil, usage("the value has %d bytes, more than the %d a secret may have", len(b), secrets.MaxSize)
	}
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'}), nil
}

func (a *app) readStdin() ([]byte, error) {
	f, ok := a.env.Stdin.(*os.File)
	if !ok {
		return io.ReadAll(io.LimitReader(a.env.Stdin, secrets.MaxSize+3))
	}
	old, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil { // not a terminal: a pipe or a file
		return io.ReadAll(io.LimitReader(f, secrets.MaxSize+3))
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, &quiet); err != nil {
		return nil, fmt.Errorf("turning off echo: %w", err)
	}
	defer unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, old)
	fmt.Fprint(a.env.Stderr, "value (not shown; Enter ends it): ")
	line, err := bufio.NewReaderSize(f, secrets.MaxSize+3).ReadBytes('\n')
	fmt.Fprintln(a.env.Stderr)
	if err != nil && len(line) == 0 {
		return nil, err
	}
	return line, nil
}

func (a *app) secretLsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls APP [--json]",
		Short: "List an app's secrets: names, sizes and change times, never values",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				list, err := cl.Secrets(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.env.Stdout, list)
				}
				if len(list.Secrets) == 0 {
					fmt.Fprintf(a.env.Stdout, "no secrets for %s (set one with: berth secret set %s NAME < FILE)\n", args[0], args[0])
					return nil
				}
				tw := tabwriter.NewWriter(a.env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSIZE\tCHANGED")
				for _, s := range list.Secrets {
					fmt.Fprintf(tw, "%s\t%d\t%s\n", s.Name, s.Size, s.ChangedAt.Local().Format(time.DateTime))
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *app) secretRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm APP NAME",
		Short: "Remove a secret; a deploy whose spec still names it is refused",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkSecretArgs(args[0], args[1]); err != nil {
				return err
			}
			return a.withClient(func(cl *api.Client) error {
				if err := cl.RemoveSecret(cmd.Context(), args[0], args[1]); err != nil {
					return err
				}
				fmt.Fprintf(a.env.Stdout, "removed secret %s of %s; running instances keep their value until they restart\n", args[1], args[0])
				return nil
			})
		},
	}
}
