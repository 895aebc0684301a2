package keeper

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/runtime"
)

// spawn starts one process of the instance with its pipes copied into its
// log, and marks the instance running. It does not touch the restart count.
func (in *instance) spawn() error {
	in.mu.Lock()
	spec := in.spec
	in.mu.Unlock()

	path, err := resolveExe(spec.Argv[0], spec.Dir, spec.Env)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSpawn, err)
	}
	spec, red, err := withSecrets(spec)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSpawn, err)
	}
	w, err := logs.Open(spec.LogPath, spec.Log)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSpawn, err)
	}
	p, err := in.k.startProcess(spec, path)
	if err != nil {
		w.Close()
		return fmt.Errorf("%w: %w", ErrSpawn, err)
	}
	in.copyOutput(spec.ID, w, red, p.stdout, p.stderr)

	now := time.Now()
	in.mu.Lock()
	in.pid, in.startTime, in.cgroup, in.lin, in.startedAt = p.pid, p.startTime, p.cgroup, p.lin, now
	in.adopted, in.outputLost = false, false
	in.oomBase = in.k.lim.oomKills(spec.ID, p.cgroup)
	in.exitCh = p.exit
	in.state = runtime.StateRunning
	in.nextStartAt = time.Time{}
	in.mu.Unlock()
	in.k.events.add(spec.ID, EventStarted, p.pid, fmt.Sprintf("started pid %d", p.pid))
	in.k.save()
	return nil
}

// started is one process just started.
type started struct {
	pid            int
	startTime      uint64
	cgroup         string
	lin            *lineage // without a cgroup
	stdout, stderr *os.File
	exit           chan exitInfo
}

// startProcess forks the process of spec in its own process group (and
// cgroup when available), stdin on /dev/null, stdout and stderr on pipes.
func (k *keeper) startProcess(spec runtime.Instance, path string) (started, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return started{}, fmt.Errorf("opening %s: %w", os.DevNull, err)
	}
	defer devnull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return started{}, fmt.Errorf("creating stdout pipe: %w", err)
	}
	defer outW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		return started{}, fmt.Errorf("creating stderr pipe: %w", err)
	}
	defer errW.Close()
	growPipe(outR)
	growPipe(errR)

	sys := &syscall.SysProcAttr{Setpgid: true}
	if spec.User != "" && os.Geteuid() == 0 {
		// An empty, non-nil Groups clears the keeper's supplementary groups.
		sys.Credential = &syscall.Credential{Uid: spec.UID, Gid: spec.GID, Groups: []uint32{}}
		if err := chownPipes(spec.UID, spec.GID, outW, errW); err != nil {
			outR.Close()
			errR.Close()
			return started{}, err
		}
	}
	env := spec.Env
	if env == nil {
		env = []string{} // nil would hand the keeper's own environment down
	}
	attr := &os.ProcAttr{Dir: spec.Dir, Env: env, Files: []*os.File{devnull, outW, errW}, Sys: sys}

	cgDir, cgFile := k.openCgroup(spec.ID)
	if cgFile != nil {
		defer cgFile.Close()
		sys.UseCgroupFD, sys.CgroupFD = true, int(cgFile.Fd())
	}
	v1dirs, err := k.lim.apply(spec, cgDir)
	if err != nil {
		outR.Close()
		errR.Close()
		cgroupRemove(cgDir)
		return started{}, err
	}
	exit := make(chan exitInfo, 1)
	pid, err := k.reaper.start(func() (int, error) {
		return inV1Cgroups(v1dirs, func() (int, error) { return k.fork(path, spec, attr, &cgDir) })
	}, exit)
	if err != nil {
		outR.Close()
		errR.Close()
		cgroupRemove(cgDir)
		k.lim.remove(spec.ID)
		return started{}, fmt.Errorf("starting %s: %w", path, err)
	}
	st := started{pid: pid, startTime: startTimeOf(pid), cgroup: cgDir, stdout: outR, stderr: errR, exit: exit}
	if cgDir == "" {
		st.lin = newLineage(outR, errR)
	}
	return st, nil
}

// fork starts the process, in its v2 cgroup *cgDir when attr asks for
// one, and without it if the kernel refuses (then *cgDir becomes "" and the
// process group contains it).
func (k *keeper) fork(path string, spec runtime.Instance, attr *os.ProcAttr, cgDir *string) (int, error) {
	sys := attr.Sys
	p, err := os.StartProcess(path, spec.Argv, attr)
	if err != nil && sys.UseCgroupFD {
		k.log.Warn("starting in cgroup failed; starting without", "id", spec.ID, "cgroup", *cgDir, "err", err)
		sys.UseCgroupFD, sys.CgroupFD, *cgDir = false, 0, ""
		p, err = os.StartProcess(path, spec.Argv, attr)
	}
	if err != nil {
		return 0, err
	}
	pid := p.Pid
	p.Release() // the reaper waits for it; the handle is not needed
	return pid, nil
}

// chownPipes gives the pipes to the agent's user. A pipe is created mode
// 0600 for the keeper's user, and opening /dev/stdout or /dev/stderr (links
// to /proc/self/fd/N) opens the pipe again by its inode, which checks that
// mode: without this, an agent running as its own user could write to the
// descriptors it inherited but not reopen them by path, as nginx's
// "error_log /dev/stderr" and many logging libraries do. Both ends share
// the inode; the agent can reach only its own output this way.
func chownPipes(uid, gid uint32, pipes ...*os.File) error {
	for _, p := range pipes {
		if err := p.Chown(int(uid), int(gid)); err != nil {
			return fmt.Errorf("giving the output pipe to uid %d: %w", uid, err)
		}
	}
	return nil
}

// openCgroup returns the instance's cgroup, or nothing when cgroups are off
// or this one cannot be used (then the process group alone contains it).
func (k *keeper) openCgroup(id string) (string, *os.File) {
	dir, f, err := k.cg.open(id)
	if err != nil {
		k.log.Warn("not using a cgroup for this run", "id", id, "err", err)
		return "", nil
	}
	return dir, f
}

// copyOutput copies both pipes into w, one goroutine each; the last one to
// finish closes w. A pipe stays open as long as any process holding it
// lives, so copying can outlast the main process. The daemon gets a
// duplicate of both read ends (pipes.sock) until then, so the pipes outlive
// this keeper. A nil w (a log that cannot be opened) counts every line as
// dropped. red (nil: none) redacts secret values from every line.
func (in *instance) copyOutput(id string, w *logs.Writer, red *logs.Redactor, stdout, stderr *os.File) {
	var left atomic.Int32
	left.Store(2)
	key := in.k.pipes.hold(id, stdout, stderr)
	in.mu.Lock()
	in.pipeInodes = []uint64{pipeInode(stdout), pipeInode(stderr)}
	maxLine := in.spec.Log.MaxLine
	in.mu.Unlock()
	if w != nil {
		in.writer.Store(w)
	}
	pump := func(stream logs.Stream, r *os.File, tap func([]byte)) {
		if w == nil {
			in.logDropped.Add(countLines(r))
		} else if err := copyPipe(w, stream, r, maxLine, red, tap); err != nil {
			in.k.log.Error("writing agent log; discarding output", "id", id, "err", err)
			// Keep reading so the agent never blocks on a full pipe.
			in.logDropped.Add(countLines(r))
		}
		r.Close()
		if left.Add(-1) == 0 {
			in.k.pipes.release(key)
			if w != nil {
				w.Close()
				in.writer.CompareAndSwap(w, nil)
				in.logDropped.Add(w.Dropped())
			}
		}
	}
	go pump(logs.Stdout, stdout, in.tapStdout)
	go pump(logs.Stderr, stderr, in.tapStderr)
}

// copyPipe copies an agent's pipe into w with copyDurable, or with
// logs.CopyRedacted where the pipe cannot be peeked (tee(2) refused).
func copyPipe(w *logs.Writer, stream logs.Stream, r *os.File, maxLine int, red *logs.Redactor, tap func([]byte)) error {
	if maxLine <= 0 {
		maxLine = 16 << 10 // logs' default
	}
	err := copyDurable(w, stream, r, maxLine, red, tap)
	if errors.Is(err, errNoPeek) {
		return logs.CopyRedacted(w, stream, r, red, tap)
	}
	return err
}

// countLines reads r to EOF and counts its lines.
func countLines(r io.Reader) uint64 {
	br := bufio.NewReaderSize(r, 4<<10)
	var n uint64
	for {
		_, err := br.ReadSlice('\n')
		if err == nil {
			n++
			continue
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return n
		}
	}
}

// resolveExe finds argv0 the way the instance, not the keeper, would: a name
// with a slash is relative to dir; a bare name is looked up in the PATH of
// the instance's environment.
func resolveExe(argv0, dir string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		p := argv0
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := checkExecutable(p); err != nil {
			return "", err
		}
		return p, nil
	}
	var path string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v // the last one wins, as in execve's consumers
		}
	}
	if path == "" {
		return "", fmt.Errorf("looking up %q: no PATH in the instance's environment", argv0)
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, argv0)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("looking up %q: not found in PATH %q", argv0, path)
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("checking executable: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("checking executable %s: not an executable file", p)
	}
	return nil
}
