// Package front is berth's data path as a process of its own: `berth front`
// owns every app's listening socket and *proxy.Proxy, so the daemon can
// crash, restart or be upgraded while traffic flows. The daemon steers it
// over a unix socket (docs/front-protocol.md): create or replace a route,
// switch its live target, drain, pause, read numbers, remove. The front
// persists its routing table atomically, so a restarted front serves the
// same live targets at once, and it hands its listening sockets to its
// peers over SCM_RIGHTS so another berth process always holds a duplicate.
//
// This package holds the process (Serve), its client (Client, Route) and
// the way a daemon starts one (Ensure).
package front
