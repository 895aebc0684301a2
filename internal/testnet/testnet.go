// Package testnet has network helpers for tests.
package testnet

import (
	"testing"

	"golang.org/x/sys/unix"
)

// RefusedPort returns a loopback port on which every dial is refused
// until the test ends. The port is held by a socket that is bound but
// never listens, so no other test's listener can take it over, as it
// could a port whose listener was closed (the kernel hands such a port
// out again).
func RefusedPort(t testing.TB) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}
