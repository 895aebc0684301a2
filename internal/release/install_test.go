package release

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// malicious are archives Install must refuse. They seed FuzzInstallTar.
var malicious = []struct {
	name    string
	entries []entry
	zip     bool
	wantErr error
}{
	{name: "absolute path", entries: []entry{reg("/tmp/berth-evil", 0o644, "x")}, wantErr: ErrUnsafePath},
	{name: "dotdot escape", entries: []entry{reg("../../../outside/keep", 0o644, "pwned")}, wantErr: ErrUnsafePath},
	{name: "dotdot inside name", entries: []entry{reg("a/../../evil", 0o644, "x")}, wantErr: ErrUnsafePath},
	{name: "symlink escape then write through it", entries: []entry{
		link(tar.TypeSymlink, "link", "../../../outside"),
		reg("link/keep", 0o644, "pwned"),
	}, wantErr: ErrLinkEscape},
	{name: "absolute symlink", entries: []entry{link(tar.TypeSymlink, "etc", "/etc")}, wantErr: ErrLinkEscape},
	{name: "write through inside symlink", entries: []entry{
		dirEntry("sub", 0o755),
		link(tar.TypeSymlink, "link", "sub"),
		reg("link/file", 0o644, "x"),
	}, wantErr: ErrThroughSymlink},
	{name: "symlink escape via another symlink", entries: []entry{
		link(tar.TypeSymlink, "a/d", ".."),
		link(tar.TypeSymlink, "a/l", "d/../outside"),
	}, wantErr: ErrLinkEscape},
	{name: "symlink loop", entries: []entry{
		link(tar.TypeSymlink, "x", "y"),
		link(tar.TypeSymlink, "y", "x"),
	}, wantErr: ErrLinkEscape},
	{name: "hardlink escape", entries: []entry{link(tar.TypeLink, "passwd", "../../../outside/keep")}, wantErr: ErrLinkEscape},
	{name: "hardlink absolute", entries: []entry{link(tar.TypeLink, "passwd", "/etc/passwd")}, wantErr: ErrLinkEscape},
	{name: "hardlink to symlink", entries: []entry{
		link(tar.TypeSymlink, "s", "f"),
		link(tar.TypeLink, "h", "s"),
	}, wantErr: ErrLinkEscape},
	{name: "char device", entries: []entry{{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "null", Mode: 0o666, Devmajor: 1, Devminor: 3}}}, wantErr: ErrSpecialFile},
	{name: "fifo", entries: []entry{{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "pipe", Mode: 0o644}}}, wantErr: ErrSpecialFile},
	{name: "oversize by header", entries: []entry{{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "big", Mode: 0o644, Size: testMaxBytes + 1}, lie: true}}, wantErr: ErrTooLarge},
	{name: "gzip bomb", zip: true, entries: []entry{reg("zeros", 0o644, strings.Repeat("\x00", testMaxBytes+1))}, wantErr: ErrTooLarge},
	{name: "total over limit", zip: true, entries: []entry{
		reg("a", 0o644, strings.Repeat("a", testMaxBytes/2+1)),
		reg("b", 0o644, strings.Repeat("b", testMaxBytes/2+1)),
	}, wantErr: ErrTooLarge},
	{name: "too many files", entries: manyFiles(testMaxFiles + 1), wantErr: ErrTooManyFiles},
	{name: "too many implied dirs", entries: []entry{reg(strings.Repeat("d/", testMaxFiles)+"f", 0o644, "x")}, wantErr: ErrTooManyFiles},
	{name: "duplicate file", entries: []entry{reg("f", 0o644, "1"), reg("f", 0o644, "2")}, wantErr: ErrDuplicate},
	{name: "file replaces symlink", entries: []entry{link(tar.TypeSymlink, "f", "g"), reg("f", 0o644, "x")}, wantErr: ErrDuplicate},
}

const (
	testMaxBytes = 1 << 20
	testMaxFiles = 20
)

var testLimits = Limits{MaxBytes: testMaxBytes, MaxFiles: testMaxFiles}

func manyFiles(n int) []entry {
	var es []entry
	for i := range n {
		es = append(es, reg("f"+strings.Repeat("x", i), 0o644, ""))
	}
	return es
}

func TestInstallRejectsMaliciousArchives(t *testing.T) {
	t.Parallel()
	for _, tt := range malicious {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLayout(t)
			archive := filepath.Join(l.base, "release.tar")
			writeFile(t, archive, buildTar(t, tt.zip, tt.entries...))
			before := snapshot(t, l.base)

			_, err := Install(context.Background(), archive, l.app, testLimits)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), `entry "`) && !strings.Contains(err.Error(), "decompressed") {
				t.Errorf("error %q does not name the entry", err)
			}
			after := snapshot(t, l.base)
			delete(after, "app")
			delete(after, "app/releases") // created, but must be empty
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("files changed outside an empty releases dir (-before +after):\n%s", diff)
			}
		})
	}
}

func TestInstallArchive(t *testing.T) {
	t.Parallel()
	entries := []entry{
		dirEntry("./", 0o755),
		dirEntry("bin/", 0o750),
		reg("app.sh", 0o755, "#!/bin/sh\necho hi\n"),
		reg("config/secret.env", 0o600, "TOKEN=x"), // parent implied
		reg("setuid", 0o4755, "suid"),
		reg("readonly/f", 0o444, "ro"),
		dirEntry("readonly", 0o555),
		link(tar.TypeSymlink, "bin/run", "../app.sh"),
		link(tar.TypeSymlink, "dangling", "missing/file"),
		link(tar.TypeLink, "app-copy.sh", "app.sh"),
		{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "x"}}},
	}
	want := map[string]string{
		".":                 "drwxr-x---", // not world-readable: a release may hold config
		"app.sh":            "-rwxr-xr-x \"#!/bin/sh\\necho hi\\n\"",
		"app-copy.sh":       "-rwxr-xr-x \"#!/bin/sh\\necho hi\\n\"",
		"bin":               "drwxr-x---",
		"bin/run":           "Lrwxrwxrwx -> ../app.sh",
		"config":            "drwxr-xr-x",
		"config/secret.env": "-rw------- \"TOKEN=x\"",
		"dangling":          "Lrwxrwxrwx -> missing/file",
		"readonly":          "drwxr-xr-x", // owner rwx kept so the release can be pruned
		"readonly/f":        "-r--r--r-- \"ro\"",
		"setuid":            "-rwxr-xr-x \"suid\"",
	}
	for _, zip := range []bool{false, true} {
		name := map[bool]string{false: "tar", true: "tar.gz"}[zip]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLayout(t)
			archive := filepath.Join(l.base, "release."+name)
			writeFile(t, archive, buildTar(t, zip, entries...))
			rel, err := Install(context.Background(), archive, l.app, testLimits)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, snapshot(t, rel.Dir)); diff != "" {
				t.Errorf("release content (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{rel.ID}, ids(t, l.app)); diff != "" {
				t.Errorf("releases (-want +got):\n%s", diff)
			}
		})
	}
}

var idRE = regexp.MustCompile(`^\d{8}T\d{6}Z-[0-9a-f]{6}$`)

func TestInstallDirectory(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	src := filepath.Join(l.base, "src")
	for _, d := range []string{"src/.git/objects", "src/lib", "src/empty"} {
		if err := os.MkdirAll(filepath.Join(l.base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(src, ".git/HEAD"), []byte("ref"))
	writeFile(t, filepath.Join(src, "main.py"), []byte("print(1)"))
	writeFile(t, filepath.Join(src, "lib/run"), []byte("#!/bin/sh"))
	if err := os.Chmod(filepath.Join(src, "lib/run"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lib/run", filepath.Join(src, "start")); err != nil {
		t.Fatal(err)
	}
	// Deploying from the app's own directory must not copy its releases.
	app := filepath.Join(src, "deploy")

	rel, err := Install(context.Background(), src, app, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		".":       "drwxr-x---", // not world-readable: a release may hold config
		"empty":   "drwxr-xr-x",
		"lib":     "drwxr-xr-x",
		"lib/run": "-rwxr-x--- \"#!/bin/sh\"",
		"main.py": "-rw-r--r-- \"print(1)\"",
		"start":   "Lrwxrwxrwx -> lib/run",
	}
	if diff := cmp.Diff(want, snapshot(t, rel.Dir)); diff != "" {
		t.Errorf("release content (-want +got):\n%s", diff)
	}
	if !idRE.MatchString(rel.ID) {
		t.Errorf("ID %q does not match %s", rel.ID, idRE)
	}

	// The same content again gets a new, later ID with the same hash.
	again, err := Install(context.Background(), src, app, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID <= rel.ID || again.ID[len(again.ID)-6:] != rel.ID[len(rel.ID)-6:] {
		t.Errorf("second ID %q, first %q: want later with the same hash", again.ID, rel.ID)
	}
	if diff := cmp.Diff([]string{rel.ID, again.ID}, ids(t, app)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func TestInstallDirectoryRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		make    func(src string) error
		wantErr error
	}{
		{"escaping symlink", func(src string) error { return os.Symlink("../../outside/keep", filepath.Join(src, "l")) }, ErrLinkEscape},
		{"absolute symlink", func(src string) error { return os.Symlink("/etc/passwd", filepath.Join(src, "l")) }, ErrLinkEscape},
		{"fifo", func(src string) error { return unix.Mkfifo(filepath.Join(src, "p"), 0o644) }, ErrSpecialFile},
		{"too large", func(src string) error {
			return os.WriteFile(filepath.Join(src, "big"), make([]byte, testMaxBytes+1), 0o644)
		}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLayout(t)
			src := filepath.Join(l.base, "src")
			if err := os.Mkdir(src, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tt.make(src); err != nil {
				t.Fatal(err)
			}
			_, err := Install(context.Background(), src, l.app, testLimits)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if left := snapshot(t, filepath.Join(l.app, "releases")); len(left) != 1 {
				t.Errorf("releases dir not empty after a failed install: %v", left)
			}
		})
	}
}

func TestInstallCanceled(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	archive := filepath.Join(l.base, "r.tar")
	writeFile(t, archive, buildTar(t, false, reg("f", 0o644, "x")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Install(ctx, archive, l.app, testLimits); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func ids(t *testing.T, app string) []string {
	t.Helper()
	rels, err := List(app)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rels {
		out = append(out, r.ID)
	}
	return out
}
