// Package api is the daemon's control API: HTTP+JSON over a unix socket whose
// file mode (0660) is the authentication, and the client the CLI uses.
// Long operations (deploy, rollback, restart) answer with a stream of JSON
// lines: progress first, the result last. Server and Client are safe for
// concurrent use.
package api

import (
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
	"github.com/berth-dev/berth/internal/upload"
)

// DeployRequest asks the daemon to deploy. Paths are absolute and read by the
// daemon, which runs on the same host.
type DeployRequest struct {
	SpecFile string `json:"spec_file"`
	Spec     []byte `json:"spec"`
	Source   string `json:"source,omitempty"` // directory or archive; "" = the spec's directory
	// Upload, from a client on another host, names the release by content
	// (uploaded first, see UploadCheck); Source is then ignored.
	Upload *upload.Manifest `json:"upload,omitempty"`
}

// UploadCheck asks which contents the app's store lacks.
type UploadCheck struct {
	Hashes []string `json:"hashes"`
}

// UploadMissing answers UploadCheck.
type UploadMissing struct {
	Missing []string `json:"missing"`
}

// UploadStored answers an upload of objects.
type UploadStored struct {
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
}

// RollbackRequest asks for a rollback, to a given release or the previous one.
type RollbackRequest struct {
	To string `json:"to,omitempty"`
}

// PauseRequest holds ("hold") or refuses ("refuse") new requests.
type PauseRequest struct {
	Mode string `json:"mode"`
}

// ScaleRequest is the body of POST /v1/apps/{app}/scale.
type ScaleRequest struct {
	Instances int `json:"instances"`
}

// AbortAnswer names the deployment an abort stopped.
type AbortAnswer struct {
	Deployment string `json:"deployment"`
}

// PromoteAnswer names the canary deployment and the step (1-based) that
// a promote ended.
type PromoteAnswer struct {
	Deployment string `json:"deployment"`
	Step       int    `json:"step"`
}

// RemoveAnswer says an app was removed, and whether its files went too.
type RemoveAnswer struct {
	App    string `json:"app"`
	Purged bool   `json:"purged"`
}

// StreamLine is one line of a streamed answer: progress, then one result.
type StreamLine struct {
	Progress *deploy.Progress  `json:"progress,omitempty"`
	Result   *state.Deployment `json:"result,omitempty"`
	Error    *Error            `json:"error,omitempty"`
}

// Error is the body of every failed request, and the error a stream ends with.
type Error struct {
	Code     string         `json:"code"` // not_found | busy | invalid_spec | failed | bad_request | conflict | missing_secret | internal
	Message  string         `json:"message"`
	Problems []spec.Problem `json:"problems,omitempty"`
}

// Error codes.
const (
	CodeNotFound    = "not_found"
	CodeBusy        = "busy"
	CodeInvalidSpec = "invalid_spec"
	CodeFailed      = "failed"
	CodeBadRequest  = "bad_request"
	CodeConflict    = "conflict" // the request came too late for the app's state
	CodeInternal    = "internal"
	// CodeMissingSecret refuses a deploy whose spec names secrets not set.
	CodeMissingSecret = "missing_secret"
)

func (e *Error) Error() string { return e.Message }

// Version answers /v1/version, the liveness check of the daemon itself.
type Version struct {
	Version string `json:"version"`
	Build   string `json:"build,omitempty"` // Go toolchain, platform, VCS revision
	PID     int    `json:"pid"`
	Home    string `json:"home"`
	Binary  string `json:"binary,omitempty"` // the executable the daemon runs
	// Front is the data-path process's version; nil when not asked or
	// unreachable (FrontError says why).
	Front      *PeerVersion `json:"front,omitempty"`
	FrontError string       `json:"front_error,omitempty"`
}

// PeerVersion is the version of another berth process of the home.
type PeerVersion struct {
	Version string `json:"version"`
	Build   string `json:"build,omitempty"`
	PID     int    `json:"pid"`
}
