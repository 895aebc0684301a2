package container

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/container/engineapi"
	"github.com/berth-dev/berth/internal/process"
	"github.com/berth-dev/berth/internal/runtime"
)

// ErrNoCommand is returned for an image that says nothing to run (no
// ENTRYPOINT, no CMD) when the spec gives no command either.
var ErrNoCommand = errors.New("image has no command")

// imageInfo is what Start needs of an image.
type imageInfo struct {
	ref, id, user string
	hasCommand    bool
}

// imageRef is the reference an instance runs: the spec's image, or the tag
// berth gives the image built from the release.
func imageRef(inst runtime.Instance) string {
	if inst.Build != "" {
		return "berth-" + strings.ToLower(inst.App) + ":" + strings.ToLower(inst.Release)
	}
	return inst.Image
}

// image finds the image inst runs, pulling or building it when missing. A
// release runs the image it first ran (its id is pinned under StateDir), so
// a moved tag never changes what `berth rollback --to` starts.
func (r *Runtime) image(ctx context.Context, inst runtime.Instance, progress func(string)) (imageInfo, error) {
	ref := imageRef(inst)
	pin := r.pinPath(inst.App, inst.Release)
	if b, err := os.ReadFile(pin); err == nil {
		if info, err := r.inspectImage(ctx, firstField(b)); err == nil {
			info.ref = ref
			return info, nil
		}
		r.log.Warn("the pinned image of the release is gone; resolving its reference again", "release", inst.Release, "image", ref)
	}
	info, err := r.inspectImage(ctx, ref)
	if engineapi.IsNotFound(err) {
		if inst.Build != "" {
			err = r.build(ctx, inst, ref, progress)
		} else {
			err = r.pull(ctx, ref, progress)
		}
		if err == nil {
			info, err = r.inspectImage(ctx, ref)
		}
	}
	if err != nil {
		return imageInfo{}, err
	}
	info.ref = ref
	if inst.Release != "" {
		if err := writeAtomic(pin, []byte(info.id+" "+ref+"\n")); err != nil {
			return imageInfo{}, fmt.Errorf("pinning image %s to release %s: %w", ref, inst.Release, err)
		}
	}
	return info, nil
}

func (r *Runtime) inspectImage(ctx context.Context, ref string) (imageInfo, error) {
	res, err := r.cli.ImageInspect(ctx, ref)
	if err != nil {
		if engineapi.IsNotFound(err) {
			return imageInfo{}, err
		}
		return imageInfo{}, fmt.Errorf("inspecting image %s on %s: %w", ref, r.engine, err)
	}
	info := imageInfo{ref: ref, id: res.ID}
	if c := res.Config; c != nil {
		info.user = c.User
		info.hasCommand = len(c.Entrypoint) > 0 || len(c.Cmd) > 0
	}
	return info, nil
}

// pull pulls ref, saying each layer's status (not every byte) through
// progress and in the daemon's log.
func (r *Runtime) pull(ctx context.Context, ref string, progress func(string)) error {
	r.log.Info("pulling image", "image", ref)
	err := r.cli.Pull(ctx, ref, func(msg engineapi.Message) {
		if msg.Status != "" && !msg.HasProgress() {
			line := strings.TrimSpace(msg.ID + " " + msg.Status)
			r.log.Info("pull", "image", ref, "status", line)
			progress("pull " + ref + ": " + line)
		}
	})
	if err != nil {
		return fmt.Errorf("pulling image %s: %s answered: %w", ref, r.engine, err)
	}
	return nil
}

// build builds the release's Dockerfile (the tar of inst.Dir/inst.Build)
// and tags it ref.
func (r *Runtime) build(ctx context.Context, inst runtime.Instance, ref string, progress func(string)) error {
	dir := filepath.Join(inst.Dir, inst.Build)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(pw, dir)) }()
	defer pr.Close()
	err := r.cli.Build(ctx, pr, engineapi.BuildOptions{Tags: []string{ref}, Remove: true, ForceRemove: true,
		Labels: map[string]string{labelApp: inst.App, labelRelease: inst.Release}}, func(msg engineapi.Message) {
		if s := strings.TrimSpace(msg.Stream); s != "" {
			r.log.Info("build", "image", ref, "step", s)
			progress("build " + ref + ": " + s)
		}
	})
	if err != nil {
		return fmt.Errorf("building %s from %s: %s answered: %w", ref, dir, r.engine, err)
	}
	return nil
}

// tarDir writes dir as a tar stream, regular files, directories and
// symlinks only, never following a link out of it.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		} else if !fi.Mode().IsRegular() && !fi.IsDir() {
			return nil
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = filepath.ToSlash(rel), 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil || !fi.Mode().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("packing %s: %w", dir, err)
	}
	return tw.Close()
}

// PrepareImage makes inst's image present (pulled or built when missing,
// pinned to the release) and says which it is.
func (r *Runtime) PrepareImage(ctx context.Context, inst runtime.Instance, progress func(string)) (string, error) {
	if err := r.ready(ctx); err != nil {
		return "", err
	}
	if progress == nil {
		progress = func(string) {}
	}
	info, err := r.image(ctx, inst, progress)
	if err != nil {
		return "", err
	}
	return info.ref + " " + shortID(info.id), nil
}

func shortID(id string) string {
	if len(id) > 19 {
		return id[:19]
	}
	return id
}

// pinPath is where the image id of app's release is kept.
func (r *Runtime) pinPath(app, release string) string {
	return filepath.Join(r.state, "images", app, release)
}

// ImageOf is the image id release of app was pinned to ("" when none).
func (r *Runtime) ImageOf(app, release string) string {
	b, err := os.ReadFile(r.pinPath(app, release))
	if err != nil {
		return ""
	}
	return firstField(b)
}

// pinnedRef is the reference a release's image was pinned from.
func (r *Runtime) pinnedRef(app, release string) string {
	b, _ := os.ReadFile(r.pinPath(app, release))
	if f := strings.Fields(string(b)); len(f) > 1 {
		return f[1]
	}
	return ""
}

// firstField is the first word of a pin file ("ID REF").
func firstField(b []byte) string {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// PruneImages removes the images of app's removed releases and forgets
// their pins. An image that a kept release is pinned to, or that a
// container still uses, stays. It returns the image ids removed.
func (r *Runtime) PruneImages(ctx context.Context, app string, removed []string) ([]string, error) {
	dir := filepath.Join(r.state, "images", app)
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing pinned images: %w", err)
	}
	kept := map[string]bool{}
	for _, e := range ents {
		if !containsStr(removed, e.Name()) {
			kept[r.ImageOf(app, e.Name())] = true
		}
	}
	var out []string
	for _, rel := range removed {
		id := r.ImageOf(app, rel)
		if id == "" {
			continue
		}
		if !kept[id] {
			// berth's own tag of a built image goes (and the image with
			// it when nothing else names it); a pulled image goes only
			// when no other tag or container holds it.
			target := id
			if built := "berth-" + strings.ToLower(app) + ":" + strings.ToLower(rel); r.pinnedRef(app, rel) == built {
				target = built
			}
			if err := r.cli.ImageRemove(ctx, target); err != nil && !engineapi.IsNotFound(err) {
				r.log.Warn("keeping an image still in use", "app", app, "release", rel, "image", id, "err", err)
				continue
			}
			kept[id] = true // removed once
			out = append(out, id)
		}
		if err := os.Remove(r.pinPath(app, rel)); err != nil {
			return out, fmt.Errorf("forgetting the image of release %s: %w", rel, err)
		}
	}
	return out, nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeAtomic writes b to path atomically, making its directory.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return process.WriteFileAtomic(path, b, 0o600)
}
