package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoteDeployFanOut: deploy --host A --host B --host C goes to each in
// turn and stops at the first failure (B has no daemon): A runs the new
// release, C was not touched, and the summary says so.
func TestRemoteDeployFanOut(t *testing.T) {
	t.Parallel()
	ea, ec := newEnv(t), newEnv(t)
	sa := newSSHServer(t, binDirWith(t), ea.home)
	sb := newSSHServer(t, binDirWith(t), t.TempDir())
	sc := newSSHServer(t, binDirWith(t), ec.home)
	l := newLaptop(t, sa, "")
	// One laptop knowing the three hosts, by port.
	var conf, kh strings.Builder
	for i, s := range []*sshServer{sa, sb, sc} {
		fmt.Fprintf(&conf, "Host h%d\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s/.ssh/known_hosts\n  GlobalKnownHostsFile /dev/null\n",
			i, s.port, s.userKey, l.home)
		fmt.Fprintf(&kh, "[127.0.0.1]:%d %s\n", s.port, s.hostPub)
	}
	if err := os.WriteFile(filepath.Join(l.home, ".ssh", "config"), []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.home, ".ssh", "known_hosts"), []byte(kh.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	ea.apps["fan"] = true
	spec := writeRelease(t, filepath.Join(l.home, "src"), app{name: "fan", version: "v1", mode: "good", listen: port}, "f\n")
	r := l.berth("deploy", "--host", "ssh://h0", "--host", "ssh://h1", "--host", "ssh://h2", "-f", spec)
	ea.notePIDs("fan")
	if r.code != 4 {
		t.Fatalf("fan-out with a host without daemon: want exit 4: %s", r)
	}
	live := ea.liveInstance("fan").Release
	for _, want := range []string{"ssh://h0: release " + live + " live", "ssh://h1: FAILED", "ssh://h2: not deployed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q: %s", want, r)
		}
	}
	if st := ec.berth("status"); !strings.Contains(st.stdout, "no apps yet") {
		t.Errorf("host C was deployed after B failed: %s", st)
	}
}
