package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/spec"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	web := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, "status: ready")
		case "/created":
			if r.Method != http.MethodPost {
				http.Error(w, "want POST", http.StatusMethodNotAllowed)
				return
			}
			w.WriteHeader(http.StatusCreated)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	listening := Target{Port: ln.Addr().(*net.TCPAddr).Port}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	type want struct {
		OK     bool
		ErrHas string
	}
	tests := []struct {
		name   string
		check  spec.Check
		target Target
		want   want
	}{
		{"http pass", spec.Check{Type: "http", Path: "/ok"}, web, want{OK: true}},
		{"http body match", spec.Check{Type: "http", Path: "/ok", ExpectBody: "ready"}, web, want{OK: true}},
		{"http body mismatch", spec.Check{Type: "http", Path: "/ok", ExpectBody: "banana"}, web, want{ErrHas: `does not contain "banana"`}},
		{"http status mismatch", spec.Check{Type: "http", Path: "/down"}, web, want{ErrHas: "status 503, want 200"}},
		{"http expected status", spec.Check{Type: "http", Path: "/down", ExpectStatus: 503}, web, want{OK: true}},
		{"http method", spec.Check{Type: "http", Path: "/created", Method: "POST", ExpectStatus: 201}, web, want{OK: true}},
		{"http redirect not followed", spec.Check{Type: "http", Path: "/redirect"}, web, want{ErrHas: "status 302"}},
		{"http timeout", spec.Check{Type: "http", Path: "/slow", Timeout: dur(200 * time.Millisecond)}, web, want{ErrHas: "deadline exceeded"}},
		{"http refused", spec.Check{Type: "http"}, Target{Port: closedPort(t)}, want{ErrHas: "refused"}},
		{"tcp pass", spec.Check{Type: "tcp"}, listening, want{OK: true}},
		{"tcp refused", spec.Check{Type: "tcp"}, Target{Port: closedPort(t)}, want{ErrHas: "refused"}},
		{"exec pass in dir", spec.Check{Type: "exec", Command: []string{"/bin/sh", "-c", "test -f marker"}}, Target{Dir: dir}, want{OK: true}},
		{"exec env", spec.Check{Type: "exec", Command: []string{"/bin/sh", "-c", `test "$APP_MODE" = prod`}}, Target{Dir: dir, Env: []string{"APP_MODE=prod"}}, want{OK: true}},
		{"exec fail keeps output", spec.Check{Type: "exec", Command: []string{"/bin/sh", "-c", "echo db unreachable >&2; exit 3"}}, Target{Dir: dir}, want{ErrHas: "exit status 3: db unreachable"}},
		{"exec timeout", spec.Check{Type: "exec", Command: []string{"/bin/sh", "-c", "echo started; sleep 30"}, Timeout: dur(200 * time.Millisecond)}, Target{Dir: dir}, want{ErrHas: "timed out after 200ms: started"}},
		{"exec missing binary", spec.Check{Type: "exec", Command: []string{"/nonexistent/check"}}, Target{Dir: dir}, want{ErrHas: "starting /nonexistent/check"}},
		{"unknown type", spec.Check{Type: "udp"}, web, want{ErrHas: `unknown check type "udp"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check.Name = "c"
			r := NewProbe(tt.check, tt.target).Probe(context.Background())
			got := want{OK: r.OK}
			if tt.want.ErrHas != "" && strings.Contains(r.Err, tt.want.ErrHas) {
				got.ErrHas = tt.want.ErrHas
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s\nerr: %s", diff, r.Err)
			}
			if r.Check != "c" || r.At.IsZero() || r.Duration <= 0 {
				t.Errorf("result metadata incomplete: %+v", r)
			}
		})
	}
}

func TestExecOutputTail(t *testing.T) {
	t.Parallel()
	c := spec.Check{Name: "noisy", Type: "exec", Command: []string{"/bin/sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x; echo END; exit 1"}}
	r := NewProbe(c, Target{Dir: t.TempDir()}).Probe(context.Background())
	if r.OK {
		t.Fatal("probe passed, want failure")
	}
	if !strings.HasSuffix(r.Err, "xEND") || len(r.Err) > 2*tailSize {
		t.Errorf("err should end with the last output and stay short; got %d bytes ending %q", len(r.Err), r.Err[max(0, len(r.Err)-20):])
	}
}

// TestExecKillsProcessTree checks that a helper started by a check does not
// survive it, whether the check times out or exits on its own.
func TestExecKillsProcessTree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script string
		ok     bool
	}{
		{"timeout", "sleep 100 & echo $! > child.pid; wait", false},
		{"leader exits", "sleep 100 & echo $! > child.pid; exit 0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			c := spec.Check{Name: "tree", Type: "exec", Command: []string{"/bin/sh", "-c", tt.script}, Timeout: dur(time.Second)}
			r := NewProbe(c, Target{Dir: dir}).Probe(context.Background())
			if r.OK != tt.ok {
				t.Fatalf("OK = %v, want %v (err %q)", r.OK, tt.ok, r.Err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "child.pid"))
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "child sleep to die", func() bool { return !running(pid) })
		})
	}
}

// running reports whether pid is a live (not zombie) process.
func running(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesized command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
