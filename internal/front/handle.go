package front

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/berth-dev/berth/internal/proxy"
)

// handle answers one request; out are sockets to attach to the reply.
func (s *server) handle(req request, files []*os.File) (rep reply, out []*os.File) {
	if (req.Op != opRoute || !req.Listener) && req.Op != opSupervise {
		closeAll(files)
		files = nil
	}
	switch req.Op {
	case opInfo:
		return reply{Info: s.info, Routes: s.rs.states()}, nil
	case opRoute:
		return s.route(req, files), nil
	case opRemove:
		return s.result(s.rs.remove(req.App)), nil
	case opSupervise:
		return s.result(s.sup.supervise(req.Daemon, files)), nil
	case opRelease:
		s.sup.release(req.PID)
		return reply{}, nil
	case opDoor:
		if req.Door == nil {
			return errReply(codeBad, errors.New("door needs door")), nil
		}
		return s.result(s.rs.setDoor(*req.Door)), nil
	case opDoorStat:
		return reply{Hosts: s.rs.door.status()}, nil
	case opRetire:
		return s.result(s.retire(req.Budget)), nil
	case opPromote:
		return s.result(s.promote()), nil
	case opListeners:
		apps, socks, err := s.rs.sockets()
		if err != nil {
			return errReply(codeBad, err), nil
		}
		return reply{Apps: apps}, socks
	}
	r, err := s.rs.get(req.App)
	if err != nil {
		return s.result(err), nil
	}
	switch req.Op {
	case opSwitch:
		var prev proxy.Target
		err := s.rs.update(req.App, func(r *route) {
			prev = r.p.Switch(req.Target)
			r.state.Live, r.state.Set = req.Target, nil
		})
		rep = s.result(err)
		rep.Prev = prev
	case opSwitchSet:
		var prev proxy.Target
		err := s.rs.update(req.App, func(r *route) {
			prev = r.p.SwitchSet(req.Name, req.Members)
			r.state.Live, r.state.Set = r.p.Live(), req.Members
		})
		rep = s.result(err)
		rep.Prev = prev
	case opLive:
		rep.Live, rep.Set = r.p.Live(), r.p.LiveSet()
	case opStats:
		rep.Stats, rep.Epoch = r.p.Stats(req.Name), s.info.StartedAt.UnixNano()
	case opDrain:
		rep.Drain = s.drain(r, req)
	case opPause:
		m, ok := pauseMode(req.Mode)
		if !ok {
			return errReply(codeBad, fmt.Errorf("pause mode %q is neither hold nor refuse", req.Mode)), nil
		}
		rep = s.result(s.rs.update(req.App, func(r *route) { r.p.Pause(m); r.state.Pause = req.Mode }))
	case opResume:
		rep = s.result(s.rs.update(req.App, func(r *route) { r.p.Resume(); r.state.Pause = "" }))
	default:
		rep = errReply(codeBad, fmt.Errorf("unknown operation %q", req.Op))
	}
	return rep, nil
}

func (s *server) route(req request, files []*os.File) reply {
	if req.Spec == nil || req.App == "" {
		closeAll(files)
		return errReply(codeBad, errors.New("route needs app and spec"))
	}
	var passed *os.File
	if len(files) > 0 {
		passed = files[0]
		closeAll(files[1:])
	}
	created, err := s.rs.put(req.App, *req.Spec, passed)
	rep := s.result(err)
	rep.Created = created
	return rep
}

// drain drains r's target for at most the request's budget (none: until
// nothing is in flight). The drain belongs to the front: a client that
// hangs up (a daemon killed mid-drain) neither ends it early nor cuts the
// streams it waits for.
func (s *server) drain(r *route, req request) proxy.DrainResult {
	ctx := context.Background()
	if req.Budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Budget)
		defer cancel()
	}
	return r.p.Drain(ctx, req.Name)
}

func (s *server) result(err error) reply {
	switch {
	case err == nil:
		return reply{}
	case errors.Is(err, ErrNoRoute):
		return errReply(codeNotFound, err)
	case errors.Is(err, ErrConflict):
		return errReply(codeConflict, err)
	default:
		return errReply(codeListen, err)
	}
}
