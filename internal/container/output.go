package container

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/container/engineapi"
	"github.com/berth-dev/berth/internal/logs"
)

// A container's output is copied into the instance's log with the time the
// engine stamped on each line, which makes the log itself the cursor: after
// a restart of berth, the follower asks the engine for the lines since the
// last record in the file and skips the ones the file already has at that
// same microsecond. No line is lost (the engine keeps them) and none is
// written twice.

// seen is the log's last record time and the lines it has at that time.
type seen struct {
	at    time.Time
	lines map[string]int // stream+"\x00"+text -> count
}

// lastSeen reads the tail of the log at path.
func lastSeen(ctx context.Context, path string) seen {
	var tail []logs.Line
	_ = logs.Read(ctx, path, logs.Query{Tail: 256}, func(l logs.Line) error {
		if !l.Time.IsZero() {
			tail = append(tail, l)
		}
		return nil
	})
	s := seen{lines: map[string]int{}}
	if len(tail) == 0 {
		return s
	}
	s.at = tail[len(tail)-1].Time
	for _, l := range tail {
		if l.Time.Equal(s.at) {
			s.lines[string(l.Stream)+"\x00"+l.Text]++
		}
	}
	return s
}

// skipper answers, for one fetch from the engine (which sends again the
// lines at the last time written), whether a line is already in the log.
func (s *seen) skipper() func(logs.Stream, time.Time, string) bool {
	at, budget := s.at, make(map[string]int, len(s.lines))
	for k, n := range s.lines {
		budget[k] = n
	}
	return func(stream logs.Stream, t time.Time, text string) bool {
		t = t.Truncate(time.Microsecond)
		switch {
		case at.IsZero() || t.After(at):
			return false
		case t.Before(at):
			return true
		}
		k := string(stream) + "\x00" + text
		if budget[k] > 0 {
			budget[k]--
			return true
		}
		return false
	}
}

// note records a line written at t.
func (s *seen) note(stream logs.Stream, t time.Time, text string) {
	t = t.Truncate(time.Microsecond)
	if !t.Equal(s.at) {
		s.at, s.lines = t, map[string]int{}
	}
	s.lines[string(stream)+"\x00"+text]++
}

// follow copies the container's output into w until ctx ends, following it
// across restarts of the container.
func (r *Runtime) follow(ctx context.Context, s *supervised, w *logs.Writer) {
	last := lastSeen(ctx, s.inst.LogPath)
	for ctx.Err() == nil {
		since := ""
		if !last.at.IsZero() {
			since = strconv.FormatInt(last.at.Unix(), 10) + "." + fmt.Sprintf("%09d", last.at.Nanosecond())
		}
		rc, err := r.cli.Logs(ctx, s.cid, engineapi.LogsOptions{Follow: true, Timestamps: true, Since: since})
		if err == nil {
			skip := last.skipper()
			err = demux(rc, func(stream logs.Stream, t time.Time, text []byte) {
				if skip(stream, t, string(text)) {
					return
				}
				if err := w.WriteLine(stream, t, text); err != nil && !errors.Is(err, logs.ErrDropped) {
					r.log.Warn("writing container output", "instance", s.inst.ID, "err", err)
				}
				last.note(stream, t, string(text))
			})
			rc.Close()
			_ = w.Flush()
		}
		if err != nil && ctx.Err() == nil {
			r.log.Debug("following container output", "instance", s.inst.ID, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// demux reads the engine's multiplexed stream (8-byte headers: stream,
// 0, 0, 0, big-endian length) of timestamped lines and calls line for each
// whole line.
func demux(r io.Reader, line func(logs.Stream, time.Time, []byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	partial := map[byte][]byte{}
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				for st, rest := range partial {
					if len(rest) > 0 {
						emit(st, rest, line)
					}
				}
				return nil
			}
			return err
		}
		n := binary.BigEndian.Uint32(hdr[4:])
		buf := make([]byte, n)
		if _, err := io.ReadFull(br, buf); err != nil {
			return err
		}
		data := append(partial[hdr[0]], buf...)
		for {
			i := indexByte(data, '\n')
			if i < 0 {
				break
			}
			emit(hdr[0], data[:i], line)
			data = data[i+1:]
		}
		partial[hdr[0]] = append([]byte(nil), data...)
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// emit splits "TIMESTAMP text" and calls line.
func emit(stream byte, raw []byte, line func(logs.Stream, time.Time, []byte)) {
	s := logs.Stdout
	if stream == 2 {
		s = logs.Stderr
	}
	ts, text := raw, []byte(nil)
	if i := indexByte(raw, ' '); i >= 0 {
		ts, text = raw[:i], raw[i+1:]
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		t, text = time.Now(), raw
	}
	line(s, t, text)
}
