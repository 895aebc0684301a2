package logs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fullDir returns a directory whose log can be made unwritable and
// writable again. As root, chmod does not stop root, so the directory is a
// small tmpfs that a filler file fills up (disk full); otherwise the log
// file is removed and the directory made read-only.
func fullDir(t *testing.T) (dir string, fill, free func()) {
	t.Helper()
	dir = t.TempDir()
	if os.Geteuid() != 0 {
		return dir, func() {
			os.Remove(filepath.Join(dir, "x.log"))
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
		}, func() { os.Chmod(dir, 0o700) }
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root, and cannot mount a tmpfs to make a disk full (%v: %s); skipping", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	filler := filepath.Join(dir, "filler")
	return dir, func() {
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		block := make([]byte, 4096)
		for {
			if _, err := f.Write(block); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				return
			}
		}
	}, func() { os.Remove(filler) }
}

// TestOnFull fills the disk (or removes the file and locks the directory)
// under a real agent writing through pipes. "drop" counts and drops lines
// and the agent runs to its end; "block" holds the agent back until space
// returns, then every line is there. In both, writing resumes afterwards.
func TestOnFull(t *testing.T) {
	t.Parallel()
	const total = 50_000 // far more than the pipe and the buffers hold
	for _, policy := range []string{OnFullDrop, OnFullBlock} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			dir, fill, free := fullDir(t)
			path := filepath.Join(dir, "x.log")
			w, err := Open(path, Options{OnFull: policy, Keep: -1, RetryEvery: 20 * time.Millisecond, FlushEvery: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			fill()
			wait := startAgent(t, w, 0, total, 0)
			done := make(chan error, 1)
			go func() { done <- wait() }()
			if policy == OnFullBlock {
				waitFor(t, "write errors", func() bool { return w.Stats().WriteErrors >= 3 })
				select {
				case err := <-done:
					t.Fatalf("agent finished (%v) while the log could not be written: no back-pressure", err)
				default:
				}
				free()
			}
			if err := <-done; err != nil {
				t.Fatal(err) // the agent must run to its end
			}
			free()
			waitFor(t, "the writer to recover", func() bool { return !w.Stats().Failing })
			if err := w.WriteLine(Stdout, time.Now(), []byte("o after")); err != nil {
				t.Fatalf("writing after space came back: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			s := w.Stats()
			if s.Lines+s.Dropped != total+1 {
				t.Errorf("lines %d + dropped %d != %d written", s.Lines, s.Dropped, total+1)
			}
			if policy == OnFullDrop && s.Dropped == 0 {
				t.Error("nothing dropped while full")
			}
			if policy == OnFullBlock && s.Dropped != 0 {
				t.Errorf("%d lines dropped with block", s.Dropped)
			}
			lines := readAll(t, path, Query{})
			if uint64(len(lines)) != s.Lines {
				t.Fatalf("read %d lines, Stats.Lines %d", len(lines), s.Lines)
			}
			if last := lines[len(lines)-1].Text; last != "o after" {
				t.Errorf("last line %q, want the one written after recovery", last)
			}
			if policy == OnFullBlock {
				checkSeq(t, lines[:len(lines)-1], map[string][2]int{"o": {0, total}})
			}
			checkIncreasing(t, lines[:len(lines)-1])
		})
	}
}

// checkIncreasing checks that no line is repeated or out of order, though
// some may be missing.
func checkIncreasing(t *testing.T, lines []Line) {
	t.Helper()
	last := -1
	for i, l := range lines {
		n, err := strconv.Atoi(strings.TrimPrefix(l.Text, "o "))
		if err != nil || n <= last {
			t.Fatalf("line %d: %q after %d", i, l.Text, last)
		}
		last = n
	}
}

// TestDirectoryRemoved removes the log directory under a Writer; it must
// notice, recreate it and go on writing into a new file.
func TestDirectoryRemoved(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "app")
	path := filepath.Join(dir, "x.log")
	w, err := Open(path, Options{Keep: -1, RetryEvery: 10 * time.Millisecond, FlushEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	write := func() {
		if err := w.WriteLine(Stdout, time.Now(), []byte("o "+strconv.Itoa(n))); err != nil {
			t.Fatal(err)
		}
		n++
	}
	write()
	waitFor(t, "first flush", func() bool { return w.Lines() == 1 })
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the file to be recreated", func() bool {
		write()
		_, err := os.Stat(path)
		return err == nil
	})
	write()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readAll(t, path, Query{})
	if len(lines) == 0 || lines[len(lines)-1].Text != "o "+strconv.Itoa(n-1) {
		t.Fatalf("after recreation got %v, want it to end with line %d", lines, n-1)
	}
	checkIncreasing(t, lines)
}
