package proxy

import "time"

// The timeout policy of client connections, one for every path that
// serves them: the event loops, the lane, net/http's server here and the
// front door's. None cuts a response while its bytes flow (an agent's
// LLM call may answer for minutes); the request timeout of a route is its
// own (Config.RequestTimeout).
const (
	// HeaderTimeout bounds reading the rest of a request head once its
	// first byte arrived: the bound against slowloris.
	HeaderTimeout = 30 * time.Second
	// IdleTimeout closes a keep-alive client connection that sent no
	// request for that long.
	IdleTimeout = 2 * time.Minute
	// RetireQuiet is how long a retiring server leaves an idle keep-alive
	// connection open before it closes it: closing races with a request
	// the client may be sending, which clients that do not retry (Python's
	// http.client, curl) would fail; a connection that sends again within
	// it gets an answer saying Connection: close instead.
	RetireQuiet = 500 * time.Millisecond
)
