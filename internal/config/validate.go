package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// validate checks meaning after decoding. Each message says what is allowed
// or what to do.
func validate(doc *tomlconf.Doc, d *Daemon) {
	if d.Admin.Listen != "" {
		if err := checkListen(d.Admin.Listen); err != nil {
			doc.Fail("admin.listen", "%q: %v", d.Admin.Listen, err)
		}
	}
	seen := map[string]int{}
	for i := range d.Disk {
		path := fmt.Sprintf("disk[%d]", i)
		disk(doc, &d.Disk[i], path)
		if p := filepath.Clean(d.Disk[i].Path); d.Disk[i].Path != "" {
			if j, dup := seen[p]; dup {
				doc.Fail(path+".path", "%q is already watched by disk[%d]; merge the two", d.Disk[i].Path, j)
			} else {
				seen[p] = i
			}
		}
	}
	for i := range d.Alert {
		alert(doc, &d.Alert[i], fmt.Sprintf("alert[%d]", i))
	}
	front(doc, &d.Front)
}

func disk(doc *tomlconf.Doc, d *Disk, path string) {
	switch {
	case doc.Node(path+".path") == nil:
		doc.Fail(path+".path", `missing; add path = "/var/lib/berth" (any path on the filesystem to watch)`)
	case !filepath.IsAbs(d.Path):
		doc.Fail(path+".path", "%q is not absolute; write the full path, like \"/var/lib/berth\"", d.Path)
	}
	if d.Warn > 0 && d.Critical > 0 && d.Warn >= d.Critical {
		doc.Fail(path+".warn", "%v%% is not below critical (%v%%); warn must come first", float64(d.Warn), float64(d.Critical))
	}
	if d.InodesWarn > 0 && d.InodesCritical > 0 && d.InodesWarn >= d.InodesCritical {
		doc.Fail(path+".inodes_warn", "%v%% is not below inodes_critical (%v%%); warn must come first", float64(d.InodesWarn), float64(d.InodesCritical))
	}
	if d.WarnFree > 0 && d.CriticalFree > 0 && d.WarnFree <= d.CriticalFree {
		doc.Fail(path+".warn_free", "is not above critical_free; warn while more space is still free than at critical")
	}
	if d.Interval.Duration < time.Second {
		doc.Fail(path+".interval", "%v is too short; check at most once a second, like \"30s\"", d.Interval.Duration)
	}
	if d.For < 1 {
		doc.Fail(path+".for", "%d: use 1 or more consecutive checks (1 fires at the first breach)", d.For)
	}
	if d.Timeout.Duration <= 0 {
		doc.Fail(path+".timeout", "must be more than 0, like \"5s\"; it bounds how long a dead mount can hold a check")
	}
	if d.TimeToFull.Duration > 0 && d.Window.Duration < 2*d.Interval.Duration {
		doc.Fail(path+".window", "%v holds fewer than two checks (interval %v); the growth rate needs a longer window, like \"1h\"", d.Window.Duration, d.Interval.Duration)
	}
}

func alert(doc *tomlconf.Doc, a *Alert, path string) {
	t := doc.Node(path)
	switch {
	case t.Field("type") == nil:
		doc.Fail(path+".type", `missing; add type = "webhook", "file" or "exec"`)
	case a.Type == "journal":
		doc.Fail(path+".type", "the event journal always receives alerts; remove this [[alert]]")
	case a.Type == SinkWebhook:
		if t.Field("url") == nil {
			doc.Fail(path+".url", `missing; a webhook needs url = "https://hooks.example.com/..."`)
		} else if err := checkURL(a.URL); err != nil {
			doc.Fail(path+".url", "%q: %v", a.URL, err)
		}
	case a.Type == SinkFile:
		if t.Field("path") == nil {
			doc.Fail(path+".path", `missing; a file sink needs path = "/var/log/berth-alerts.jsonl"`)
		} else if !filepath.IsAbs(a.Path) {
			doc.Fail(path+".path", "%q is not absolute; write the full path", a.Path)
		}
	case a.Type == SinkExec:
		exec(doc, a, path, t)
	default:
		doc.OneOf(path+".type", "an alert sink", a.Type, SinkWebhook, SinkFile, SinkExec)
	}
	only := map[string]string{"url": SinkWebhook, "path": SinkFile, "command": SinkExec}
	for _, k := range []string{"url", "path", "command"} {
		if t.Field(k) != nil && a.Type != only[k] && !doc.Bad(path+".type") {
			doc.Fail(path+"."+k, "only %s sinks use %s; remove it or use type = %q", only[k], k, only[k])
		}
	}
	if a.Timeout.Duration <= 0 {
		doc.Fail(path+".timeout", "must be more than 0, like \"10s\"")
	}
	if a.Retries < 0 || a.Retries > 20 {
		doc.Fail(path+".retries", "%d: use 0 to 20 retries", a.Retries)
	}
	doc.OneOf(path+".min_severity", "a severity", a.MinSeverity, SeverityWarning, SeverityCritical)
}

func exec(doc *tomlconf.Doc, a *Alert, path string, t *tomlconf.Node) {
	switch {
	case t.Field("command") == nil || len(a.Command) == 0 || a.Command[0] == "":
		doc.Fail(path+".command", `an exec sink needs command = ["/usr/local/bin/page", "--team", "ops"] (argv, never run by a shell)`)
	case len(a.Command) == 1 && strings.ContainsAny(a.Command[0], " \t"):
		doc.Fail(path+".command", "%q looks like a shell line, but the command is an argv array never run by a shell; split it into its words", a.Command[0])
	}
	for i, arg := range a.Command {
		if strings.ContainsRune(arg, 0) {
			doc.Fail(fmt.Sprintf("%s.command[%d]", path, i), "contains a NUL byte, which cannot be passed to a program")
		}
	}
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL; write it like \"https://hooks.example.com/berth\"")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q is not supported; use http or https", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("has no host; write it like \"https://hooks.example.com/berth\"")
	}
	return nil
}

func checkListen(addr string) error {
	return checkAddr(addr, `write host:port, like "127.0.0.1:9100", or "" to turn the listener off`)
}

func checkHostPort(addr string) error { return checkAddr(addr, frontListenHelp) }

func checkAddr(addr, want string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not a host:port address; %s", want)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("%q is not an IP address; %s", host, want)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("the port must be a number from 1 to 65535; %s", want)
	}
	return nil
}
