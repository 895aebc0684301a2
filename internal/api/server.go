package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/secrets"
	"github.com/berth-dev/berth/internal/state"
)

// Server serves the control API.
type Server struct {
	engine  *deploy.Engine
	store   *state.Store
	logs    LogReader
	secrets secrets.Store
	version Version
	log     *slog.Logger
	srv     *http.Server
	upgrade upgradeDeps // upgrade.go

	dashboard LoginMinter
	checks    ChecksPauser
}

// Config holds a Server's dependencies.
type Config struct {
	Engine  *deploy.Engine
	Store   *state.Store
	Logs    LogReader
	Secrets secrets.Store // the home's secrets
	Version Version
	Logger  *slog.Logger

	// Dashboard mints dashboard logins; nil answers that there is none.
	Dashboard LoginMinter
	// Checks pauses the monitor's checks of an app.
	Checks ChecksPauser
	// Upgrader runs berth upgrade; nil refuses it. FrontInfo reports the
	// front's version for /v1/version; nil leaves it out.
	Upgrader  Upgrader
	FrontInfo func(context.Context) (PeerVersion, error)
}

// NewServer returns a Server; Serve runs it.
func NewServer(cfg Config) *Server {
	s := &Server{engine: cfg.Engine, store: cfg.Store, logs: cfg.Logs, secrets: cfg.Secrets, dashboard: cfg.Dashboard,
		checks: cfg.Checks, version: cfg.Version, log: cfg.Logger,
		upgrade: upgradeDeps{upgrader: cfg.Upgrader, frontInfo: cfg.FrontInfo}}
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       withPeer,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/version", s.versionInfo)
	m.HandleFunc("POST /v1/upgrade", s.upgradeBinary)
	m.HandleFunc("POST /v1/deploy", s.deploy)
	m.HandleFunc("POST /v1/apps/{app}/objects/missing", s.objectsMissing)
	m.HandleFunc("POST /v1/apps/{app}/objects", s.objectsUpload)
	m.HandleFunc("GET /v1/apps", s.status)
	m.HandleFunc("GET /v1/apps/{app}", s.status)
	m.HandleFunc("GET /v1/apps/{app}/history", s.history)
	m.HandleFunc("GET /v1/apps/{app}/live-set", s.liveSet)
	m.HandleFunc("GET /v1/apps/{app}/why", s.why)
	m.HandleFunc("POST /v1/apps/{app}/check", s.check)
	m.HandleFunc("GET /v1/apps/{app}/logs", s.readLogs)
	m.HandleFunc("POST /v1/apps/{app}/rollback", s.rollback)
	m.HandleFunc("POST /v1/apps/{app}/restart", s.restart)
	m.HandleFunc("POST /v1/apps/{app}/abort", s.abort)
	m.HandleFunc("POST /v1/apps/{app}/promote", s.promote)
	m.HandleFunc("DELETE /v1/apps/{app}", s.remove)
	m.HandleFunc("GET /v1/apps/{app}/attach", s.attach)
	m.HandleFunc("POST /v1/apps/{app}/start", s.control)
	m.HandleFunc("POST /v1/apps/{app}/stop", s.control)
	m.HandleFunc("POST /v1/apps/{app}/pause", s.control)
	m.HandleFunc("POST /v1/apps/{app}/resume", s.control)
	m.HandleFunc("POST /v1/apps/{app}/scale", s.scale)
	m.HandleFunc("GET /v1/events", s.events)
	m.HandleFunc("POST /v1/dashboard/login", s.dashboardLogin)
	m.HandleFunc("POST /v1/apps/{app}/checks/{what}", s.pauseChecks)
	s.secretRoutes(m)
	return m
}

// Serve answers on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	if err := s.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits for requests in flight, up to ctx.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

func (s *Server) deploy(w http.ResponseWriter, r *http.Request) {
	var req DeployRequest
	// A manifest of many files is larger than a spec: 64 MiB bounds it.
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&req); err != nil {
		badRequest(w, "decoding deploy request: "+err.Error())
		return
	}
	app, err := deploy.ParseSpec(req.SpecFile, req.Spec)
	if err != nil {
		writeError(w, err)
		return
	}
	dreq := deploy.Request{SpecFile: req.SpecFile, Spec: req.Spec, Source: req.Source, User: peerName(r.Context())}
	if req.Upload != nil {
		s.deployUploaded(w, r, app.Name, dreq, *req.Upload)
		return
	}
	s.stream(w, func(out deploy.ProgressFunc) (state.Deployment, error) {
		return s.engine.Deploy(r.Context(), dreq, out)
	})
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) {
	var req RollbackRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			badRequest(w, "decoding rollback request: "+err.Error())
			return
		}
	}
	s.stream(w, func(out deploy.ProgressFunc) (state.Deployment, error) {
		return s.engine.Rollback(r.Context(), r.PathValue("app"), req.To, peerName(r.Context()), out)
	})
}

func (s *Server) restart(w http.ResponseWriter, r *http.Request) {
	s.stream(w, func(out deploy.ProgressFunc) (state.Deployment, error) {
		return s.engine.Restart(r.Context(), r.PathValue("app"), peerName(r.Context()), out)
	})
}

// abort cancels the app's running deploy; the answer does not wait for
// the deploy to end (attach follows it).
func (s *Server) abort(w http.ResponseWriter, r *http.Request) {
	id, err := s.engine.Abort(r.PathValue("app"), peerName(r.Context()))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, AbortAnswer{Deployment: id})
}

// promote ends the running canary's current step now; the answer does not
// wait for the next step (attach follows it).
func (s *Server) promote(w http.ResponseWriter, r *http.Request) {
	id, step, err := s.engine.Promote(r.PathValue("app"), peerName(r.Context()))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, PromoteAnswer{Deployment: id, Step: step})
}

// remove takes the app out of berth (?purge=true: its files too).
func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	app := r.PathValue("app")
	purge, _ := strconv.ParseBool(r.URL.Query().Get("purge"))
	if err := s.engine.Remove(r.Context(), app, peerName(r.Context()), purge); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, RemoveAnswer{App: app, Purged: purge})
}

// attach streams the app's running deploy like the request that started
// it: the steps so far, then each new one, then the result.
func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	s.stream(w, func(out deploy.ProgressFunc) (state.Deployment, error) {
		return s.engine.Attach(r.Context(), r.PathValue("app"), out)
	})
}

// stream runs a long operation, sending its progress as JSON lines and its
// result (or error) as the last line.
func (s *Server) stream(w http.ResponseWriter, run func(deploy.ProgressFunc) (state.Deployment, error)) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	send := func(l StreamLine) {
		_ = enc.Encode(l) // a client that went away does not stop the deploy
		_ = rc.Flush()
	}
	d, err := run(func(p deploy.Progress) { send(StreamLine{Progress: &p}) })
	line := StreamLine{}
	if d.ID != "" {
		line.Result = &d
	}
	if err != nil {
		line.Error, _ = toError(err)
	}
	send(line)
}

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	app, user := r.PathValue("app"), peerName(r.Context())
	var err error
	switch action := r.URL.Path[len("/v1/apps/"+app+"/"):]; action {
	case "start":
		err = s.engine.Start(r.Context(), app, user)
	case "stop":
		err = s.engine.Stop(r.Context(), app, user)
	case "pause":
		var req PauseRequest
		if jerr := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); jerr != nil {
			badRequest(w, "decoding pause request: "+jerr.Error())
			return
		}
		if req.Mode == "" {
			req.Mode = "hold"
		}
		err = s.engine.Pause(app, req.Mode, user)
	case "resume":
		err = s.engine.Pause(app, "", user)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	s.status(w, r)
}

func (s *Server) scale(w http.ResponseWriter, r *http.Request) {
	var req ScaleRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		badRequest(w, "decoding scale request: "+err.Error())
		return
	}
	if err := s.engine.Scale(r.Context(), r.PathValue("app"), req.Instances, peerName(r.Context())); err != nil {
		writeError(w, err)
		return
	}
	s.status(w, r)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	apps, err := s.engine.Status(r.Context(), r.PathValue("app"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apps)
}

func (s *Server) liveSet(w http.ResponseWriter, r *http.Request) {
	set, err := s.engine.LiveSet(r.PathValue("app"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, set)
}

func (s *Server) why(w http.ResponseWriter, r *http.Request) {
	lines, err := s.engine.Why(r.Context(), r.PathValue("app"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, lines)
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	results, err := s.engine.CheckApp(r.Context(), r.PathValue("app"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, results)
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	ds, err := s.store.ListDeployments(r.PathValue("app"), limit)
	if err != nil {
		writeError(w, err)
		return
	}
	if len(ds) == 0 {
		if _, err := s.store.GetApp(r.PathValue("app")); errors.Is(err, state.ErrNotFound) {
			writeError(w, fmt.Errorf("%w: %s (deploy it first)", deploy.ErrUnknownApp, r.PathValue("app")))
			return
		}
		ds = []state.Deployment{}
	}
	writeJSON(w, http.StatusOK, ds)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	var evs []state.Event
	var err error
	if q.Get("tail") != "" {
		n, _ := strconv.Atoi(q.Get("tail"))
		evs, err = s.store.TailEvents(q.Get("app"), n)
	} else {
		evs, err = s.store.Events(q.Get("app"), after, limit)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if evs == nil {
		evs = []state.Event{}
	}
	writeJSON(w, http.StatusOK, evs)
}

// Listen creates the control socket at path with mode 0660 (owner and group
// only), replacing a stale socket left by a crashed daemon. As root the
// socket belongs to group SocketGroup (created when missing), so its
// members may run berth without sudo.
func Listen(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("a daemon already answers on %s", path)
	}
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("setting mode of %s: %w", path, err)
	}
	if os.Geteuid() == 0 {
		if err := giveToGroup(path); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}
