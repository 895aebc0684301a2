// Command berthproxy runs berth's proxy in front of one backend, the way
// the daemon does for an app, so the benchmark measures the real code.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/berth-dev/berth/internal/proxy"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9200", "address to serve on")
	backend := flag.String("backend", "127.0.0.1:9100", "backend address")
	flag.Parse()
	p, err := proxy.New(proxy.Config{Listen: *listen, Protocol: "http"})
	if err != nil {
		log.Fatal(err)
	}
	p.Switch(proxy.Target{Name: "blue", Addr: *backend})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := p.Serve(ctx); err != nil {
		log.Fatal(err)
	}
}
