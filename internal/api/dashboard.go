package api

import (
	"context"
	"net/http"

	"github.com/berth-dev/berth/internal/dashboard"
)

// LoginMinter mints one-time dashboard logins.
type LoginMinter interface {
	Mint(user string) (dashboard.Login, error)
}

// dashboardLogin mints a login URL for the unix user on the other end of
// the socket, whom the session then names in what it journals.
func (s *Server) dashboardLogin(w http.ResponseWriter, r *http.Request) {
	if s.dashboard == nil {
		writeJSON(w, http.StatusNotFound, &Error{Code: CodeNotFound, Message: "this daemon serves no dashboard"})
		return
	}
	l, err := s.dashboard.Mint(peerName(r.Context()))
	if err != nil {
		writeJSON(w, http.StatusConflict, &Error{Code: CodeConflict, Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// DashboardLogin asks the daemon for a one-time dashboard login URL.
func (c *Client) DashboardLogin(ctx context.Context) (dashboard.Login, error) {
	var out dashboard.Login
	return out, c.getJSON(ctx, http.MethodPost, "/v1/dashboard/login", struct{}{}, &out)
}
