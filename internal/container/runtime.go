package container

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/berth-dev/berth/internal/container/engineapi"
	"github.com/berth-dev/berth/internal/runtime"
)

// Labels berth puts on its containers.
const (
	labelHome     = "berth.home"     // berth's home directory: homes sharing an engine never see each other's
	labelApp      = "berth.app"      // app name
	labelInstance = "berth.instance" // instance ID, "app.blue" or "app.blue.2"
	labelRelease  = "berth.release"  // release id
	labelImage    = "berth.image"    // the image reference the spec names
	labelSpec     = "berth.spec"     // the runtime.Instance as JSON, for re-adoption
)

// Config is what a Runtime needs.
type Config struct {
	Engine   string       // Docker or Podman
	Host     string       // the API address; "" = Host(Engine, os.Getenv)
	Home     string       // berth's home directory, the scope of List
	StateDir string       // where pinned image ids are kept (per app, per release)
	Logger   *slog.Logger // nil = slog.Default()
}

// Runtime runs instances as containers of one engine and supervises them:
// an exited container is started again by berth (damped, per the instance's
// restart policy; the engine's restart policy is "no", so the two never
// fight), and its output is copied into berth's own log file. It is safe
// for concurrent use; Close stops the supervision (never the containers).
type Runtime struct {
	engine, host, home, scope, state string
	cli                              *engineapi.Client
	log                              *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	sup     map[string]*supervised // by instance ID
	adopted bool
}

// New makes the runtime of cfg.Engine. It does not connect: a daemon starts
// whether the engine is up or not, and the first call that needs it says
// ErrUnreachable with where it looked. The containers of this home that the
// engine runs are re-adopted on first use.
func New(cfg Config) (*Runtime, error) {
	if cfg.Engine != Docker && cfg.Engine != Podman {
		return nil, fmt.Errorf("making a container runtime: unknown engine %q", cfg.Engine)
	}
	host := cfg.Host
	if host == "" {
		host = Host(cfg.Engine, os.Getenv)
	}
	cli, err := dial(host)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	sum := sha256.Sum256([]byte(filepath.Clean(cfg.Home)))
	ctx, cancel := context.WithCancel(context.Background())
	return &Runtime{
		engine: cfg.Engine, host: host, home: filepath.Clean(cfg.Home),
		scope: hex.EncodeToString(sum[:4]), state: cfg.StateDir,
		cli: cli, log: log.With("runtime", cfg.Engine),
		ctx: ctx, cancel: cancel, sup: map[string]*supervised{},
	}, nil
}

// Close stops supervising and following logs, and waits for it. The
// containers run on; the next Runtime re-adopts them.
func (r *Runtime) Close() error {
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sup {
		s.closeLog()
	}
	return r.cli.Close()
}

// name is the container's name: unique per home and instance.
func (r *Runtime) name(id string) string { return "berth-" + r.scope + "-" + id }

// Engine names the engine, "docker" or "podman".
func (r *Runtime) Engine() string { return r.engine }

// Host is the engine's API address this runtime talks to.
func (r *Runtime) Host() string { return r.host }

// Name is the container name of the instance id.
func (r *Runtime) Name(id string) string { return r.name(id) }

var _ runtime.Runtime = (*Runtime)(nil)
