package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/secrets"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// toError maps an engine error to the API's error and HTTP status: the one
// place where errors meet status codes.
func toError(err error) (*Error, int) {
	var se *spec.Errors
	switch {
	case errors.As(err, &se):
		return &Error{Code: CodeInvalidSpec, Message: err.Error(), Problems: se.Problems}, http.StatusUnprocessableEntity
	case errors.Is(err, secrets.ErrMissing):
		return &Error{Code: CodeMissingSecret, Message: err.Error()}, http.StatusPreconditionFailed
	case errors.Is(err, secrets.ErrInvalid):
		return &Error{Code: CodeBadRequest, Message: err.Error()}, http.StatusBadRequest
	case errors.Is(err, deploy.ErrBusy):
		return &Error{Code: CodeBusy, Message: err.Error()}, http.StatusConflict
	case errors.Is(err, deploy.ErrCommitted), errors.Is(err, deploy.ErrUndoing), errors.Is(err, deploy.ErrNotCanary):
		return &Error{Code: CodeConflict, Message: err.Error()}, http.StatusConflict
	case errors.Is(err, deploy.ErrUnknownApp), errors.Is(err, state.ErrNotFound), errors.Is(err, deploy.ErrNoPrevious),
		errors.Is(err, deploy.ErrNotRunning), errors.Is(err, deploy.ErrUnknownRelease), errors.Is(err, secrets.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: err.Error()}, http.StatusNotFound
	case errors.Is(err, deploy.ErrFailed):
		return &Error{Code: CodeFailed, Message: err.Error()}, http.StatusOK
	default:
		return &Error{Code: CodeInternal, Message: err.Error()}, http.StatusInternalServerError
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	e, status := toError(err)
	if status == http.StatusOK {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, e)
}

func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, &Error{Code: CodeBadRequest, Message: msg})
}
