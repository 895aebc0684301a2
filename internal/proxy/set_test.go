package proxy

import (
	"net"
	"net/http"
	"sync"
	"testing"
)

func members(ts ...Target) []Member {
	out := make([]Member, len(ts))
	for i, t := range ts {
		out[i] = Member{Target: t, Weight: 1}
	}
	return out
}

func TestSetSpreadsRequestsOverMembers(t *testing.T) {
	t.Parallel()
	for _, lane := range lanes {
		t.Run(lane, func(t *testing.T) {
			_, a := nameServer(t, "blue")
			_, b := nameServer(t, "blue.1")
			_, c := nameServer(t, "blue.2")
			p := startLane(t, Config{}, lane)
			p.SwitchSet("blue", members(a, b, c))
			if got := p.Live().Name; got != "blue" {
				t.Fatalf("Live().Name = %q, want the set's name", got)
			}
			cl := newClient(t)
			served := map[string]int{}
			const n = 300
			for range n {
				status, body, err := get(t, cl, p, "/")
				if err != nil || status != http.StatusOK {
					t.Fatalf("GET: %d %v", status, err)
				}
				served[body]++
			}
			// Sequential requests find every member idle: the rotating
			// start gives each a third.
			for _, name := range []string{"blue", "blue.1", "blue.2"} {
				if served[name] < n/4 {
					t.Errorf("served = %v: %s got fewer than a quarter", served, name)
				}
				if got := p.Stats(name).Requests; got != uint64(served[name]) {
					t.Errorf("Stats(%s).Requests = %d, served %d", name, got, served[name])
				}
			}
		})
	}
}

func TestSetPrefersTheMemberWithFewestInFlight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 16)
	slow := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		w.Write([]byte("slow"))
	}))
	_, fast := nameServer(t, "fast")
	p := startProxy(t, Config{})
	p.SwitchSet("app", members(Target{Name: "slow", Addr: slow}, fast))
	cl := newClient(t)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(release) // before Wait, also when the test fails
	// The fast member answers /slow at once; retry until one is held.
	held := 0
	for try := 0; held == 0 && try < 20; try++ {
		answered := make(chan struct{})
		wg.Go(func() { _, _, _ = get(t, cl, p, "/slow"); close(answered) })
		select {
		case <-entered:
			held = int(p.Stats("slow").InFlight)
		case <-answered:
		}
	}
	if held == 0 {
		t.Fatal("no request reached the slow member in 20 tries")
	}
	for range 50 {
		_, body, err := get(t, cl, p, "/")
		if err != nil {
			t.Fatal(err)
		}
		if body != "fast" {
			t.Fatalf("a request went to %q while it had %d in flight and fast had none", body, held)
		}
	}
}

func TestSetWeightZeroGetsNothingAndRefusedGoesToAnotherMember(t *testing.T) {
	t.Parallel()
	_, a := nameServer(t, "a")
	_, b := nameServer(t, "b")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := Target{Name: "dead", Addr: l.Addr().String()}
	l.Close() // nothing listens: every dial is refused
	p := startProxy(t, Config{})
	p.SwitchSet("app", []Member{{Target: a, Weight: 1}, {Target: b, Weight: 0}, {Target: dead, Weight: 1}})
	cl := newClient(t)
	for range 40 {
		status, body, err := get(t, cl, p, "/")
		if err != nil || status != http.StatusOK || body != "a" {
			t.Fatalf("GET = %d %q %v, want 200 from a", status, body, err)
		}
	}
	if s := p.Stats("dead"); s.Refused == 0 {
		t.Errorf("dead member was never tried: %+v", s)
	}
	if got := len(p.LiveSet()); got != 2 {
		t.Errorf("LiveSet has %d members, want the 2 of positive weight", got)
	}
}

func TestSetOfOneIsSwitch(t *testing.T) {
	t.Parallel()
	_, a := nameServer(t, "blue")
	_, g := nameServer(t, "green")
	p := startProxy(t, Config{})
	p.SwitchSet("blue", members(a))
	if p.live.Load().set != nil {
		t.Fatal("a set of one member with the set's name is not the single-target route")
	}
	if prev := p.SwitchSet("green", members(g)); prev != a {
		t.Fatalf("prev = %+v, want %+v", prev, a)
	}
	if got := p.LiveSet(); len(got) != 1 || got[0].Target != g {
		t.Fatalf("LiveSet = %+v", got)
	}
	p.SwitchSet("none", nil)
	if p.Live() != (Target{}) {
		t.Fatal("an empty set left a target live")
	}
}
