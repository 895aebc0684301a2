package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/remote"
)

// dialStdioCmd is what `berth --host` runs on the far side through ssh: it
// bridges its stdin and stdout to the local control socket, so the
// socket's permissions (0660, group berth) decide as they do locally.
func (a *app) dialStdioCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "dial-stdio",
		Short:  "Bridge stdin/stdout to the daemon's control socket (what berth --host runs over ssh)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.layout()
			if err != nil {
				return err
			}
			conn, err := net.Dial("unix", l.Socket())
			if errors.Is(err, os.ErrPermission) {
				return fmt.Errorf("permission denied on %s: add this ssh user to group berth (sudo usermod -aG berth $USER)", l.Socket())
			}
			if err != nil {
				return &exitError{code: ExitNoDaemon, err: fmt.Errorf("no berth daemon answers on %s", l.Socket())}
			}
			defer conn.Close()
			if _, err := fmt.Fprintln(os.Stdout, remote.Banner); err != nil {
				return err
			}
			return bridge(conn.(*net.UnixConn), os.Stdin, os.Stdout)
		},
	}
}

// bridge copies in to conn and conn to out until the daemon's side ends;
// the end of in is passed on as a half close, so an answer still in
// flight arrives.
func bridge(conn *net.UnixConn, in io.Reader, out io.Writer) error {
	go func() {
		_, _ = io.Copy(conn, in)
		_ = conn.CloseWrite()
	}()
	_, err := io.Copy(out, conn)
	return err
}
