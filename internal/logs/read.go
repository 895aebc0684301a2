package logs

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// Query selects the lines Read returns.
type Query struct {
	Since   time.Time // lines at or after this time; zero = all
	Tail    int       // only the last Tail lines (before following); 0 = all
	Streams []Stream  // nil = all streams
	Follow  bool      // after the existing lines, wait for new ones until ctx ends
}

// Line is one line of an agent's output, its pieces joined back. A line of
// the file that is not a record (something else wrote into the file) comes
// back as Text with a zero Time and an empty Stream.
type Line struct {
	Time   time.Time
	Stream Stream
	Text   string
	Color  string `json:",omitempty"` // the instance's color, when a reader follows more than one
}

// Read calls out with the lines of the log at path that q selects, oldest
// first: the rotated files (plain or gzipped), then the live file. With
// q.Follow it then follows the live file across rotations, every line once,
// until ctx ends, and returns nil. An error from out stops Read and is
// returned. Read only reads; it is safe to run any number at once, alongside
// the Writer.
func Read(ctx context.Context, path string, q Query, out func(Line) error) error {
	rd := &reader{ctx: ctx, q: q, sink: out, j: newJoiner(), chunk: make([]byte, 64<<10)}
	live, liveID, rot, err := openAndList(path)
	if err != nil {
		return err
	}
	defer func() {
		if live != nil {
			live.Close()
		}
	}()
	seen := make(map[time.Time]bool, len(rot))
	for _, r := range rot {
		seen[r.time] = true
	}
	if q.Tail > 0 {
		err = rd.tail(rot, live)
	} else {
		err = rd.all(rot, live)
	}
	if err != nil {
		return err
	}
	if !q.Follow {
		return rd.finish()
	}
	f := &followed{path: path, f: live, id: liveID, seen: seen}
	live = nil // f owns it now
	defer f.close()
	err = rd.follow(f)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// openAndList opens the live file and lists the rotated ones such that the
// open file is not among them: when the Writer rotated it in between (and
// the compressor may already have renamed it to .gz, hiding its inode), it
// tries again.
func openAndList(path string) (*os.File, fileID, []rotated, error) {
	for {
		f, id, err := openLive(path)
		if err != nil {
			return nil, id, nil, err
		}
		rot, err := listRotated(path)
		if err != nil {
			if f != nil {
				f.Close()
			}
			return nil, id, nil, err
		}
		if f == nil {
			return nil, id, rot, nil
		}
		if fi, err := os.Stat(path); err == nil && idOf(fi) == id {
			return f, id, rot, nil // still live after the listing: not in it
		}
		f.Close()
	}
}

func openLive(path string) (*os.File, fileID, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fileID{}, nil
	}
	if err != nil {
		return nil, fileID{}, fmt.Errorf("opening log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileID{}, fmt.Errorf("checking log: %w", err)
	}
	return f, idOf(fi), nil
}

// openRotated opens a rotated file for reading, falling back to its .gz
// when the housekeeper compressed it since the listing. It returns nil
// when retention deleted it.
func openRotated(r rotated) (io.ReadCloser, error) {
	if r.plain {
		f, err := os.Open(r.base)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("opening rotated log: %w", err)
		}
	}
	f, err := os.Open(r.base + gzExt)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening rotated log: %w", err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", r.base+gzExt, err)
	}
	return gzReadCloser{zr, f}, nil
}

type gzReadCloser struct {
	*gzip.Reader
	f *os.File
}

func (g gzReadCloser) Close() error {
	g.Reader.Close()
	return g.f.Close()
}

// reader turns the bytes of log files into selected Lines.
type reader struct {
	ctx   context.Context
	q     Query
	sink  func(Line) error
	j     *joiner
	chunk []byte
}

func (rd *reader) all(rot []rotated, live *os.File) error {
	for _, r := range rot {
		// Every line of a file is older than its rotation.
		if !rd.q.Since.IsZero() && r.time.Before(rd.q.Since) {
			continue
		}
		if err := rd.readRotated(r); err != nil {
			return err
		}
	}
	if live == nil {
		return nil
	}
	return rd.scan(live)
}

func (rd *reader) readRotated(r rotated) error {
	src, err := openRotated(r)
	if err != nil || src == nil {
		return err
	}
	defer src.Close()
	if err := rd.scan(src); err != nil {
		return fmt.Errorf("reading %s: %w", r.base, err)
	}
	return rd.endOfFile()
}

// scan feeds the records of src to the joiner until EOF. A record still
// being written stays in the carry for the next scan.
func (rd *reader) scan(src io.Reader) error {
	for {
		if err := rd.ctx.Err(); err != nil {
			return err
		}
		n, err := src.Read(rd.chunk)
		if n > 0 {
			if ferr := rd.feed(rd.chunk[:n]); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// maxCarry bounds the bytes kept for a line with no newline yet, in case
// something other than a Writer writes into the file.
const maxCarry = 1 << 20

func (rd *reader) feed(data []byte) error {
	j := rd.j
	for {
		i := indexNL(data)
		if i < 0 {
			break
		}
		rec := data[:i]
		if len(j.carry) > 0 {
			j.carry = append(j.carry, rec...)
			rec = j.carry
		}
		if err := rd.record(rec); err != nil {
			return err
		}
		j.carry = j.carry[:0]
		data = data[i+1:]
	}
	j.carry = append(j.carry, data...)
	if len(j.carry) > maxCarry {
		err := rd.record(j.carry)
		j.carry = j.carry[:0]
		return err
	}
	return nil
}

// endOfFile ends a file that will get no more bytes: a last record without
// a newline is still a record.
func (rd *reader) endOfFile() error {
	if len(rd.j.carry) == 0 {
		return nil
	}
	err := rd.record(rd.j.carry)
	rd.j.carry = rd.j.carry[:0]
	return err
}

// finish emits what is left: a split line whose last piece never came
// (the agent or keeper died mid-line) is still shown.
func (rd *reader) finish() error {
	if err := rd.endOfFile(); err != nil {
		return err
	}
	for _, l := range rd.j.drain() {
		if err := rd.emit(l); err != nil {
			return err
		}
	}
	return nil
}

func (rd *reader) record(b []byte) error {
	l, ok := rd.j.add(parseRecord(b))
	if !ok {
		return nil
	}
	return rd.emit(l)
}

func (rd *reader) emit(l Line) error {
	if !rd.q.Since.IsZero() && l.Time.Before(rd.q.Since) {
		return nil
	}
	if rd.q.Streams != nil && !slices.Contains(rd.q.Streams, l.Stream) {
		return nil
	}
	return rd.sink(l)
}
