package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSocketPermissionMessages tries the root daemon's socket as a throwaway
// user: outside group berth it is told to join the group; a 0700 directory
// on the way is named as the cause; in the group it gets through.
func TestSocketPermissionMessages(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a throwaway user")
	}
	e := newEnv(t)
	name := fmt.Sprintf("bt%d", os.Getpid()%100000)
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	g, err := user.LookupGroup("berth")
	if err != nil {
		t.Fatalf("the daemon did not create group berth: %v", err)
	}
	berthGID, _ := strconv.Atoi(g.Gid)

	// A copy of berth the user may run.
	binDir, err := os.MkdirTemp("", "bbin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	_ = os.Chmod(binDir, 0o755)
	bin := filepath.Join(binDir, "berth")
	copyFile(t, berthBin, bin)

	as := func(groups []uint32) result {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "--home", e.home, "status")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("running berth as %s: %v", name, err)
		}
		return result{code: code, stdout: out.String()}
	}

	if err := os.Chmod(e.home, 0o700); err != nil {
		t.Fatal(err)
	}
	if r := as(nil); r.code == 0 || !strings.Contains(r.stdout, "its directory "+e.home+" (mode 0700)") {
		t.Errorf("through a 0700 home: want the directory named, got %s: %s", r, r.stdout)
	}
	if err := os.Chmod(e.home, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := as(nil); r.code == 0 || !strings.Contains(r.stdout, "add yourself to group berth") || strings.Contains(r.stdout, "no berth daemon") {
		t.Errorf("outside group berth: want the group hint, got %s: %s", r, r.stdout)
	}
	if r := as([]uint32{uint32(berthGID)}); r.code != 0 {
		t.Errorf("in group berth: want status to work, got %s: %s", r, r.stdout)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
