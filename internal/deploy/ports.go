package deploy

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// ErrPortBusy is returned when an instance's port is held by someone else.
var ErrPortBusy = errors.New("port in use")

// portFor returns the port of app's instance id: pinned by the spec (one
// instance per color), else the one allocated before, else a new free one
// (recorded by the caller).
func portFor(app *spec.App, st state.App, id instance.ID) (int, error) {
	if app.Service == nil {
		return 0, nil
	}
	if len(app.Deploy.Ports) == 2 && id.Index == 0 {
		if id.Color == Blue {
			return app.Deploy.Ports[0], nil
		}
		return app.Deploy.Ports[1], nil
	}
	if p, ok := st.Ports[id.Slot()]; ok && p != 0 {
		return p, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("allocating a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree fails with the holder's name when port is taken on loopback.
func checkPortFree(port int) error {
	if port == 0 {
		return nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err == nil {
		return l.Close()
	}
	if holder := portHolder(port); holder != "" {
		return fmt.Errorf("%w: %d is held by %s", ErrPortBusy, port, holder)
	}
	return fmt.Errorf("%w: %d: %v", ErrPortBusy, port, err)
}

// portHolder names the process listening on port ("pid 123 (nginx)"), or ""
// when the system does not tell (another user's process without root).
func portHolder(port int) string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, ino := range listeningInodes(f, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pid := strings.Split(fd, "/")[2]
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			return fmt.Sprintf("pid %s (%s)", pid, strings.TrimSpace(string(comm)))
		}
	}
	return ""
}

// listeningInodes reads a /proc/net/tcp table for sockets in LISTEN state on
// port and returns their inodes.
func listeningInodes(table string, port int) []string {
	f, err := os.Open(table)
	if err != nil {
		return nil
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		// sl local_address rem_address st ... inode is field 9; 0A is LISTEN.
		if len(fields) > 9 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" &&
			holdsLoopback(strings.TrimSuffix(fields[1], want)) {
			out = append(out, fields[9])
		}
	}
	return out
}

// holdsLoopback says whether a listener on the /proc/net/tcp{,6} address
// hex keeps 127.0.0.1 from being bound on its port: 127.0.0.1 itself or a
// wildcard. Another process may listen on the same port on ::1 or
// 127.0.0.2 without being the holder (seen: the message named such a
// process instead of the one that held 127.0.0.1).
func holdsLoopback(hex string) bool {
	switch hex {
	case "0100007F", "00000000", // 127.0.0.1, 0.0.0.0
		"00000000000000000000000000000000", // ::
		"0000000000000000FFFF00000100007F": // ::ffff:127.0.0.1
		return true
	}
	return false
}
