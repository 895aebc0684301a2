package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

const heading = "## Proxy overhead"

// writeDoc replaces the "## Proxy overhead" section of path (up to the
// next "## " heading), creating the file or the section when missing, so
// other sections written by others stay as they are.
func writeDoc(path, table, verdict string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	section := heading + "\n\n" +
		"berth's HTTP proxy (`internal/proxy`) against no proxy, nginx and HAProxy, all in front of\n" +
		"the same small Go backend (about 100-byte answers, keep-alive), loaded with wrk over loopback.\n" +
		"nginx: `worker_processes auto`, upstream `keepalive 64`, HTTP/1.1 upstream, access log off.\n" +
		"HAProxy: http mode, `http-reuse always`. Both pass the client's Host and add X-Forwarded-For,\n" +
		"-Proto and -Host as berth does, so the backend parses the same request behind each proxy\n" +
		"(until 2026-11-25 nginx and HAProxy were set up to send three fields fewer than berth).\n" +
		"Measured " + time.Now().UTC().Format("2006-01-02") + ".\n\n" +
		"Caveat: the machine has 2 shared cores and wrk, the proxy and the backend all compete for\n" +
		"them (and other builds and tests may be running too), so absolute numbers are low and noisy;\n" +
		"compare the ratios within one run only.\n\n" +
		table + "\n```\n" + verdict + "\n```\n\n" +
		"Reproduce from the repository root: `go run ./bench/proxy` (about 4 minutes; installs\n" +
		"wrk, nginx-light and haproxy with apt-get when missing; `-rounds`, `-d`, `-doc` adjust it).\n"

	text := string(old)
	if text == "" {
		text = "# Benchmarks\n\n"
	}
	start := strings.Index(text, heading+"\n")
	if start < 0 {
		if !strings.HasSuffix(text, "\n\n") {
			text += "\n"
		}
		return write(path, text+section)
	}
	end := len(text)
	if i := strings.Index(text[start+len(heading):], "\n## "); i >= 0 {
		end = start + len(heading) + i + 1
		section += "\n"
	}
	return write(path, text[:start]+section+text[end:])
}

func write(path, text string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return nil
}
