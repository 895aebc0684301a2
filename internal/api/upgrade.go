package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// UpgradeRequest asks the daemon to replace berth's processes with the
// binary at Binary, a path on the daemon's machine.
type UpgradeRequest struct {
	Binary string        `json:"binary"`
	Budget time.Duration `json:"budget,omitempty"` // the old front's drain budget, ns (0: 30 s)
}

// UpgradeResult says what an upgrade did. The daemon re-executes into
// Binary right after answering, keeping DaemonPID.
type UpgradeResult struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Binary      string `json:"binary"` // the copy in <home>/bin
	DaemonPID   int    `json:"daemon_pid"`
	OldFrontPID int    `json:"old_front_pid"`
	FrontPID    int    `json:"front_pid"`
}

// Upgrader runs an upgrade. On success, then runs once the reply is
// written (the daemon ends and re-executes); on error nothing changed.
type Upgrader interface {
	Upgrade(ctx context.Context, req UpgradeRequest) (res UpgradeResult, then func(), err error)
}

type upgradeDeps struct {
	upgrader  Upgrader
	frontInfo func(context.Context) (PeerVersion, error)
}

// versionInfo answers /v1/version with the front's version too.
func (s *Server) versionInfo(w http.ResponseWriter, r *http.Request) {
	v := s.version
	if f := s.upgrade.frontInfo; f != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		fv, err := f(ctx)
		cancel()
		if err != nil {
			v.FrontError = err.Error()
		} else {
			v.Front = &fv
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) upgradeBinary(w http.ResponseWriter, r *http.Request) {
	if s.upgrade.upgrader == nil {
		writeJSON(w, http.StatusNotImplemented, &Error{Code: CodeBadRequest, Message: "this daemon cannot upgrade itself"})
		return
	}
	var req UpgradeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.Binary == "" {
		badRequest(w, "upgrade needs {\"binary\": \"/absolute/path\"}")
		return
	}
	res, then, err := s.upgrade.upgrader.Upgrade(r.Context(), req)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, &Error{Code: CodeFailed, Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	if then != nil {
		// After the handler: the server's Shutdown waits for it.
		context.AfterFunc(r.Context(), then)
	}
}

// Upgrade asks the daemon to upgrade to the binary at path (on the
// daemon's machine).
func (c *Client) Upgrade(ctx context.Context, req UpgradeRequest) (UpgradeResult, error) {
	var res UpgradeResult
	err := c.getJSON(ctx, http.MethodPost, "/v1/upgrade", req, &res)
	var e *Error
	if errors.As(err, &e) {
		return res, e
	}
	return res, err
}
