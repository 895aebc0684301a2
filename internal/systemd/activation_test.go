package systemd

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProxySocketGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, app, listen string
	}{
		{"berth-proxy-web.socket", "web", "127.0.0.1:8080"},
		{"berth-proxy-all.socket", "all", ":80"},
		{"berth-proxy-v6.socket", "v6", "[::1]:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := ProxySocket{App: tt.app, Listen: tt.listen}.Unit()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, u.Render())
		})
	}
}

func TestProxySocketRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, app, listen, want string
	}{
		{"host name", "web", "localhost:8080", "is not an IP address"},
		{"no port", "web", "127.0.0.1", "missing port"},
		{"colon in the name", "a:b", "127.0.0.1:8080", "not a plain app name"},
		{"newline in the name", "a\nb", "127.0.0.1:8080", "not a plain app name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ProxySocket{App: tt.app, Listen: tt.listen}.Unit()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want %q", err, tt.want)
			}
		})
	}
}

func TestParseListenEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		pid, n, names string
		wantN         int
		wantNames     []string
		wantErr       string
	}{
		{name: "none"},
		{name: "another process", pid: "7", n: "2", names: "a:b"},
		{name: "pid not a number", pid: "x", n: "1"},
		{name: "named", pid: "42", n: "2", names: "web:api", wantN: 2, wantNames: []string{"web", "api"}},
		{name: "unnamed", pid: "42", n: "1", wantN: 1, wantNames: []string{""}},
		{name: "count not a number", pid: "42", n: "two", wantErr: "not a count"},
		{name: "names do not match the count", pid: "42", n: "2", names: "web", wantErr: "1 names for 2 sockets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, names, err := parseListenEnv(tt.pid, tt.n, tt.names, 42)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || n != tt.wantN {
				t.Fatalf("= %d, %v; want %d", n, err, tt.wantN)
			}
			if diff := cmp.Diff(tt.wantNames, names); diff != "" && n > 0 {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSameAddr(t *testing.T) {
	t.Parallel()
	tcp := func(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }
	tests := []struct {
		name string
		want string
		got  net.Addr
		same bool
	}{
		{"same IPv4", "127.0.0.1:8080", tcp("127.0.0.1", 8080), true},
		{"other port", "127.0.0.1:8080", tcp("127.0.0.1", 8081), false},
		{"other address", "127.0.0.1:8080", tcp("10.0.0.1", 8080), false},
		{"all interfaces, systemd's [::]", ":8080", tcp("::", 8080), true},
		{"0.0.0.0 against [::]", "0.0.0.0:8080", tcp("::", 8080), true},
		{"all interfaces against one", ":8080", tcp("127.0.0.1", 8080), false},
		{"IPv6", "[::1]:8080", tcp("::1", 8080), true},
		{"host names never match", "localhost:8080", tcp("127.0.0.1", 8080), false},
		{"not tcp", "127.0.0.1:8080", &net.UnixAddr{Name: "/x", Net: "unix"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sameAddr(tt.want, tt.got); got != tt.same {
				t.Errorf("sameAddr(%q, %v) = %v; want %v", tt.want, tt.got, got, tt.same)
			}
		})
	}
}

func TestSocketsFind(t *testing.T) {
	t.Parallel()
	tcp := func(port int) net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port} }
	s := &Sockets{files: []passed{
		{name: "echo", addr: tcp(8080)},
		{name: "web", addr: tcp(8081)},
		{name: "hand-written.socket", addr: tcp(9000)},
		{name: "", addr: tcp(9001)},
		{name: "udp", addr: nil},
	}}
	tests := []struct {
		name, app, addr string
		want            string // the name found; "-" for none
		wantErr         bool
	}{
		{"by name", "web", "127.0.0.1:8081", "web", false},
		{"named for the app, on another address", "web", "127.0.0.1:8090", "-", true},
		{"another app's socket on the same address is not taken", "web2", "127.0.0.1:8080", "-", false},
		{"an unnamed socket by address", "api", "127.0.0.1:9000", "hand-written.socket", false},
		{"a socket with an empty name by address", "api", "127.0.0.1:9001", "", false},
		{"nothing there", "api", "127.0.0.1:9999", "-", false},
		{"not a listener", "udp", "127.0.0.1:53", "-", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := s.find(tt.app, tt.addr)
			got := "-"
			if f != nil {
				got = f.name
			}
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("find(%q, %q) = %q, %v; want %q (error %v)", tt.app, tt.addr, got, err, tt.want, tt.wantErr)
			}
		})
	}
	var none *Sockets
	if l, err := none.Listener("web", "127.0.0.1:8081"); l != nil || err != nil || none.Len() != 0 {
		t.Errorf("nil Sockets: %v, %v", l, err)
	}
}

// activationChildEnv makes TestTakeSockets's child run the adopting side.
const activationChildEnv = "BERTH_TEST_ACTIVATION_CHILD"

// TestTakeSockets passes two real listening sockets to a child process the
// way systemd does (fds 3 and 4, LISTEN_PID set by the shell that execs
// the child, so it is the child's own pid), and checks that the child adopts
// them by name and by address, hides the variables from its own children,
// and that connections made before and after the child adopts them are
// served: the sockets are the parent's, as they would be systemd's.
func TestTakeSockets(t *testing.T) {
	if os.Getenv(activationChildEnv) == "1" {
		activationChild()
		return
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to exec the child with its own pid in LISTEN_PID")
	}
	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	files := make([]*os.File, 2)
	for i, l := range []net.Listener{web, other} {
		if files[i], err = l.(*net.TCPListener).File(); err != nil {
			t.Fatal(err)
		}
		defer files[i].Close()
	}
	// A client connects before the child exists: it waits in the backlog.
	early, err := net.Dial("tcp", web.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()

	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ exec "$0" -test.run '^TestTakeSockets$'`, os.Args[0])
	cmd.Env = append(os.Environ(), activationChildEnv+"=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=web:",
		"WEB_ADDR="+web.Addr().String(), "OTHER_ADDR="+other.Addr().String())
	cmd.ExtraFiles = files
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	late, err := net.Dial("tcp", other.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	// The child answers each connection with a line naming its listener.
	read := func(c net.Conn) string {
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		b, _ := io.ReadAll(c)
		return strings.TrimSpace(string(b))
	}
	if got := read(early); got != "web" {
		t.Errorf("the connection made before adoption got %q; want web", got)
	}
	if got := read(late); got != "other" {
		t.Errorf("the connection to the unnamed socket got %q; want other", got)
	}
	out, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "CHILD OK") {
		t.Errorf("child output:\n%s", out)
	}
}

// activationChild is the adopting side of TestTakeSockets.
func activationChild() {
	fail := func(format string, a ...any) {
		fmt.Printf("CHILD FAIL: "+format+"\n", a...)
		os.Exit(1)
	}
	s, err := TakeSockets()
	if err != nil {
		fail("TakeSockets: %v", err)
	}
	if s.Len() != 2 {
		fail("Len = %d; want 2", s.Len())
	}
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		if v, ok := os.LookupEnv(k); ok {
			fail("%s=%q is still set: children would inherit it", k, v)
		}
	}
	// sh opens nothing at 3 and 4 itself: a socket there was inherited.
	out, _ := exec.Command("sh", "-c", "readlink /proc/$$/fd/3 /proc/$$/fd/4").Output()
	if strings.Contains(string(out), "socket:") {
		fail("a child inherited the sockets: %s", out)
	}
	// By name, twice (each call a duplicate), and the mismatch error.
	web1, err := s.Listener("web", os.Getenv("WEB_ADDR"))
	if err != nil || web1 == nil {
		fail("Listener(web) = %v, %v", web1, err)
	}
	web2, err := s.Listener("web", os.Getenv("WEB_ADDR"))
	if err != nil || web2 == nil {
		fail("second Listener(web) = %v, %v", web2, err)
	}
	_ = web2.Close() // closing one duplicate leaves the other serving
	if _, err := s.Listener("web", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "run berth provision again") {
		fail("Listener(web) on another address: %v; want ErrSocketMismatch", err)
	}
	// By address, for a socket without a name.
	oth, err := s.Listener("api", os.Getenv("OTHER_ADDR"))
	if err != nil || oth == nil {
		fail("Listener(api) by address = %v, %v", oth, err)
	}
	if l, err := s.Listener("none", "127.0.0.1:1"); l != nil || err != nil {
		fail("Listener for an unknown app = %v, %v; want nil, nil", l, err)
	}
	for _, x := range []struct {
		name string
		l    net.Listener
	}{{"web", web1}, {"other", oth}} {
		c, err := x.l.Accept()
		if err != nil {
			fail("accepting on %s: %v", x.name, err)
		}
		fmt.Fprintln(c, x.name)
		_ = c.Close()
		_ = x.l.Close()
	}
	fmt.Println("CHILD OK", strconv.Itoa(os.Getpid()))
}

// TestNotifier sends to a real unixgram socket, as systemd's would be.
func TestNotifier(t *testing.T) {
	dir := t.TempDir()
	addr := dir + "/notify"
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", addr)
	n := TakeNotify()
	if v, ok := os.LookupEnv("NOTIFY_SOCKET"); ok {
		t.Errorf("NOTIFY_SOCKET=%q still set: children would inherit it", v)
	}
	for _, send := range []struct {
		f    func() error
		want string
	}{{n.Ready, "READY=1"}, {n.Stopping, "STOPPING=1"}} {
		if err := send.f(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := conn.Read(buf)
		if err != nil || string(buf[:k]) != send.want {
			t.Errorf("systemd got %q, %v; want %q", buf[:k], err, send.want)
		}
	}
	var none *Notifier
	if err := none.Ready(); err != nil {
		t.Errorf("nil Notifier: %v", err)
	}
	if err := (&Notifier{}).Ready(); err != nil {
		t.Errorf("no NOTIFY_SOCKET: %v", err)
	}
}
