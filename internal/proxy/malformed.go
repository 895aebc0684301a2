package proxy

import (
	"errors"
	"io"
	"net/http"
)

// A chunked request body is checked as it is read (guardedConn). Its
// first chunk is read before the app is contacted, so a request whose
// first chunk-size line is malformed never reaches the app; a malformed
// line further on ends the request body mid-way, and the client gets 400
// unless the app's answer had started.

// checkedBody is a request body whose first byte may have been read
// ahead, and which remembers whether the client's framing was refused.
//
// A body of declared length ends after its last byte without another
// read of the client's body. The Transport reads once more to see the
// end, and net/http's server, writing the answer's header meanwhile,
// reads the client's body to its end itself and closes it: that last read
// then failed, and the Transport cut the backend connection mid-answer.
type checkedBody struct {
	io.ReadCloser
	left      int64 // bytes still to come, or -1 when not declared
	first     [1]byte
	pending   bool
	malformed bool
}

// checkBody reads the first byte of r's chunked body, unless the client
// waits for 100 Continue, which the backend's own 100 should trigger.
func checkBody(r *http.Request) (*checkedBody, error) {
	b := &checkedBody{ReadCloser: r.Body, left: -1}
	if r.ContentLength > 0 {
		b.left = r.ContentLength
	}
	if r.ProtoMajor != 1 || len(r.TransferEncoding) == 0 || headerHasToken(r.Header, "Expect", "100-continue") {
		return b, nil
	}
	switch _, err := io.ReadFull(r.Body, b.first[:]); {
	case err == nil:
		b.pending = true
	case err != io.EOF:
		return nil, err
	}
	return b, nil
}

func (b *checkedBody) Read(p []byte) (int, error) {
	if b.pending && len(p) > 0 {
		p[0] = b.first[0]
		b.pending = false
		return 1, nil
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	if errors.Is(err, errMalformed) {
		b.malformed = true
	}
	return n, err
}

// refuseMalformed answers a request whose framing the policy refused,
// as net/http answers a refused head.
func refuseMalformed(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, "400 Bad Request")
}
