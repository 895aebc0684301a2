// Command berth deploys and runs long-lived services on one Linux server
// without downtime. See README.md.
package main

import (
	"os"

	"github.com/berth-dev/berth/internal/cli"
)

// version may be stamped at build time with -ldflags "-X main.version=...";
// otherwise berth reports the module version and VCS revision Go recorded.
var version string

func main() {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	os.Exit(cli.Main(cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Args: os.Args[1:], Version: cli.BuildVersion(version), Exe: exe}))
}
