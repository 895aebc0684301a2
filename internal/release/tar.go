package release

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// streamSlack is what the decompressed stream may carry beyond file bytes
// (headers, padding) before the archive is judged a decompression bomb.
const streamSlack = 1 << 20

// headerBytes allows for a header block and padding per entry.
const headerBytes = 2 << 10

// unpackTar unpacks the tar archive at src, gunzipping it first when it
// starts with the gzip magic.
func unpackTar(x *extractor, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("opening archive: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("reading gzip header: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	// Entry limits already bound the result; this bounds the work, so a
	// stream of padding or huge headers cannot spin for ever either.
	budget := x.lim.MaxBytes + int64(x.lim.MaxFiles)*headerBytes + streamSlack
	r = &boundedReader{r: r, left: budget}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading archive: %w", err)
		}
		if err := unpackEntry(x, tr, hdr); err != nil {
			return fmt.Errorf("unpacking archive: %w", err)
		}
	}
}

func unpackEntry(x *extractor, tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX defaults for later entries; tar.Reader applies them
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	mode := fs.FileMode(hdr.Mode).Perm() // drops setuid, setgid, sticky
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.dir(name, mode)
	case tar.TypeReg:
		// A header that already claims too much is refused before reading;
		// bytes are still counted, since headers can also claim too little.
		if hdr.Size > x.lim.MaxBytes-x.bytes {
			return fmt.Errorf("entry %q: %w (%d bytes)", name, ErrTooLarge, x.lim.MaxBytes)
		}
		return x.file(name, mode, tr)
	case tar.TypeSymlink:
		return x.symlink(name, hdr.Linkname)
	case tar.TypeLink:
		return x.hardlink(name, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return fmt.Errorf("entry %q: %w", name, ErrSpecialFile)
	default:
		return fmt.Errorf("entry %q: %w %q", name, ErrUnsupportedEntry, hdr.Typeflag)
	}
}

// boundedReader fails with ErrTooLarge once more than left bytes were read.
type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("decompressed archive: %w", ErrTooLarge)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
