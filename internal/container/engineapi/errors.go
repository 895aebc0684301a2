package engineapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Error is an answer of the engine with a status of 400 or more: the
// status and the engine's own message ("No such container: x").
type Error struct {
	Status  int
	Message string
}

// Error is the engine's message and the status.
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// IsNotFound reports whether err is the engine's 404: no such container,
// image or exec.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is the engine's 409: a name in use, a
// container running where it must not be, an image in use.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// readError makes the *Error of resp: the engine's JSON {"message": ...},
// or its text when the answer is not JSON.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{Status: resp.StatusCode}
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		e.Message = strings.TrimSpace(m.Message)
	} else {
		e.Message = strings.TrimSpace(string(b))
	}
	return e
}

// StreamError is an error the engine reported inside a progress stream
// (a pull or build that failed after it had started answering).
type StreamError struct {
	Message string
}

// Error is the engine's message.
func (e *StreamError) Error() string { return e.Message }
