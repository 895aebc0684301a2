package keeper

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/sysuser"
)

// throwawayUser creates a system user for one test and deletes it at the
// end. It skips the test unless it runs as root with useradd at hand.
func throwawayUser(t *testing.T) sysuser.Account {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a user and switching to it needs root")
	}
	name := fmt.Sprintf("bk%d%d", os.Getpid()%10000, time.Now().UnixNano()%100000)
	a, err := sysuser.Ensure(t.Context(), name)
	if err != nil {
		t.Skipf("cannot create a throwaway user: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := sysuser.Remove(ctx, name); err != nil {
			t.Errorf("deleting throwaway user: %v", err)
		}
	})
	return a
}

// asUser runs in as account a, in a Dir a can enter.
func asUser(t *testing.T, dir string, in runtime.Instance, a sysuser.Account) runtime.Instance {
	t.Helper()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in.User, in.UID, in.GID = a.Name, a.UID, a.GID
	return in
}

// TestOpenDevStdoutAsUser: an agent running as its own user opens
// /dev/stdout and /dev/stderr by path (nginx's error_log /dev/stderr, many
// logging libraries) and what it writes there reaches its log.
func TestOpenDevStdoutAsUser(t *testing.T) {
	t.Parallel()
	a := throwawayUser(t)
	c, dir := newKeeper(t)
	id := uniqueID(t, "devout")
	script := `echo hi > /dev/stdout || exit 11; sh -c 'exec 3>/dev/stderr; echo err >&3' || exit 12; echo done`
	in := asUser(t, dir, agent(dir, id, "never", "sh", "-c", script), a)
	if _, err := c.Start(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, c, id, "exit", isState(runtime.StateExited))
	if st.LastExit != "exit 0" {
		t.Fatalf("agent: %s, stderr %q", st.LastExit, st.LastStderr)
	}
	waitStatus(t, c, id, "3 log lines", func(s runtime.Status) bool { return s.LogLines == 3 })
	got := readLog(t, in.LogPath)
	var out, errs []string
	for _, l := range got {
		if s, ok := strings.CutPrefix(l, "out "); ok {
			out = append(out, s)
		} else if s, ok := strings.CutPrefix(l, "err "); ok {
			errs = append(errs, s)
		}
	}
	if diff := cmp.Diff([]string{"hi", "done"}, out); diff != "" {
		t.Errorf("stdout lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"err"}, errs); diff != "" {
		t.Errorf("stderr lines (-want +got):\n%s", diff)
	}
}
