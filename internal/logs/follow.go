package logs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"time"
)

// pollEvery is how often a follower looks for new lines when it has read
// all there was. `berth logs -f` is for people; 100ms reads as live.
const pollEvery = 100 * time.Millisecond

// followed is the live file a follower reads, and the rotated files it has
// accounted for (read, or existing before it started).
type followed struct {
	path string
	f    *os.File // nil until the live file exists
	id   fileID
	seen map[time.Time]bool
	// drained is set once the previous live file was read to its end, until
	// its rotated copy has been accounted for: the new live file may not
	// exist yet at that moment (the Writer renames, then creates).
	drained   bool
	drainedID fileID
}

func (fl *followed) close() {
	if fl.f != nil {
		fl.f.Close()
	}
}

// follow reads the live file as it grows. When path names a new file, the
// old one is drained (the Writer flushes before it renames), the files
// rotated after it are read in order, and the new file is read from its
// start: each line once, however many rotations happened between two looks.
func (rd *reader) follow(fl *followed) error {
	for {
		if fl.f != nil {
			if err := rd.scan(fl.f); err != nil {
				return err
			}
		}
		fi, err := os.Stat(fl.path)
		switch {
		case err == nil && (fl.f == nil || idOf(fi) != fl.id):
			if err := rd.switchFile(fl); err != nil {
				return err
			}
			continue
		case err == nil:
			if err := rd.checkTruncated(fl, fi); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		select {
		case <-rd.ctx.Done():
			return rd.ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

func (rd *reader) switchFile(fl *followed) error {
	if fl.f != nil {
		if err := rd.scan(fl.f); err != nil {
			return err
		}
		if err := rd.endOfFile(); err != nil {
			return err
		}
		fl.f.Close()
		fl.f = nil
		fl.drained, fl.drainedID = true, fl.id
	}
	nf, nid, rot, err := openAndList(fl.path)
	if err != nil || nf == nil {
		return err // gone again: the next look finds it
	}
	for _, r := range rot {
		if fl.seen[r.time] {
			continue
		}
		fl.seen[r.time] = true
		// The oldest unseen rotated file is the one just drained, unless
		// retention deleted it (then its inode does not match).
		if fl.drained {
			fl.drained = false
			if !r.plain || r.id == fl.drainedID {
				continue
			}
		}
		if err := rd.readRotated(r); err != nil {
			nf.Close()
			return err
		}
	}
	fl.f, fl.id = nf, nid
	return nil
}

// checkTruncated restarts from the top of a file that got shorter than what
// was read: something truncated it (copytruncate by an outside tool).
func (rd *reader) checkTruncated(fl *followed, fi os.FileInfo) error {
	if fl.f == nil {
		return nil
	}
	off, err := fl.f.Seek(0, io.SeekCurrent)
	if err != nil || fi.Size() >= off {
		return err
	}
	rd.j.carry = rd.j.carry[:0]
	_, err = fl.f.Seek(0, io.SeekStart)
	return err
}
