package deploy

import (
	"net"
	"strconv"
	"testing"
)

// A listener on the same port of ::1 does not keep 127.0.0.1 from being
// bound, so it is not named as the holder; the one on 127.0.0.1 is.
func TestPortHolderIsTheLoopbackListener(t *testing.T) {
	other, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer other.Close()
	port := other.Addr().(*net.TCPAddr).Port
	if got := listeningInodes("/proc/net/tcp6", port); len(got) != 0 {
		t.Errorf("a listener on [::1]:%d counts as holding 127.0.0.1: %v", port, got)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Skipf("port %d of 127.0.0.1 is taken: %v", port, err)
	}
	defer l.Close()
	if got := listeningInodes("/proc/net/tcp", port); len(got) != 1 {
		t.Errorf("listeners holding 127.0.0.1:%d: %v, want the one", port, got)
	}
	if err := checkPortFree(port); err == nil {
		t.Errorf("port %d reported free while held", port)
	}
}
