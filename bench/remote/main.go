// Command remote benchmarks a deploy from a "laptop" over ssh: a 50 MB
// release deployed with `berth --host` (content-addressed upload) the
// first time and again with one file changed, against the baseline
// `rsync` over the same ssh followed by a local `berth deploy` on the
// server, measured in the same run. Everything runs on loopback: its own
// sshd (host key, authorized key), its own daemon in a temporary home.
// It prints a table; paste it into docs/benchmarks.md ("## Remote deploy").
//
//	go run ./bench/remote            # 50 files of 1 MB
//	go run ./bench/remote -mb 10
//
// It needs /usr/sbin/sshd, ssh and rsync, and stops what it started by PID.
package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	mb := flag.Int("mb", 50, "release size in MB (files of 1 MB)")
	flag.Parse()
	if err := run(*mb); err != nil {
		fmt.Fprintln(os.Stderr, "bench/remote:", err)
		os.Exit(1)
	}
}

// row is one measured deploy.
type row struct {
	what  string
	bytes int64
	took  time.Duration
}

func run(mb int) error {
	w, err := newWorld()
	if err != nil {
		return err
	}
	defer w.close()
	src := filepath.Join(w.dir, "laptop", "src")
	if err := makeRelease(src, mb, w.bin); err != nil {
		return err
	}
	var rows []row
	for i, label := range []string{"first", "second (1 file changed)"} {
		if i == 1 {
			if err := touchOne(src); err != nil {
				return err
			}
		}
		r, err := w.remoteDeploy(src)
		if err != nil {
			return err
		}
		r.what = "berth --host deploy, " + label
		rows = append(rows, r)
		b, err := w.rsyncDeploy(src)
		if err != nil {
			return err
		}
		b.what = "rsync + local deploy, " + label
		rows = append(rows, b)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%d MB release over loopback ssh\tbytes sent\ttime\t\n", mb)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", r.what, r.bytes, r.took.Round(10*time.Millisecond))
	}
	return tw.Flush()
}

// makeRelease writes mb random 1 MB files and a worker's spec.
func makeRelease(dir string, mb int, bin string) error {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for i := range mb {
		_, _ = rand.Read(buf)
		if err := os.WriteFile(filepath.Join(dir, "data", fmt.Sprintf("f%03d.bin", i)), buf, 0o644); err != nil {
			return err
		}
	}
	spec := fmt.Sprintf(`version = 1
name = "benchremote"

[run]
command = ["/bin/sleep", "3600"]
user = "root"
stop_timeout = "2s"

[deploy]
strategy = "restart"
verify_for = "0s"
`)
	_ = bin
	return os.WriteFile(filepath.Join(dir, "berth.toml"), []byte(spec), 0o644)
}

// touchOne changes one small file: a new version marker.
func touchOne(dir string) error {
	return os.WriteFile(filepath.Join(dir, "VERSION"), []byte(time.Now().String()), 0o644)
}

var uploadRe = regexp.MustCompile(`(\d+) bytes sent`)

func (w *world) remoteDeploy(src string) (row, error) {
	start := time.Now()
	out, err := w.laptop(w.bin, "--host", "ssh://benchhost", "deploy", "-f", filepath.Join(src, "berth.toml"))
	took := time.Since(start)
	if err != nil {
		return row{}, fmt.Errorf("remote deploy: %v\n%s", err, out)
	}
	m := uploadRe.FindStringSubmatch(out)
	if m == nil {
		return row{}, fmt.Errorf("no upload line in:\n%s", out)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return row{bytes: n, took: took}, nil
}

var rsyncRe = regexp.MustCompile(`Total bytes sent: ([\d,]+)`)

// rsyncDeploy is the baseline: rsync the tree to the server, then deploy
// it there with the local CLI (over the same ssh).
func (w *world) rsyncDeploy(src string) (row, error) {
	dst := filepath.Join(w.dir, "server-src")
	start := time.Now()
	out, err := w.laptop("rsync", "-a", "--delete", "--stats", "-e", w.sshCmd(), src+"/", "benchhost:"+dst+"/")
	if err != nil {
		return row{}, fmt.Errorf("rsync: %v\n%s", err, out)
	}
	m := rsyncRe.FindStringSubmatch(out)
	if m == nil {
		return row{}, fmt.Errorf("no rsync stats in:\n%s", out)
	}
	n, _ := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
	if out, err := w.laptop(strings.Fields(w.sshCmd())[0], append(strings.Fields(w.sshCmd())[1:], "benchhost", "berth deploy -f "+dst+"/berth.toml")...); err != nil {
		return row{}, fmt.Errorf("local deploy on the server: %v\n%s", err, out)
	}
	return row{bytes: n, took: time.Since(start)}, nil
}

// laptop runs a command in the laptop's environment, returning its output.
func (w *world) laptop(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "HOME="+filepath.Join(w.dir, "laptop"), "NO_COLOR=1", "BERTH_HOST=",
		"BERTH_SSH_COMMAND="+w.sshCmd(), "XDG_CONFIG_HOME="+filepath.Join(w.dir, "laptop", ".config"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (w *world) sshCmd() string { return "ssh -F " + filepath.Join(w.dir, "laptop", "ssh_config") }

// endPID sends SIGTERM, then SIGKILL after 5s.
func endPID(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
