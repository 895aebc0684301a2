package keeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
)

// eventsWait is how long GET /v1/events waits for an event before
// answering with none.
const eventsWait = 25 * time.Second

// maxBody bounds request bodies; an instance spec is a few KiB.
const maxBody = 1 << 20

func (k *keeper) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/keeper", k.handleInfo)
	mux.HandleFunc("GET /v1/instances", k.handleList)
	mux.HandleFunc("POST /v1/instances", k.handleStart)
	mux.HandleFunc("GET /v1/instances/{id}", k.handleStatus)
	mux.HandleFunc("POST /v1/instances/{id}/stop", k.handleStop)
	mux.HandleFunc("POST /v1/instances/{id}/restart", k.handleRestart)
	mux.HandleFunc("DELETE /v1/instances/{id}", k.handleRemove)
	mux.HandleFunc("GET /v1/events", k.handleEvents)
	return mux
}

func (k *keeper) handleInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, keeperInfo{PID: os.Getpid(), StartedAt: k.startedAt, Cgroups: k.cg.base != "", Recovery: k.recovery})
}

func (k *keeper) handleList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, k.list())
}

func (k *keeper) handleStart(w http.ResponseWriter, r *http.Request) {
	var wi wireInstance
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wi); err != nil {
		writeError(w, fmt.Errorf("%w: decoding instance: %w", ErrBadRequest, err))
		return
	}
	spec, err := fromWire(wi)
	if err != nil {
		writeError(w, fmt.Errorf("%w: %w", ErrBadRequest, err))
		return
	}
	st, err := k.start(spec)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, st)
}

func (k *keeper) handleStatus(w http.ResponseWriter, r *http.Request) {
	in, err := k.lookup(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, in.status())
}

func (k *keeper) handleStop(w http.ResponseWriter, r *http.Request) {
	st, err := k.stop(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (k *keeper) handleRestart(w http.ResponseWriter, r *http.Request) {
	st, err := k.restart(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (k *keeper) handleRemove(w http.ResponseWriter, r *http.Request) {
	if err := k.remove(r.PathValue("id")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (k *keeper) handleEvents(w http.ResponseWriter, r *http.Request) {
	after, err := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	if err != nil && r.URL.Query().Get("after") != "" {
		writeError(w, fmt.Errorf("%w: after: %w", ErrBadRequest, err))
		return
	}
	// Also end the wait when the keeper stops, so shutdown is not held up.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(k.ctx, cancel)()
	evs := k.events.after(ctx, after, eventsWait)
	if evs == nil {
		evs = []Event{}
	}
	writeJSON(w, http.StatusOK, eventsReply{Events: evs})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeError maps an error to its status and code; this is the only place
// where errors become HTTP.
func writeError(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, codeInternal
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		status, code = http.StatusNotFound, codeNotFound
	case errors.Is(err, runtime.ErrRunning):
		status, code = http.StatusConflict, codeRunning
	case errors.Is(err, ErrBadRequest):
		status, code = http.StatusBadRequest, codeBadRequest
	case errors.Is(err, ErrSpawn):
		status, code = http.StatusUnprocessableEntity, codeSpawn
	}
	var body wireError
	body.Error.Code, body.Error.Message = code, err.Error()
	writeJSON(w, status, body)
}
