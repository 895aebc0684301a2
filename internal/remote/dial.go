package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Banner is the first line `berth dial-stdio` writes once it reached the
// daemon's socket; the dialer reads it before handing the connection on,
// so a failure (no berth, no daemon) is told apart from the API's answers.
const Banner = "berth-dial-stdio 1"

// DialStdioCommand is what runs on the far side.
const DialStdioCommand = "berth dial-stdio"

// Dialer opens connections to the daemon on one host, one ssh process per
// connection. It is safe for concurrent use.
type Dialer struct {
	Target Target
}

// Dial starts `ssh HOST berth dial-stdio` and returns a connection to the
// remote daemon's control socket, or an error naming cause and fix.
func (d Dialer) Dial(ctx context.Context) (net.Conn, error) {
	ours, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	argv := d.Target.sshArgs(DialStdioCommand)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout = theirs, theirs
	stderr := &capped{max: 16 << 10}
	cmd.Stderr = stderr
	// Its own process group: a Ctrl-C is berth's to handle (it detaches
	// from a deploy), and ssh ends when berth closes the connection.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	theirs.Close() // ssh has it now; ours sees the end when ssh exits
	if err != nil {
		ours.Close()
		return nil, fmt.Errorf("%w: starting %s: %v (is OpenSSH's client installed?)", ErrSSH, argv[0], err)
	}
	c := &sshConn{Conn: ours, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	if err := readBanner(ctx, ours); err != nil {
		ours.Close()
		if ctx.Err() != nil {
			_ = cmd.Process.Kill()
			<-c.done
			return nil, fmt.Errorf("connecting to %s: %w", d.Target.Host, ctx.Err())
		}
		return nil, c.failure(d.Target, stderr, err)
	}
	return c, nil
}

// failure waits briefly for ssh to end and explains why it did.
func (c *sshConn) failure(t Target, stderr *capped, readErr error) error {
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%w: %s did not answer: %v", ErrUnreachable, t.Host, readErr)
	}
	return classify(t, c.cmd.ProcessState.ExitCode(), stderr.String())
}

// readBanner reads the banner byte by byte (nothing after it may be lost).
func readBanner(ctx context.Context, c net.Conn) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	defer c.SetReadDeadline(time.Time{})
	var line []byte
	b := make([]byte, 1)
	for len(line) < 256 {
		if _, err := c.Read(b); err != nil {
			return err
		}
		if b[0] == '\n' {
			if string(line) != Banner {
				return fmt.Errorf("unexpected greeting %q", line)
			}
			return nil
		}
		line = append(line, b[0])
	}
	return errors.New("greeting too long")
}

// sshConn is the local end of the pipe; closing it ends its ssh.
type sshConn struct {
	net.Conn
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// Close closes the pipe; ssh then sees end of input and exits, or is
// killed if it has not within a few seconds.
func (c *sshConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		go func() {
			select {
			case <-c.done:
			case <-time.After(5 * time.Second):
				_ = c.cmd.Process.Kill()
			}
		}()
	})
	return err
}

// socketPair returns two connected unix stream sockets: ours as a net.Conn
// (with deadlines), theirs as a file for the child's stdin and stdout.
func socketPair() (net.Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("creating socket pair: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "ssh-pipe")
	defer f.Close()
	ours, err := net.FileConn(f)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("wrapping socket pair: %w", err)
	}
	return ours, os.NewFile(uintptr(fds[1]), "ssh-stdio"), nil
}

// capped keeps the first max bytes written to it.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// Run runs one shell command line on t with stdin, returning its stdout;
// a failure is classified like Dial's.
func Run(ctx context.Context, t Target, stdin io.Reader, remote string) ([]byte, error) {
	argv := t.sshArgs(remote)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	stderr := &capped{max: 16 << 10}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.Bytes(), &RunError{Code: ee.ExitCode(), Stderr: stderr.String(), err: classify(t, ee.ExitCode(), stderr.String())}
	case err != nil:
		return nil, fmt.Errorf("%w: running %s: %v", ErrSSH, argv[0], err)
	}
	return out.Bytes(), nil
}

// RunError is a remote command (or ssh) that exited non-zero.
type RunError struct {
	Code   int
	Stderr string
	err    error
}

func (e *RunError) Error() string { return e.err.Error() }
func (e *RunError) Unwrap() error { return e.err }

// Quote quotes s for the remote POSIX shell.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
