package main

import (
	"fmt"
	"os"
	"strings"
)

// writeDoc replaces the "## Deploys" and "## Memory" sections of o.doc (each
// up to the next "## " heading), adding them when missing, so sections
// written by others stay as they are.
func writeDoc(o *opts, res results, summary, caveat string) error {
	old, err := os.ReadFile(o.doc)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", o.doc, err)
	}
	cmd := "go run ./bench/deploy"
	if args := strings.Join(os.Args[1:], " "); args != "" {
		cmd += " " + args
	}
	repro := "Reproduce from the repository root: `" + cmd + "` (`-quick` for a short run, `-only deploys,rollback` " +
		"for some parts; installs wrk with apt-get when missing). Source: `bench/deploy`.\n"
	deploys := "## Deploys\n\n" +
		"berth deploying its own sample agent (`berth sample-agent`, a small Go HTTP server) on this machine, " +
		"through a real daemon, keeper and proxy in a temporary home, with the baselines measured in the same run.\n\n" +
		caveat + "\n\n" + summary + "\n" + strings.Join(res.deploys, "\n") + "\n" + repro
	memory := "## Memory\n\n" +
		"What berth itself (the daemon, the keeper and the front) costs while supervising agents.\n\n" +
		caveat + "\n\n" + strings.Join(res.memory, "\n") + "\n" + repro
	text := string(old)
	if text == "" {
		text = "# Benchmarks\n\n"
	}
	if len(res.deploys) > 0 {
		text = replaceSection(text, "## Deploys", deploys)
	}
	if len(res.memory) > 0 {
		text = replaceSection(text, "## Memory", memory)
	}
	tmp := o.doc + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, o.doc); err != nil {
		return fmt.Errorf("replacing %s: %w", o.doc, err)
	}
	fmt.Printf("wrote the %q and %q sections of %s\n", "## Deploys", "## Memory", o.doc)
	return nil
}

func replaceSection(text, heading, section string) string {
	start := strings.Index(text, heading+"\n")
	if start < 0 {
		if !strings.HasSuffix(text, "\n\n") {
			text += "\n"
		}
		return text + section
	}
	end := len(text)
	if i := strings.Index(text[start+len(heading):], "\n## "); i >= 0 {
		end = start + len(heading) + i + 1
		section += "\n"
	}
	return text[:start] + section + text[end:]
}
