package release

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// SpecName is the spec file berth looks for in a release.
const SpecName = "berth.toml"

// maxSpecBytes bounds a spec read from an archive.
const maxSpecBytes = 1 << 20

// stripTop makes the content of tmp's only entry the release when that
// entry is a directory, as archives made with `tar czf app.tgz app/` are:
// the release is then laid out the same as one made from inside app/. It
// returns the directory that now holds the release.
func stripTop(tmp string) (string, error) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return "", fmt.Errorf("reading unpacked release: %w", err)
	}
	if len(ents) != 1 || !ents[0].IsDir() {
		return tmp, nil
	}
	inner := tmp + "-top"
	if err := os.Rename(filepath.Join(tmp, ents[0].Name()), inner); err != nil {
		return "", fmt.Errorf("stripping the archive's top directory: %w", err)
	}
	if err := os.Remove(tmp); err != nil {
		os.RemoveAll(inner)
		return "", fmt.Errorf("stripping the archive's top directory: %w", err)
	}
	return inner, nil
}

// SpecInArchive returns the berth.toml of a (gzipped) tar release: at its
// root, or under its single top directory. The name it returns says where,
// for problems ("app.tar.gz:app/berth.toml").
func SpecInArchive(archive string) (name string, data []byte, err error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", nil, fmt.Errorf("opening archive: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", nil, fmt.Errorf("reading gzip header: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", nil, fmt.Errorf("%s has no %s at its root or under its top directory; add one or pass -f", archive, SpecName)
		}
		if err != nil {
			return "", nil, fmt.Errorf("reading archive: %w", err)
		}
		n := strings.TrimPrefix(path.Clean(strings.TrimPrefix(hdr.Name, "./")), "/")
		if hdr.Typeflag != tar.TypeReg || path.Base(n) != SpecName || strings.Count(n, "/") > 1 {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxSpecBytes))
		if err != nil {
			return "", nil, fmt.Errorf("reading %s from archive: %w", n, err)
		}
		return n, data, nil
	}
}
