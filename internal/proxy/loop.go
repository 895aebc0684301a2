package proxy

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The event loops serve the lane's HTTP/1 clients with epoll instead of
// a goroutine per connection. A read on a Go connection first tries the
// socket, finds it empty, parks the goroutine and reads again once the
// poller wakes it through the scheduler: per proxied request that came
// to about 6.5 system calls and two goroutine wake-ups, which left the
// proxy slower than nginx. A loop reads a socket only after epoll said
// it has data and does the whole exchange, parse, forward, read the
// answer, reply, in one place: about four system calls per request.
//
// A loop takes only what it handles completely: the lane's simple
// requests (lane_parse.go) whose answers are simple (parseSimple in
// fast.go) and fit in one buffer. Everything else leaves the loop for
// good: the client connection, with the bytes read so far, and an
// exchange under way go to the goroutine lane (lane.go), which in turn
// hands what it does not serve to net/http. There is one loop per
// GOMAXPROCS, each with its own epoll set and its own pool of backend
// connections. The first loop accepts and gives each new connection to
// the loop with the fewest: left to the kernel (EPOLLEXCLUSIVE), one loop
// got 48 of 50 connections.

const (
	loopEvents      = 256
	loopTick        = time.Second     // sweep for timeouts at least this often
	loopAcceptBurst = 64              // accepts per listener event, for fairness
	loopDialTimeout = 5 * time.Second // as the goroutine path's net.Dialer
	upBuffer        = 16 << 10        // a backend answer the loop handles fits here
	// A loop keeps at most loopIdleMax idle connections per target, each
	// for at most loopIdleTimeout, as the Transport's IdleConnTimeout.
	loopIdleMax     = 128
	loopIdleTimeout = 60 * time.Second
)

// owner is what a registered descriptor belongs to.
type owner interface {
	event(l *evloop, ev uint32)
	serial() int32
}

// evloop is one event loop. Only its own goroutine touches its fields,
// except quit and wake, which other goroutines use.
type evloop struct {
	p        *Proxy
	epfd     int
	wakefd   int // an eventfd: Close, and cut or closeIdle of a backend
	lnfd     int // the proxy's listener, shared by every loop
	fds      []owner
	idle     map[*backend][]*upconn
	kv       [maxSimpleHeaders]headerField // parseSimple's fields
	req      laneReq                       // the request start parses
	bufs     bufStock
	now      time.Time // when epoll_wait last returned
	sweep    time.Time // next timeout sweep
	seq      int32     // serial numbers of registrations
	events   [loopEvents]unix.EpollEvent
	file     *os.File // epfd, as Go's poller sees it
	quitting bool
	armed    time.Time // the sweep the poller's deadline was set for
	backlog  bool      // accept left connections waiting on the listener
	paused   bool      // accept backs off: out of descriptors
	quit     chan struct{}
	done     chan struct{}

	clients atomic.Int64 // client connections the loop owns or was given
	dirty   atomic.Bool  // a backend was cut or made its connections idle
	retired atomic.Bool  // the loop accepts no more (retire.go)

	wakeMu     sync.Mutex // orders wake and give against closing wakefd
	wakeClosed bool
	inbox      []accepted // connections the accepting loop gave this one
}

// accepted is a client connection on its way to its loop.
type accepted struct {
	fd int
	ip string
}

// listenerFD returns the descriptor of ln if the loops can accept on it.
func listenerFD(ln net.Listener) (int, bool) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return 0, false
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(s uintptr) { fd = int(s) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// startLoops starts one loop per GOMAXPROCS on listener descriptor lnfd.
// The caller keeps the listener open until stopLoops returned.
func (p *Proxy) startLoops(lnfd int) error {
	n := runtime.GOMAXPROCS(0)
	loops := make([]*evloop, 0, n)
	for i := range n {
		l, err := newLoop(p, lnfd, i == 0)
		if err != nil {
			for _, l := range loops {
				l.closeFDs()
			}
			return err
		}
		loops = append(loops, l)
	}
	p.loops.Store(&loops)
	for _, l := range loops {
		p.wg.Add(1)
		go l.run()
	}
	return nil
}

// stopLoops ends every loop, which closes its connections, and waits.
func (p *Proxy) stopLoops() {
	ls := p.loops.Load()
	if ls == nil {
		return
	}
	for _, l := range *ls {
		close(l.quit)
		l.wake()
	}
	for _, l := range *ls {
		<-l.done
	}
}

// wakeLoops makes every loop look at its backends again: a cut or a
// closeIdle happened.
func (p *Proxy) wakeLoops() {
	if ls := p.loops.Load(); ls != nil {
		for _, l := range *ls {
			l.dirty.Store(true)
			l.wake()
		}
	}
}

// newLoop creates a loop; the one that accepts listens on lnfd.
func newLoop(p *Proxy, lnfd int, accepts bool) (*evloop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	l := &evloop{
		p: p, epfd: epfd, wakefd: wakefd, lnfd: lnfd,
		idle: make(map[*backend][]*upconn),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	// Serial 0 marks the loop's own descriptors; connections count from 1.
	err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)})
	if err == nil && accepts {
		err = l.listen()
	}
	if err != nil {
		l.closeFDs()
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	// Non-blocking, so Go's poller takes it; epoll_wait itself gets a
	// zero timeout anyway.
	if err := unix.SetNonblock(epfd, true); err != nil {
		l.closeFDs()
		return nil, os.NewSyscallError("fcntl", err)
	}
	l.file = os.NewFile(uintptr(epfd), "epoll")
	return l, nil
}

// listen (re)registers the listener, level-triggered: a burst of accepts
// that leaves connections waiting is woken again.
func (l *evloop) listen() error {
	return unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, l.lnfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(l.lnfd)})
}

func (l *evloop) closeFDs() {
	l.wakeMu.Lock()
	l.wakeClosed = true
	unix.Close(l.wakefd)
	for _, a := range l.inbox {
		unix.Close(a.fd)
	}
	l.inbox = nil
	l.wakeMu.Unlock()
	if l.file != nil {
		l.file.Close()
	} else {
		unix.Close(l.epfd)
	}
}

// wake makes the loop look at its quit channel and its backends. It is
// safe to call at any time: once the loop closed its eventfd, another
// socket may have the same number.
func (l *evloop) wake() {
	l.wakeMu.Lock()
	defer l.wakeMu.Unlock()
	if !l.wakeClosed {
		var one = [8]byte{1}
		unix.Write(l.wakefd, one[:])
	}
}

// register adds fd, edge-triggered for both directions, for o.
func (l *evloop) register(fd int, o owner) error {
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET,
		Fd:     int32(fd), Pad: o.serial(),
	}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return err
	}
	for fd >= len(l.fds) {
		l.fds = append(l.fds, make([]owner, len(l.fds)+64)...)
	}
	l.fds[fd] = o
	return nil
}

func (l *evloop) nextSerial() int32 {
	l.seq++
	if l.seq <= 0 {
		l.seq = 1
	}
	return l.seq
}

// close forgets and closes a descriptor the loop owns. Closing removes
// it from the epoll set, as nothing else refers to the socket.
func (l *evloop) close(fd int) {
	l.fds[fd] = nil
	unix.Close(fd)
}

// release takes fd out of the loop without closing it, for a hand-off.
func (l *evloop) release(fd int) {
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	l.fds[fd] = nil
}

// run parks the loop's goroutine in Go's own poller until its epoll set
// has events, then takes them with a non-blocking epoll_wait. Blocking in
// epoll_wait itself holds an OS thread in a system call, which the
// scheduler answers by handing its P to another thread and back on every
// wake-up when the Ps are busy: only a loop that is alone does (alone).
func (l *evloop) run() {
	defer l.p.wg.Done()
	defer close(l.done)
	defer l.shutdown()
	rc, err := l.file.SyscallConn()
	if err != nil {
		l.p.log.Error("proxy event loop failed", "err", err)
		return
	}
	l.now = time.Now()
	l.sweep = l.now.Add(loopTick)
	for !l.quitting {
		if l.alone() {
			l.block()
		} else {
			l.armed = l.sweep
			l.file.SetReadDeadline(l.armed)
			err := rc.Read(l.poll)
			l.now = time.Now()
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				l.p.log.Error("proxy event loop failed", "err", err)
				return
			}
		}
		if !l.now.Before(l.sweep) {
			l.sweepTimeouts()
		}
	}
}

// alone reports whether l is the only loop of its proxy with clients,
// and another loop, with its P, is idle. The loop then waits in
// epoll_wait itself, so the kernel wakes it directly, as it does nginx:
// at one connection that served 8% more requests than waking through
// Go's poller. With the Ps busy, the scheduler would take the P from a
// thread blocked in epoll_wait and hand it back on every wake-up, which
// cost 1.43x the CPU at 50 connections; so a loop with company parks.
func (l *evloop) alone() bool {
	if l.clients.Load() == 0 {
		return false
	}
	ls := *l.p.loops.Load()
	if len(ls) < 2 {
		return false
	}
	for _, o := range ls {
		if o != l && o.clients.Load() != 0 {
			return false
		}
	}
	return true
}

// block waits in epoll_wait, at most until the next sweep, and handles
// what it returns.
func (l *evloop) block() {
	wait := max(int(l.sweep.Sub(l.now)/time.Millisecond)+1, 0)
	n, err := unix.EpollWait(l.epfd, l.events[:], wait)
	l.now = time.Now()
	switch {
	case err != nil && err != unix.EINTR:
		l.p.log.Error("proxy event loop failed", "err", os.NewSyscallError("epoll_wait", err))
		l.quitting = true
	case n > 0:
		l.handle(n)
	}
}

// poll handles every event ready now. It reports false, to be called
// again once the epoll set is readable, when none was left; true when
// the loop has to sweep or stop.
func (l *evloop) poll(uintptr) bool {
	for {
		n, err := rawEpollWait(l.epfd, l.events[:])
		if n <= 0 {
			if err != nil && err != unix.EINTR {
				l.p.log.Error("proxy event loop failed", "err", os.NewSyscallError("epoll_wait", err))
				l.quitting = true
				return true
			}
			return false
		}
		l.now = time.Now()
		l.backlog = false
		l.handle(n)
		// A request timeout may have moved the sweep before the deadline
		// the poller was given.
		if l.quitting || !l.now.Before(l.sweep) || l.sweep.Before(l.armed) {
			return true
		}
		// Fewer events than asked for drained the ready list, and new
		// ones will make the epoll descriptor readable again; one more
		// epoll_wait would only come back empty. Not so for the
		// level-triggered listener with connections left after a burst:
		// it stays on the ready list without a new wake-up.
		if n < len(l.events) && !l.backlog {
			return false
		}
	}
}

func (l *evloop) handle(n int) {
	for i := range n {
		ev := &l.events[i]
		fd := int(ev.Fd)
		switch {
		case fd == l.wakefd && ev.Pad == 0:
			var buf [8]byte
			unix.Read(l.wakefd, buf[:])
			select {
			case <-l.quit:
				l.quitting = true
				continue
			default:
			}
			l.wakeMu.Lock()
			inbox := l.inbox
			l.inbox = nil
			l.wakeMu.Unlock()
			for _, a := range inbox {
				l.adopt(a.fd, a.ip)
			}
			if l.dirty.Swap(false) {
				l.checkBackends()
			}
			if l.p.retiring.Load() {
				l.retire()
			}
		case fd == l.lnfd && ev.Pad == 0 && !l.retired.Load():
			l.accept()
		case fd < len(l.fds) && l.fds[fd] != nil && l.fds[fd].serial() == ev.Pad:
			// The serial skips events of a descriptor closed and
			// reused earlier in this batch.
			l.fds[fd].event(l, ev.Events)
		}
	}
}

// accept takes new client connections until none is left or a burst is
// done; the listener is level-triggered, so the rest wakes a loop again.
func (l *evloop) accept() {
	l.backlog = true // unless accept4 says none is left
	for i := range loopAcceptBurst {
		// The listening socket's O_NONBLOCK belongs to its open file
		// description, shared with every process holding the socket
		// (berth's daemon, systemd, which clears the flag while it passes
		// the socket on): an accept4 on an empty queue may block. Only
		// this loop accepts, so a queue seen non-empty stays so.
		if i > 0 && !readable(l.lnfd) {
			l.backlog = false
			return
		}
		fd, sa, err := unix.Accept4(l.lnfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case err == nil:
		case err == unix.EAGAIN:
			l.backlog = false
			return
		case err == unix.EINTR || err == unix.ECONNABORTED:
			continue
		default:
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM) {
				// Out of descriptors is temporary: stop listening until
				// the next sweep rather than spin on a ready listener.
				l.p.log.Warn("proxy accept failed", "addr", l.p.ln.Addr(), "err", os.NewSyscallError("accept4", err), "retry_in", loopTick)
				unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.lnfd, nil)
				l.paused = true
			}
			l.backlog = false
			return
		}
		tuneTCP(fd, 15)
		to := l.pick()
		to.clients.Add(1)
		if to == l {
			l.adopt(fd, sockaddrIP(sa))
		} else {
			to.give(fd, sockaddrIP(sa))
		}
	}
}

// readable reports whether fd has a connection (or data) waiting now.
func readable(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0
}

// pick returns the loop with the fewest clients, l itself on a tie.
func (l *evloop) pick() *evloop {
	best, n := l, l.clients.Load()
	for _, o := range *l.p.loops.Load() {
		if m := o.clients.Load(); m < n {
			best, n = o, m
		}
	}
	return best
}

// give passes a new client connection, already counted, to l.
func (l *evloop) give(fd int, ip string) {
	l.wakeMu.Lock()
	defer l.wakeMu.Unlock()
	if l.wakeClosed {
		unix.Close(fd)
		return
	}
	l.inbox = append(l.inbox, accepted{fd, ip})
	var one = [8]byte{1}
	unix.Write(l.wakefd, one[:])
}

// adopt starts serving a new client connection, already counted.
func (l *evloop) adopt(fd int, ip string) {
	c := newLoopClient(fd, ip, l.nextSerial(), l.now)
	if err := l.register(fd, c); err != nil {
		unix.Close(fd)
		l.clients.Add(-1)
	}
}

// tuneTCP sets what Go sets on its TCP connections: no Nagle delay, and
// keep-alive probes after idle seconds.
func tuneTCP(fd, idle int) {
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, idle)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, idle)
}

func sockaddrIP(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.IP(a.Addr[:]).String()
	case *unix.SockaddrInet6:
		return net.IP(a.Addr[:]).String()
	}
	return ""
}

// checkBackends applies cuts and closeIdle calls of backends: pooled
// connections they made idle are closed, exchanges they cut fail.
func (l *evloop) checkBackends() {
	for b, list := range l.idle {
		epoch := b.idleEpoch.Load()
		keep := list[:0]
		for _, u := range list {
			if u.closed {
				continue
			}
			if u.epoch != epoch {
				l.closeUp(u)
				continue
			}
			keep = append(keep, u)
		}
		clear(list[len(keep):])
		if len(keep) == 0 {
			delete(l.idle, b)
		} else {
			l.idle[b] = keep
		}
	}
	for _, o := range l.fds {
		if c, ok := o.(*client); ok && c.ex.rt != nil && c.ex.rt.b.cuts.Load() != c.ex.gen {
			l.failExchange(c, false)
		}
	}
}

// sweepTimeouts closes idle and slow clients, and fails exchanges past
// the request timeout and dials past theirs.
func (l *evloop) sweepTimeouts() {
	l.sweep = l.now.Add(loopTick)
	if l.paused && !l.p.retiring.Load() && l.listen() == nil {
		l.paused = false
	}
	for _, o := range l.fds {
		switch x := o.(type) {
		case *client:
			switch {
			case x.ex.rt == nil:
				if !x.deadline.After(l.now) {
					l.closeClient(x)
				}
			case !x.ex.deadline.IsZero() && !x.ex.deadline.After(l.now):
				l.timeoutExchange(x)
			case !x.ex.deadline.IsZero() && x.ex.deadline.Before(l.sweep):
				l.sweep = x.ex.deadline
			}
		case *upconn:
			switch {
			case x.connecting && !x.deadline.After(l.now):
				l.upFailed(x)
			case x.c == nil && !x.deadline.After(l.now):
				l.closeUp(x) // idle too long; take and checkBackends skip it
			}
		}
	}
}

// shutdown closes every connection of the loop; requests in flight end.
func (l *evloop) shutdown() {
	for _, o := range l.fds {
		switch x := o.(type) {
		case *client:
			l.closeClient(x)
		case *upconn:
			l.closeUp(x)
		}
	}
	l.idle = nil
	l.closeFDs()
}

// fdConn turns a socket the loop let go of into a net.Conn of Go's own
// poller; the descriptor itself is closed.
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "")
	c, err := net.FileConn(f)
	f.Close()
	return c, err
}

// isTemporary reports whether a read or write would block.
func isTemporary(err error) bool {
	return err == syscall.EAGAIN || err == syscall.EINTR
}

// The loop's reads and writes never block: its sockets are non-blocking.
// They are made as raw system calls, which the scheduler does not see.
// Through syscall.Syscall, a write on loopback (which runs the receiving
// side's TCP stack too) often lasted long enough for the scheduler's
// monitor to hand the P to another thread and wake it back afterwards.

func rawRead(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawEpollWait(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
