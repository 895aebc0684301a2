package logs

import (
	"fmt"
	"strings"
	"time"
)

// LogrotateStanza returns a logrotate(8) configuration stanza that rotates
// paths by opt, for log files berth does not write itself (files an agent
// opens on its own); berth rotates its own logs and they must not be listed
// in logrotate too. user ("name" or "name:group") is who owns the files;
// logrotate then rotates as that user (su) and creates the new file for it.
//
// Without copytruncate, logrotate renames the file and the program must
// reopen its log (usually on a signal; add a postrotate script for it) or
// it keeps writing into the renamed file. copytruncate avoids the reopen
// but loses every line written between the copy and the truncate, so it is
// only emitted when asked for.
//
// MaxAge maps to logrotate's interval (hourly, daily, weekly, monthly) and
// MaxSize to size (alone) or maxsize (with an interval). MaxTotal, OnFull and
// MaxLine have no logrotate equivalent and are noted in a comment. Paths
// that logrotate cannot parse (quotes, braces, newlines) are left out and
// counted in a comment. The result does not depend on the host; safe for
// concurrent use.
func LogrotateStanza(paths []string, opt Options, user string, copytruncate bool) string {
	var b strings.Builder
	b.WriteString("# Written by berth logrotate-config, for files berth does not write itself.\n")
	var quoted []string
	skipped := 0
	for _, p := range paths {
		if p == "" || strings.ContainsAny(p, "\"'{}\n\r\\#") {
			skipped++
			continue
		}
		quoted = append(quoted, `"`+p+`"`)
	}
	if skipped > 0 {
		fmt.Fprintf(&b, "# %d path(s) left out: logrotate cannot parse quotes, braces, backslashes, '#' or newlines in a path.\n", skipped)
	}
	if opt.MaxTotal > 0 {
		fmt.Fprintf(&b, "# max_total (%d bytes) has no logrotate equivalent; size x rotate bounds the total instead.\n", opt.MaxTotal)
	}
	if len(quoted) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "%s {\n", strings.Join(quoted, " "))
	line := func(format string, a ...any) { fmt.Fprintf(&b, "    "+format+"\n", a...) }
	interval := logrotateInterval(opt.MaxAge)
	if interval == "hourly" {
		line("# hourly needs logrotate run every hour (the usual cron/timer runs it daily).")
	}
	switch {
	case interval != "" && opt.MaxSize > 0:
		line(interval)
		line("maxsize %d", opt.MaxSize)
	case interval != "":
		line(interval)
	case opt.MaxSize > 0:
		line("size %d", opt.MaxSize)
	}
	keep := opt.Keep
	if keep < 0 {
		keep = -1 // logrotate: never remove old files
	}
	line("rotate %d", keep)
	if opt.Compress {
		line("compress")
		line("# the newest rotated file stays plain: the program may still be writing to it until it reopens.")
		line("delaycompress")
	}
	line("missingok")
	line("notifempty")
	if name, group := splitUser(user); name != "" {
		line("su %s %s", name, group)
		if !copytruncate {
			line("create 0640 %s %s", name, group)
		}
	}
	if copytruncate {
		line("# copytruncate: lines written between the copy and the truncate are lost.")
		line("copytruncate")
	} else {
		line("# no copytruncate: the program must reopen its log file after rotation (add a postrotate that signals it).")
	}
	b.WriteString("}\n")
	return b.String()
}

// logrotateInterval is the coarsest logrotate interval no longer than age.
func logrotateInterval(age time.Duration) string {
	switch {
	case age <= 0:
		return ""
	case age < 24*time.Hour:
		return "hourly"
	case age < 7*24*time.Hour:
		return "daily"
	case age < 30*24*time.Hour:
		return "weekly"
	default:
		return "monthly"
	}
}

// splitUser splits "name:group"; a bare name uses the group of the same
// name, as useradd creates it by default.
func splitUser(user string) (string, string) {
	if strings.ContainsAny(user, " \t\n\r\"{}#") {
		return "", ""
	}
	name, group, ok := strings.Cut(user, ":")
	if !ok || group == "" {
		group = name
	}
	return name, group
}
