// Command swarmagent is the agent of the Swarm export test: a static HTTP
// server on $PORT whose /up answers 500 when MODE=unhealthy, and its own
// health check (`swarmagent check`), so that a FROM scratch image can run
// an exec-form HEALTHCHECK.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(check(port))
	}
	http.HandleFunc("/up", func(w http.ResponseWriter, _ *http.Request) {
		if os.Getenv("MODE") == "unhealthy" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		fmt.Fprint(w, os.Getenv("VERSION"))
	})
	srv := &http.Server{Addr: ":" + port, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintln(os.Stderr, srv.ListenAndServe())
	os.Exit(1)
}

func check(port string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + port + "/up")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Println("status", resp.StatusCode)
		return 1
	}
	return 0
}
