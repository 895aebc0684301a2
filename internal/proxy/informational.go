package proxy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"
)

// A backend's 1xx answers on the Transport path. 103 Early Hints and the
// like reach the client as they arrive, before the final answer.
//
// 100 Continue is answered per hop: net/http's server sends the client
// its 100 when the proxy first reads the request body, and the proxy
// reads it only once the backend sent its own 100 (or continueWait
// passed), so an app that refuses a body unread (413, 401) spares the
// client the upload.

// continueWait is how long a request with Expect: 100-continue waits for
// the backend's 100 before its body is sent anyway, for backends that
// ignore Expect; Go's client and curl wait as long.
const continueWait = time.Second

// wantsEarlyHints reports a browser navigation, the request browsers act
// on 103 Early Hints for; navigations take the Transport path. The lane
// and forwardFast (handlerEarly) relay 1xx answers themselves.
func wantsEarlyHints(r *http.Request) bool {
	v := r.Header["Sec-Fetch-Mode"]
	return len(v) == 1 && v[0] == "navigate"
}

// informer relays the 1xx answers of one round trip to the client.
type informer struct {
	trace httptrace.ClientTrace
	w     http.ResponseWriter
	pass  bool // the client may get 1xx answers: HTTP/1.1 or later

	mu   sync.Mutex
	done bool          // the round trip returned: w is the handler's again
	cont chan struct{} // closed at the backend's 100; nil without Expect
}

func newInformer(w http.ResponseWriter, r *http.Request) *informer {
	in := &informer{w: w, pass: r.ProtoAtLeast(1, 1)}
	if r.ContentLength != 0 && headerHasToken(r.Header, "Expect", "100-continue") {
		in.cont = make(chan struct{})
	}
	in.trace.Got1xxResponse = in.got1xx
	return in
}

// gate holds body back until the backend asked for it, if the client
// sent Expect: 100-continue.
func (in *informer) gate(body io.ReadCloser, stop <-chan struct{}) io.ReadCloser {
	if in.cont == nil || body == nil {
		return body
	}
	return &continueBody{ReadCloser: body, cont: in.cont, stop: stop}
}

// got1xx runs on the Transport's read goroutine while the handler waits
// in RoundTrip.
func (in *informer) got1xx(code int, h textproto.MIMEHeader) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if code == http.StatusContinue {
		if in.cont != nil {
			close(in.cont)
			in.cont = nil
		}
		return nil
	}
	if in.done || !in.pass {
		return nil
	}
	hh := http.Header(h)
	removeHopHeaders(hh)
	wh := in.w.Header()
	for k, vv := range hh {
		wh[k] = vv
	}
	in.w.WriteHeader(code)
	// A 1xx does not clear the header map; the final answer has its own.
	for k := range hh {
		delete(wh, k)
	}
	return nil
}

// handlerEarly relays the 1xx answers forwardFast reads, on the handler's
// own goroutine, as got1xx does for the Transport: 100 stays per hop.
type handlerEarly struct{ w http.ResponseWriter }

func (e handlerEarly) writeEarly(resp *http.Response) error {
	if resp.StatusCode == http.StatusContinue {
		return nil
	}
	removeHopHeaders(resp.Header)
	wh := e.w.Header()
	for k, vv := range resp.Header {
		wh[k] = vv
	}
	e.w.WriteHeader(resp.StatusCode)
	// A 1xx does not clear the header map; the final answer has its own.
	for k := range resp.Header {
		delete(wh, k)
	}
	return nil
}

// finish hands w back to the handler: no 1xx is written after it.
func (in *informer) finish() {
	in.mu.Lock()
	in.done = true
	in.mu.Unlock()
}

// errExchangeEnded is a request body abandoned because the backend
// answered, or the request ended, before asking for it.
var errExchangeEnded = errors.New("request ended before the backend asked for its body")

// continueBody is a request body that is first read after the backend's
// 100 Continue or continueWait. Only the Transport's write goroutine
// reads it.
type continueBody struct {
	io.ReadCloser
	cont <-chan struct{}
	stop <-chan struct{}
	open bool
}

func (b *continueBody) Read(p []byte) (int, error) {
	if !b.open {
		t := time.NewTimer(continueWait)
		defer t.Stop()
		select {
		case <-b.cont:
		case <-t.C:
		case <-b.stop:
			return 0, errExchangeEnded
		}
		b.open = true
	}
	return b.ReadCloser.Read(p)
}
