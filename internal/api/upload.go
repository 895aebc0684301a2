package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/state"
	"github.com/berth-dev/berth/internal/upload"
)

// appNameRe is spec's rule for app names; checked here because the name
// of an upload's app becomes a directory before any spec is parsed.
// At most 40 bytes, checked apart (a counted repetition compiles into that
// many copies, at every start).
var appNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// store is the content store of the app the request names, or nil after
// answering 400.
func (s *Server) contentStore(w http.ResponseWriter, app string) *upload.Store {
	if len(app) > 40 || !appNameRe.MatchString(app) {
		badRequest(w, fmt.Sprintf("app name %q: use lower-case letters, digits and '-'", app))
		return nil
	}
	l, err := home.New(s.version.Home) // the daemon's home, as Version reports it
	if err != nil {
		writeError(w, err)
		return nil
	}
	st := upload.NewStore(l.AppDir(app))
	return &st
}

// objectsMissing answers which of the given contents the app's store lacks.
func (s *Server) objectsMissing(w http.ResponseWriter, r *http.Request) {
	st := s.contentStore(w, r.PathValue("app"))
	if st == nil {
		return
	}
	var req UploadCheck
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20)).Decode(&req); err != nil {
		badRequest(w, "decoding upload check: "+err.Error())
		return
	}
	missing, err := st.Missing(req.Hashes)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, UploadMissing{Missing: missing})
}

// objectsUpload stores the contents of a tar stream, each checked against
// its hash, up to a release's size limit.
func (s *Server) objectsUpload(w http.ResponseWriter, r *http.Request) {
	st := s.contentStore(w, r.PathValue("app"))
	if st == nil {
		return
	}
	n, b, err := st.Receive(r.Context(), r.Body, release.DefaultMaxBytes)
	if err != nil {
		badRequest(w, "receiving release contents: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, UploadStored{Objects: n, Bytes: b})
}

// deployUploaded assembles the uploaded release and deploys it like a
// local one; the installed release's manifest is kept so the store keeps
// its contents while the release exists, and the rest is pruned.
func (s *Server) deployUploaded(w http.ResponseWriter, r *http.Request, app string, req deploy.Request, m upload.Manifest) {
	st := s.contentStore(w, app)
	if st == nil {
		return
	}
	src, cleanup, err := st.Assemble(m)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	defer cleanup()
	req.Source = src
	s.stream(w, func(out deploy.ProgressFunc) (state.Deployment, error) {
		d, err := s.engine.Deploy(r.Context(), req, out)
		if d.Release != "" {
			if kerr := st.Keep(d.Release, m); kerr != nil {
				s.log.Warn("keeping upload manifest", "app", app, "err", kerr)
			}
		}
		if _, perr := st.Prune(time.Now()); perr != nil {
			s.log.Warn("pruning uploaded contents", "app", app, "err", perr)
		}
		return d, err
	})
}
