package keeper

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/logs"
)

// copyDurable copies an agent's pipe into w line by line and consumes from
// the pipe only what w has written to its file. It peeks with tee(2) into a
// private pipe, writes the complete lines, flushes w, and only then reads
// those bytes out of the agent's pipe. So when the keeper is killed at any
// point, every byte not yet in the log file is still in the agent's pipe,
// which the daemon holds open for the next keeper: no line is lost; a crash
// between the flush and the consume makes the next keeper write those lines
// once more (at least once, never lost). A partial last line stays in the
// pipe until its newline comes, or the writers are gone.
//
// It returns nil at EOF, or an error when the pipe cannot be peeked (then
// the caller falls back to logs.Copy).
//
// red (nil: none) replaces secret values in each line before w and tap
// see it; a line longer than maxLine is cut where no value straddles the
// cut, so a value is never written in two halves.
func copyDurable(w *logs.Writer, stream logs.Stream, src *os.File, maxLine int, red *logs.Redactor, tap func([]byte)) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("%w: creating peek pipe: %w", errNoPeek, err)
	}
	defer pr.Close()
	defer pw.Close()
	growPipe(pw)
	rc, err := src.SyscallConn()
	if err != nil {
		return fmt.Errorf("%w: %w", errNoPeek, err)
	}
	var prfd, pwfd int
	if err := rawFDs(pr, pw, &prfd, &pwfd); err != nil {
		return fmt.Errorf("%w: %w", errNoPeek, err)
	}
	c := &durable{w: w, stream: stream, maxLine: max(maxLine, 1024), red: red, tap: tap, prfd: prfd, pwfd: pwfd}
	for {
		var step error
		if err := rc.Read(func(fd uintptr) bool { return c.step(int(fd), &step) }); err != nil {
			return fmt.Errorf("reading agent pipe: %w", err)
		}
		if errors.Is(step, errEOF) {
			return nil
		}
		if step != nil {
			return step
		}
	}
}

// errEOF ends copyDurable: no writer is left and the pipe is empty.
var errEOF = errors.New("end of output")

// errNoPeek: the pipe cannot be peeked; nothing was consumed.
var errNoPeek = errors.New("cannot peek the agent pipe")

// durable is the state of one copyDurable.
type durable struct {
	w          *logs.Writer
	stream     logs.Stream
	maxLine    int
	red        *logs.Redactor
	rbuf       logs.RedactBuf
	tap        func([]byte)
	prfd, pwfd int
	carry      int // bytes of a partial line left unconsumed in the pipe
	buf        []byte
}

// step handles what is in the pipe now. It returns false to wait for the
// pipe to become readable again (new data or hang-up), true when it did
// something or set *res (errEOF or an error).
func (c *durable) step(fd int, res *error) bool {
	avail, err := unix.IoctlGetInt(fd, unix.TIOCINQ)
	if err != nil {
		*res = fmt.Errorf("reading pipe fill: %w", err)
		return true
	}
	hup := hungUp(fd)
	if avail <= c.carry && !hup {
		return false // nothing new: wait for the next write
	}
	if avail == 0 {
		*res = errEOF
		return true
	}
	n, err := unix.Tee(fd, c.pwfd, avail, unix.SPLICE_F_NONBLOCK)
	if errors.Is(err, syscall.EAGAIN) {
		return false
	}
	if err != nil {
		// Nothing of this chunk was consumed: logs.Copy takes over.
		*res = fmt.Errorf("%w: tee: %w", errNoPeek, err)
		return true
	}
	c.buf = c.buf[:0]
	if err := readFull(c.prfd, &c.buf, int(n)); err != nil {
		*res = err
		return true
	}
	done := c.writeLines(c.buf, hup && int(n) == avail)
	if err := c.w.Flush(); err != nil && errors.Is(err, logs.ErrClosed) {
		*res = err
		return true
	}
	if err := consume(fd, done); err != nil {
		*res = err
		return true
	}
	c.carry = int(n) - done
	return true
}

// writeLines writes the complete lines of b (all of b when last) and
// returns how many bytes they took. A partial line longer than maxLine is
// written as it is.
func (c *durable) writeLines(b []byte, last bool) int {
	done := 0
	for done < len(b) {
		i := bytes.IndexByte(b[done:], '\n')
		if i < 0 {
			if !last && len(b)-done < c.maxLine {
				break
			}
			i = len(b) - done
			if !last {
				if cut := c.red.SafeCut(b[done:], i); cut > 0 {
					i = cut // the rest, which may begin a value, waits
				}
			}
			c.line(b[done : done+i])
			done += i
			break
		}
		c.line(b[done : done+i])
		done += i + 1
	}
	return done
}

func (c *durable) line(l []byte) {
	l = c.red.Redact(bytes.TrimSuffix(l, []byte{'\r'}), &c.rbuf)
	c.w.WriteLine(c.stream, time.Now(), l) // a dropped line is counted by w
	if c.tap != nil {
		c.tap(l)
	}
}

// hungUp reports whether the pipe has no writer left.
func hungUp(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&unix.POLLHUP != 0
}

// readFull reads n bytes from fd (a pipe that holds them) into *buf.
func readFull(fd int, buf *[]byte, n int) error {
	if cap(*buf) < n {
		*buf = make([]byte, 0, n)
	}
	b := (*buf)[:n]
	for got := 0; got < n; {
		m, err := unix.Read(fd, b[got:])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || m <= 0 {
			return fmt.Errorf("reading peek pipe: %v", err)
		}
		got += m
	}
	*buf = b
	return nil
}

// consume reads n bytes out of the agent's pipe, which holds at least n.
func consume(fd, n int) error {
	var scratch [32 << 10]byte
	for n > 0 {
		m, err := unix.Read(fd, scratch[:min(n, len(scratch))])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || m <= 0 {
			return fmt.Errorf("consuming agent pipe: %v", err)
		}
		n -= m
	}
	return nil
}

// rawFDs returns the descriptors of the private peek pipe, which only this
// copy uses (blocking them, as Fd would, would not matter either).
func rawFDs(pr, pw *os.File, prfd, pwfd *int) error {
	for _, p := range []struct {
		f  *os.File
		fd *int
	}{{pr, prfd}, {pw, pwfd}} {
		rc, err := p.f.SyscallConn()
		if err != nil {
			return fmt.Errorf("peek pipe: %w", err)
		}
		rc.Control(func(fd uintptr) { *p.fd = int(fd) })
	}
	return nil
}
