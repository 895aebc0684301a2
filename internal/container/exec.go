package container

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/container/engineapi"
)

// maxExecOutput bounds what an exec check's output keeps for its error.
const maxExecOutput = 4 << 10

// Exec runs argv inside the instance's container (as the container's user)
// and returns an error naming its exit code and output unless it exits 0.
// Exec checks of container instances run this way.
func (r *Runtime) Exec(ctx context.Context, id string, argv []string) error {
	s := r.get(id)
	if s == nil {
		return fmt.Errorf("exec in %s: instance not known to %s", id, r.engine)
	}
	execID, err := r.cli.ExecCreate(ctx, s.cid, argv)
	if err != nil {
		return fmt.Errorf("exec %q in %s: %s answered: %w", strings.Join(argv, " "), id, r.engine, err)
	}
	rc, err := r.cli.ExecStart(ctx, execID)
	if err != nil {
		return fmt.Errorf("exec %q in %s: %s answered: %w", strings.Join(argv, " "), id, r.engine, err)
	}
	var out bytes.Buffer
	_, _ = io.Copy(&out, io.LimitReader(rc, maxExecOutput))
	rc.Close()
	// The output ends a moment before the engine records the exit.
	var ins engineapi.ExecInfo
	for range 50 {
		ins, err = r.cli.ExecInspect(ctx, execID)
		if err != nil {
			return fmt.Errorf("exec %q in %s: %w", strings.Join(argv, " "), id, err)
		}
		if !ins.Running {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("exec %q in %s: %w", strings.Join(argv, " "), id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if ins.Running {
		return fmt.Errorf("exec %q in %s: still running", strings.Join(argv, " "), id)
	}
	if ins.ExitCode != 0 {
		return fmt.Errorf("exit %d: %s", ins.ExitCode, strings.TrimSpace(printable(out.Bytes())))
	}
	return nil
}

// printable drops the 8-byte stream headers of the multiplexed output.
func printable(b []byte) string {
	var sb strings.Builder
	for len(b) >= 8 {
		n := int(b[4])<<24 | int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		b = b[8:]
		n = min(n, len(b))
		sb.Write(b[:n])
		b = b[n:]
	}
	return sb.String()
}
