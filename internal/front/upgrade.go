package front

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// nextSockName is the control socket of a front started to replace the
// running one, until it is promoted.
const nextSockName = "next.sock"

// promoteWait bounds how long a promoted front waits for the retired
// one to let go of front.lock.
const promoteWait = 5 * time.Second

// unlock lets go of front.lock.
func (s *server) unlock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// retire hands the home over to the next front, which already serves the
// same sockets: this front stops answering on front.sock, lets go of
// front.lock and its daemon registration, then every proxy stops
// accepting and drains for at most budget (0: 30 s) before the process
// exits. The table is frozen first: it belongs to the next front now.
func (s *server) retire(budget time.Duration) error {
	if budget <= 0 {
		budget = 30 * time.Second
	}
	s.rs.mu.Lock()
	old := s.rs.m
	s.rs.m, s.rs.frozen = map[string]*route{}, true
	s.rs.mu.Unlock()
	s.retired.Store(true)
	// Synchronously, before the reply: Close unlinks front.sock, which
	// must happen before the next front renames its socket there.
	s.ctl.Close()
	s.unlock()
	s.sup.close()
	s.log.Info("retiring: the next front serves; draining", "routes", len(old), "budget", budget)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	door := s.rs.door.retire(ctx) // before the proxies: it holds them
	s.wg.Go(func() {
		defer s.quit()
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() { <-door })
		for app, r := range old {
			wg.Go(func() {
				res := r.p.Retire(ctx)
				r.cancel()
				<-r.done
				r.sock.Close()
				s.log.Info("retired route", "app", app, "drained", res.Drained, "cut", res.Cut)
			})
		}
		wg.Wait()
		// Exiting before the next front is promoted would let the
		// daemon's watch start a third front on the free lock.
		s.waitPromoted(promoteWait + 5*time.Second)
	})
	return nil
}

// waitPromoted waits until front.pid names another process (the next
// front was promoted), for at most limit.
func (s *server) waitPromoted(limit time.Duration) {
	me := strconv.Itoa(os.Getpid())
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(s.runDir, pidName))
		if err == nil && strings.TrimSpace(string(b)) != me {
			return
		}
	}
	s.log.Warn("retired, but no front was promoted; exiting anyway")
}

// promote makes a next front the front of the home: it takes front.lock
// (the retired front let go of it), applies the table's latest live
// targets and pause states (a change may have reached the old front after
// this one started), moves its socket to front.sock and writes front.pid.
func (s *server) promote() error {
	s.mu.Lock()
	has := s.lock != nil
	s.mu.Unlock()
	if has {
		return nil // promoted already, or a front that never was a next one
	}
	path := filepath.Join(s.runDir, lockName)
	var lock *os.File
	var err error
	for deadline := time.Now().Add(promoteWait); ; {
		lock, err = lockFile(path)
		if !errors.Is(err, ErrRunning) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("promoting: %w", err)
	}
	s.mu.Lock()
	s.lock = lock
	s.mu.Unlock()
	if err := s.rs.sync(); err != nil {
		s.log.Warn("promoting: reading the latest routing table", "err", err)
	}
	if err := os.Rename(filepath.Join(s.runDir, nextSockName), filepath.Join(s.runDir, sockName)); err != nil {
		return fmt.Errorf("promoting: moving the control socket: %w", err)
	}
	s.log.Info("promoted: this front serves the home")
	return s.writePID()
}

// sync applies the persisted live target, set and pause state of every
// route this front serves on the same spec.
func (rs *routes) sync() error {
	states, _, err := loadTable(rs.path)
	if err != nil {
		return err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, st := range states {
		r := rs.m[st.App]
		if r == nil || !r.state.Spec.equal(st.Spec) {
			continue
		}
		if len(st.Set) > 0 {
			r.p.SwitchSet(st.Live.Name, st.Set)
		} else if r.p.Live() != st.Live {
			r.p.Switch(st.Live)
		}
		if m, ok := pauseMode(st.Pause); ok {
			r.p.Pause(m)
		} else if r.state.Pause != "" {
			r.p.Resume()
		}
		r.state = st
	}
	return nil
}

// Retire tells the front to hand over to the promoted next one (see
// Upgrade); it drains for at most budget and exits.
func (c *Client) Retire(ctx context.Context, budget time.Duration) error {
	_, _, err := c.call(ctx, request{Op: opRetire, Budget: budget}, nil)
	return err
}

// Promote makes a next front the home's front.
func (c *Client) Promote(ctx context.Context) error {
	_, _, err := c.call(ctx, request{Op: opPromote}, nil)
	return err
}
