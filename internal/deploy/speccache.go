package deploy

import (
	"crypto/sha256"
	"sync"

	"github.com/berth-dev/berth/internal/spec"
)

// specCache keeps each app's parsed deployed spec, keyed by a hash of its
// file name and bytes, so the monitor's reconcile (every 2s) and status
// parse an app's TOML once per deploy instead of on every call. The *App it
// returns is shared: callers must not modify it. It is safe for concurrent
// use.
type specCache struct {
	mu sync.Mutex
	by map[string]parsedSpec // by app name
}

type parsedSpec struct {
	sum [sha256.Size]byte
	app *spec.App
	err error
}

func newSpecCache() *specCache { return &specCache{by: map[string]parsedSpec{}} }

// parse returns ParseSpec(file, data) for app, from the cache when the
// stored spec has not changed since the last call.
func (c *specCache) parse(app, file string, data []byte) (*spec.App, error) {
	h := sha256.New()
	h.Write([]byte(file))
	h.Write([]byte{0})
	h.Write(data)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	c.mu.Lock()
	p, ok := c.by[app]
	c.mu.Unlock()
	if ok && p.sum == sum {
		return p.app, p.err
	}
	a, err := ParseSpec(file, data)
	c.mu.Lock()
	c.by[app] = parsedSpec{sum: sum, app: a, err: err}
	c.mu.Unlock()
	return a, err
}
