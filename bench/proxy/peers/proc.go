package peers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a server a benchmark started, in its own process group, so
// nginx's workers are counted and stopped with their master. Only its
// own PIDs are ever signalled.
type Proc struct {
	Name, URL string
	cmd       *exec.Cmd
}

// Start runs args with its output in dir/name.log and env (space
// separated NAME=value pairs) added to the environment.
func Start(dir, name, url, env string, args []string) (*Proc, error) {
	cmd := exec.Command(args[0], args[1:]...)
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("creating %s log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if env != "" {
		cmd.Env = append(os.Environ(), strings.Fields(env)...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return &Proc{Name: name, URL: url, cmd: cmd}, nil
}

// Stop ends the process with SIGTERM, then its group with SIGKILL.
func (p *Proc) Stop() {
	pid := p.cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
	syscall.Kill(-pid, syscall.SIGKILL) // leftovers of the group, if any
}

// ClockTicks is USER_HZ, the unit of CPUTicks.
const ClockTicks = 100

// CPUTicks sums utime+stime of every process in p's group.
func (p *Proc) CPUTicks() uint64 {
	var sum uint64
	p.eachInGroup(func(pid string, stat []string) {
		u, _ := strconv.ParseUint(stat[11], 10, 64)
		k, _ := strconv.ParseUint(stat[12], 10, 64)
		sum += u + k
	})
	return sum
}

// RSS sums the resident memory of every process in p's group, in bytes.
func (p *Proc) RSS() int64 {
	var sum int64
	p.eachInGroup(func(pid string, _ []string) {
		b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
		if err != nil {
			return
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += kb << 10
			}
		}
	})
	return sum
}

// eachInGroup calls f with the PID and the /proc stat fields (from field
// 3 on) of every process in p's group.
func (p *Proc) eachInGroup(f func(pid string, stat []string)) {
	pgid := strconv.Itoa(p.cmd.Process.Pid)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		stat := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(stat) >= 13 && stat[2] == pgid {
			f(e.Name(), stat)
		}
	}
}
