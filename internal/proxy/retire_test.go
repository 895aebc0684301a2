package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A retiring proxy hands its socket over to another proxy serving a
// duplicate of it (as a new front does in berth upgrade): a request in
// flight on the old one finishes, keep-alive clients move over, and no
// request fails, on both lanes.
func TestRetireHandsOverWithoutFailing(t *testing.T) {
	for _, lane := range lanes {
		t.Run(lane, func(t *testing.T) {
			release := make(chan struct{})
			var once sync.Once
			free := func() { once.Do(func() { close(release) }) }
			back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					<-release
				}
				io.WriteString(w, "ok")
			}))
			defer back.Close()
			defer free() // before back.Close, should the test stop early
			target := Target{Name: "b", Addr: back.Listener.Addr().String()}
			old := startLane(t, Config{}, lane)
			old.Switch(target)
			c := &http.Client{Timeout: 10 * time.Second}
			url := "http://" + old.Addr().String()
			slow := make(chan error, 1)
			go func() { slow <- getBody(c, url+"/slow") }()
			waitInFlight(t, old, "b", 1)
			// Only now a second proxy serves the socket: the slow request is old's.
			f, err := duplicate(old.ln)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.FileListener(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			next := startLane(t, Config{Listen: old.Addr().String(), Listener: ln}, lane)
			next.Switch(target)

			retired := make(chan DrainResult, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				retired <- old.Retire(ctx)
			}()
			eventually(t, "the old proxy stops accepting", func() bool { return old.retiring.Load() })
			for i := 0; i < 50; i++ {
				if err := getBody(c, url+"/"); err != nil {
					t.Fatalf("request %d during the retire: %v", i, err)
				}
			}
			free()
			if err := <-slow; err != nil {
				t.Errorf("request in flight on the retiring proxy: %v", err)
			}
			if res := <-retired; res.Cut != 0 {
				t.Errorf("Retire = %+v, want nothing cut", res)
			}
			if err := getBody(c, url+"/"); err != nil {
				t.Errorf("after the retire: %v", err)
			}
			if st := next.Stats("b"); st.Requests == 0 {
				t.Errorf("the next proxy served no request: %+v", st)
			}
		})
	}
}

// duplicate returns a new descriptor of l's socket, as berth's processes
// hand each other (F_DUPFD_CLOEXEC, never File()).
func duplicate(l net.Listener) (*os.File, error) {
	rc, err := l.(*net.TCPListener).SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return os.NewFile(uintptr(nfd), "listener"), nil
}

func getBody(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && (resp.StatusCode != 200 || !strings.Contains(string(b), "ok")) {
		return &statusError{resp.StatusCode, string(b)}
	}
	return err
}

type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return http.StatusText(e.code) + ": " + e.body }

func waitInFlight(t *testing.T, p *Proxy, name string, n int64) {
	t.Helper()
	eventually(t, "a request in flight", func() bool { b := p.lookup(name); return b != nil && b.stats.inFlight.Load() >= n })
}
