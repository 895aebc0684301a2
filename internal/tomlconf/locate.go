package tomlconf

import (
	"fmt"
	"strconv"
	"strings"
)

// pathParts splits a key path such as `checks[0].path` or `run.env."A.B"`
// into "checks", "[0]", "path".
func pathParts(path string) []string {
	var parts []string
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(parts, path)
			}
			parts = append(parts, path[:end+1])
			path = path[end+1:]
		case '"':
			q, err := strconv.QuotedPrefix(path)
			if err != nil {
				return append(parts, path)
			}
			s, _ := strconv.Unquote(q)
			parts = append(parts, s)
			path = path[len(q):]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			parts = append(parts, path[:end])
			path = path[end:]
		}
	}
	return parts
}

// parentPath drops the last part of a key path.
func parentPath(path string) string {
	parts := pathParts(path)
	if len(parts) == 0 {
		return ""
	}
	var b strings.Builder
	for i, p := range parts[:len(parts)-1] {
		switch {
		case strings.HasPrefix(p, "["):
		case i > 0:
			b.WriteByte('.')
			fallthrough
		default:
			if !bareKey(p) {
				p = strconv.Quote(p)
			}
		}
		b.WriteString(p)
	}
	return b.String()
}

// walk follows a key path as far as the tree has it and returns the deepest
// node found and whether the whole path exists.
func (d *Doc) walk(path string) (*Node, bool) {
	n := d.root
	for _, p := range pathParts(path) {
		var next *Node
		if strings.HasPrefix(p, "[") {
			i, err := strconv.Atoi(strings.Trim(p, "[]"))
			if err == nil && n.kind == kindArray && i >= 0 && i < len(n.items) {
				next = n.items[i]
			}
		} else {
			next = n.Field(p)
		}
		if next == nil {
			return n, false
		}
		n = next
	}
	return n, true
}

// Node returns the node at a key path such as "disk[0].warn", or nil.
func (d *Doc) Node(path string) *Node {
	if n, ok := d.walk(path); ok {
		return n
	}
	return nil
}

// Locate is where a problem about path points: the value when present,
// otherwise the header of the nearest table that is (or 1:1).
func (d *Doc) Locate(path string) Pos {
	n, _ := d.walk(path)
	return n.At()
}

// keyPathAt returns the path of the key written at at, or "".
func keyPathAt(n *Node, at Pos, path string) string {
	switch n.kind {
	case kindTable:
		for _, k := range n.keys {
			child := n.fields[k]
			p := Join(path, k)
			if child.key == at {
				return p
			}
			if found := keyPathAt(child, at, p); found != "" {
				return found
			}
		}
	case kindArray:
		for i, item := range n.items {
			if found := keyPathAt(item, at, fmt.Sprintf("%s[%d]", path, i)); found != "" {
				return found
			}
		}
	}
	return ""
}
