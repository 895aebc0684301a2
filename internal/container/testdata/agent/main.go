// Command agent is the sample agent as a static binary for FROM scratch
// test images: `agent` serves on $PORT, `agent selftest` asks it (an exec
// check run inside the container).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/berth-dev/berth/internal/sampleagent"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "selftest" {
		if err := sampleagent.SelfTest(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := sampleagent.Run(ctx, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
