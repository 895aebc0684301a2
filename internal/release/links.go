package release

import (
	"errors"
	"strings"
)

// maxLinkHops bounds symlink resolution, as the kernel's ELOOP does.
const maxLinkHops = 40

var (
	errEscapes = errors.New("resolves outside the release")
	errLoop    = errors.New("too many levels of symlinks")
)

// checkLink resolves the symlink at name the way the kernel would, using
// the recorded tree, and fails if any step climbs above the release root.
// A lexical check alone is not enough: "a/l -> d/../x" with "a/d -> .."
// looks inside but is not.
func (x *extractor) checkLink(name string) error {
	var stack []string // resolved components so far: always a real path
	dir := name[:max(0, strings.LastIndexByte(name, '/'))]
	for p := range strings.SplitSeq(dir, "/") {
		if p != "" {
			stack = append(stack, p)
		}
	}
	todo := strings.Split(x.links[name], "/")
	hops := 0
	for len(todo) > 0 {
		p := todo[0]
		todo = todo[1:]
		switch p {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return errEscapes
			}
			stack = stack[:len(stack)-1]
			continue
		}
		stack = append(stack, p)
		cur := strings.Join(stack, "/")
		if x.kinds[cur] != kindSymlink {
			continue
		}
		if hops++; hops > maxLinkHops {
			return errLoop
		}
		target := x.links[cur]
		if strings.HasPrefix(target, "/") {
			return errEscapes
		}
		stack = stack[:len(stack)-1]
		todo = append(strings.Split(target, "/"), todo...)
	}
	return nil
}
