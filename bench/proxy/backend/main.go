// Command backend is the benchmark's app: a plain Go HTTP server that
// answers every request with a fixed ~100-byte body over keep-alive.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:9100", "address to serve on")
	flag.Parse()
	body := []byte(`{"ok":true,"service":"bench-backend","note":"a small fixed answer of about one hundred bytes."}` + "\n")
	size := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Content-Length"] = []string{size}
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
