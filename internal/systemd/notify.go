package systemd

import (
	"fmt"
	"net"
	"os"
)

// Notifier tells systemd about the service's state (sd_notify(3)), for
// Type=notify units. The zero value (or nil) is a no-op, as is a process
// that systemd did not start; it is safe for concurrent use.
type Notifier struct {
	addr string // NOTIFY_SOCKET; "" when there is none
}

// TakeNotify reads NOTIFY_SOCKET and unsets it, so that children (the
// keeper, agents) cannot speak for this service.
func TakeNotify() *Notifier {
	addr := os.Getenv("NOTIFY_SOCKET")
	_ = os.Unsetenv("NOTIFY_SOCKET")
	return &Notifier{addr: addr}
}

// Ready says the service is up: `systemctl start` and `restart` return.
func (n *Notifier) Ready() error { return n.send("READY=1") }

// Reloading says the service is reloading (here: re-executing itself
// in place); systemd shows the unit "reloading" until the next Ready.
func (n *Notifier) Reloading() error { return n.send("RELOADING=1") }

// Stopping says the service is shutting down.
func (n *Notifier) Stopping() error { return n.send("STOPPING=1") }

func (n *Notifier) send(state string) error {
	if n == nil || n.addr == "" {
		return nil
	}
	// A leading '@' is an abstract socket; Go's net package maps it.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notifying systemd (%s): %w", state, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("notifying systemd (%s): %w", state, err)
	}
	return nil
}
