package health

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/spec"
)

// portHint explains a gate that could not connect to the instance's port,
// for an app that ignores PORT: it names the port berth waited on and, when
// /proc shows it, where the instance's process tree listens instead. It
// returns "" when the failure is not a refused connection to t.Port.
func portHint(t Target, c spec.Check, lastErr string) string {
	if t.Port == 0 || (c.Type != spec.CheckTCP && c.Type != spec.CheckHTTP) || !strings.Contains(lastErr, "connection refused") {
		return ""
	}
	want := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	if t.PID <= 0 {
		return fmt.Sprintf("nothing accepts on %s, the port berth passes in PORT=%d: does the app bind to $PORT?", want, t.Port)
	}
	addrs := listening(t.PID)
	if len(addrs) == 0 {
		return fmt.Sprintf("the app (pid %d) listens on no TCP port; berth waited on %s (PORT=%d): bind to $PORT", t.PID, want, t.Port)
	}
	return fmt.Sprintf("the app listens on %s, not on PORT=%d (berth waited on %s): bind to $PORT", strings.Join(addrs, ", "), t.Port, want)
}

// listening returns the TCP addresses the process tree of pid listens on,
// read from /proc: the sockets its processes hold (/proc/PID/fd), matched
// against the listening sockets of its network namespace
// (/proc/PID/net/tcp, tcp6). It returns nil when /proc does not tell, e.g.
// for another user's process without privileges.
func listening(pid int) []string {
	inodes := map[string]bool{}
	for _, p := range processTree(pid) {
		socketInodes(p, inodes)
	}
	if len(inodes) == 0 {
		return nil
	}
	var out []string
	for _, f := range []string{"tcp", "tcp6"} {
		out = append(out, listeners(filepath.Join("/proc", strconv.Itoa(pid), "net", f), inodes)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// processTree is pid and its descendants, from the parent of each process
// in /proc.
func processTree(pid int) []int {
	children := map[int][]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if pp, ok := parentOf(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	tree := []int{pid}
	for i := 0; i < len(tree) && i < 4096; i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// parentOf reads a process's parent from /proc/PID/stat, whose second field
// (the command name, in parentheses) may itself hold spaces and ")".
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

// socketInodes adds the inodes of the sockets pid holds open.
func socketInodes(pid int, into map[string]bool) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, _ := os.ReadDir(dir)
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			into[strings.TrimSuffix(ino, "]")] = true
		}
	}
}

// tcpListen is the state of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// listeners returns the local addresses of the listening sockets in a
// /proc/net/tcp{,6} table whose inode is in inodes.
func listeners(path string, inodes map[string]bool) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != tcpListen || !inodes[fields[9]] {
			continue
		}
		if a, ok := procAddr(fields[1]); ok {
			out = append(out, a)
		}
	}
	return out
}

// procAddr decodes "0100007F:1388" (IPv4) or its 32-hex-digit IPv6 form:
// the address is in 32-bit words of host byte order, the port in hex.
func procAddr(s string) (string, bool) {
	host, port, ok := strings.Cut(s, ":")
	if !ok {
		return "", false
	}
	raw, err := hex.DecodeString(host)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", false
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.NativeEndian.Uint32(raw[i:]))
	}
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return "", false
	}
	return net.JoinHostPort(net.IP(raw).String(), strconv.FormatUint(p, 10)), true
}
