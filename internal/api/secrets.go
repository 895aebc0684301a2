package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/berth-dev/berth/internal/secrets"
	"github.com/berth-dev/berth/internal/state"
)

// SecretList answers GET /v1/apps/{app}/secrets: names, sizes and change
// times, never values.
type SecretList struct {
	App     string         `json:"app"`
	Secrets []secrets.Info `json:"secrets"`
}

// secretRoutes adds the secrets endpoints. A value travels only in the body
// of a PUT; no answer, event or log line carries one.
func (s *Server) secretRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /v1/apps/{app}/secrets", s.listSecrets)
	m.HandleFunc("PUT /v1/apps/{app}/secrets/{name}", s.setSecret)
	m.HandleFunc("DELETE /v1/apps/{app}/secrets/{name}", s.removeSecret)
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) {
	app := r.PathValue("app")
	list, err := s.secrets.List(app)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, SecretList{App: app, Secrets: list})
}

func (s *Server) setSecret(w http.ResponseWriter, r *http.Request) {
	app, name := r.PathValue("app"), r.PathValue("name")
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, secrets.MaxSize+1))
	if err != nil {
		badRequest(w, fmt.Sprintf("reading the value: %v (at most %d bytes)", err, secrets.MaxSize))
		return
	}
	info, err := s.secrets.Set(app, name, value)
	clear(value)
	if err != nil {
		writeError(w, err)
		return
	}
	s.secretEvent(app, "secret.set", fmt.Sprintf("secret %s set (%d bytes) by %s; running instances keep the old value until berth restart %s", name, info.Size, peerName(r.Context()), app))
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) removeSecret(w http.ResponseWriter, r *http.Request) {
	app, name := r.PathValue("app"), r.PathValue("name")
	if err := s.secrets.Remove(app, name); err != nil {
		writeError(w, err)
		return
	}
	s.secretEvent(app, "secret.removed", fmt.Sprintf("secret %s removed by %s", name, peerName(r.Context())))
	writeJSON(w, http.StatusOK, map[string]string{"app": app, "removed": name})
}

// secretEvent journals who changed which secret (the name, never the value).
func (s *Server) secretEvent(app, kind, msg string) {
	if _, err := s.store.AddEvent(state.Event{Time: time.Now(), App: app, Kind: kind, Message: msg}); err != nil {
		s.log.Error("recording event", "app", app, "err", err)
	}
}

// Secrets lists app's secrets.
func (c *Client) Secrets(ctx context.Context, app string) (SecretList, error) {
	var out SecretList
	err := c.getJSON(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app)+"/secrets", nil, &out)
	return out, err
}

// SetSecret stores value as app's secret name. The value goes in the body
// of the request only.
func (c *Client) SetSecret(ctx context.Context, app, name string, value []byte) (secrets.Info, error) {
	var out secrets.Info
	err := c.getJSON(ctx, http.MethodPut, "/v1/apps/"+url.PathEscape(app)+"/secrets/"+url.PathEscape(name), rawBody(value), &out)
	return out, err
}

// RemoveSecret deletes app's secret name.
func (c *Client) RemoveSecret(ctx context.Context, app, name string) error {
	var out map[string]string
	return c.getJSON(ctx, http.MethodDelete, "/v1/apps/"+url.PathEscape(app)+"/secrets/"+url.PathEscape(name), nil, &out)
}

// rawBody is a request body sent as is rather than as JSON.
type rawBody []byte
