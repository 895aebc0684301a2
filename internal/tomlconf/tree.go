package tomlconf

import (
	"sort"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Pos is a 1-based line and column (in bytes) in a TOML file.
type Pos struct{ Line, Col int }

// Node is one value of a document with the positions that decoding and
// validation need to point at. go-toml's own decoder drops positions, so
// this small tree is built from the unstable parser's AST. A Node is not
// modified after Parse returns and is then safe for concurrent reads.
type Node struct {
	kind   nodeKind
	key    Pos // where the key (or table header) naming this value is
	val    Pos // where the value itself starts; zero when the parser gives none
	scalar unstable.Kind
	data   string

	keys   []string // table keys in document order
	fields map[string]*Node
	items  []*Node // arrays and arrays of tables
}

type nodeKind int

const (
	kindScalar nodeKind = iota
	kindTable
	kindArray
)

// IsString reports whether n is a string value.
func (n *Node) IsString() bool { return n.kind == kindScalar && n.scalar == unstable.String }

// At is where problems about the value should point: the value when the
// parser located it, otherwise its key.
func (n *Node) At() Pos {
	if n.val.Line > 0 {
		return n.val
	}
	return n.key
}

func newTable(at Pos) *Node {
	return &Node{kind: kindTable, key: at, val: at, fields: map[string]*Node{}}
}

// Field returns the named child of a table, or nil (also when n is nil, so
// lookups chain: root.Field("a").Field("b")).
func (n *Node) Field(name string) *Node {
	if n == nil || n.kind != kindTable {
		return nil
	}
	return n.fields[name]
}

// Items returns the elements of an array (or array of tables), or nil.
func (n *Node) Items() []*Node {
	if n == nil || n.kind != kindArray {
		return nil
	}
	return n.items
}

// Text returns a scalar's text as written (a string's value, a number's
// digits), or "" for tables and arrays.
func (n *Node) Text() string {
	if n == nil || n.kind != kindScalar {
		return ""
	}
	return n.data
}

// set adds or replaces a table key, keeping document order.
func (n *Node) set(name string, child *Node) {
	if _, ok := n.fields[name]; !ok {
		n.keys = append(n.keys, name)
	}
	n.fields[name] = child
}

// treeBuilder turns parser offsets into positions and AST nodes into a tree.
type treeBuilder struct {
	p          *unstable.Parser
	lineStarts []int
}

func buildTree(data []byte) (*Node, error) {
	b := &treeBuilder{p: &unstable.Parser{}, lineStarts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			b.lineStarts = append(b.lineStarts, i+1)
		}
	}
	b.p.Reset(data)
	root := newTable(Pos{1, 1})
	cur := root
	for b.p.NextExpression() {
		e := b.p.Expression()
		switch e.Kind {
		case unstable.Table:
			cur = b.header(root, e, false)
		case unstable.ArrayTable:
			cur = b.header(root, e, true)
		case unstable.KeyValue:
			b.keyValue(cur, e)
		}
	}
	return root, b.p.Error()
}

func (b *treeBuilder) posOf(r unstable.Range) Pos {
	off := int(r.Offset)
	line := sort.Search(len(b.lineStarts), func(i int) bool { return b.lineStarts[i] > off })
	return Pos{line, off - b.lineStarts[line-1] + 1}
}

// keyParts returns the parts of a dotted key with the position of each.
func (b *treeBuilder) keyParts(it unstable.Iterator) ([]string, []Pos) {
	var names []string
	var at []Pos
	for it.Next() {
		k := it.Node()
		names = append(names, string(k.Data))
		at = append(at, b.posOf(k.Raw))
	}
	return names, at
}

// descend walks from t through one key part, creating a table when the part
// is new and entering the last element when it names an array of tables.
func descend(t *Node, name string, at Pos) *Node {
	next := t.fields[name]
	switch {
	case next == nil || next.kind == kindScalar:
		next = newTable(at)
		t.set(name, next)
	case next.kind == kindArray:
		if len(next.items) == 0 || next.items[len(next.items)-1].kind != kindTable {
			next.items = append(next.items, newTable(at))
		}
		next = next.items[len(next.items)-1]
	}
	return next
}

// header handles [a.b] and [[a.b]] and returns the table that following
// key/values go into.
func (b *treeBuilder) header(root *Node, e *unstable.Node, array bool) *Node {
	names, at := b.keyParts(e.Key())
	if len(names) == 0 {
		return root
	}
	t := root
	last := len(names) - 1
	for i := range last {
		t = descend(t, names[i], at[i])
	}
	if !array {
		return descend(t, names[last], at[last])
	}
	arr := t.fields[names[last]]
	if arr == nil || arr.kind != kindArray {
		arr = &Node{kind: kindArray, key: at[last]}
		t.set(names[last], arr)
	}
	elem := newTable(at[last])
	arr.items = append(arr.items, elem)
	return elem
}

func (b *treeBuilder) keyValue(t *Node, e *unstable.Node) {
	names, at := b.keyParts(e.Key())
	if len(names) == 0 {
		return
	}
	last := len(names) - 1
	for i := range last {
		t = descend(t, names[i], at[i])
	}
	v := b.value(e.Value(), at[last])
	if v.val.Line == 0 {
		v.val = b.afterEquals(e)
	}
	t.set(names[last], v)
}

// afterEquals finds where the value of a key/value starts, for values the
// parser gives no range (arrays): past the last key part, '=' and blanks.
func (b *treeBuilder) afterEquals(e *unstable.Node) Pos {
	end := -1
	it := e.Key()
	for it.Next() {
		r := it.Node().Raw
		end = int(r.Offset + r.Length)
	}
	data := b.p.Data()
	if end < 0 || end > len(data) {
		return Pos{}
	}
	for end < len(data) && (data[end] == ' ' || data[end] == '\t' || data[end] == '=') {
		end++
	}
	return b.posOf(unstable.Range{Offset: uint32(end)})
}

// value converts a value node; key is where the key naming it is (for array
// elements, the element itself).
func (b *treeBuilder) value(v *unstable.Node, key Pos) *Node {
	n := &Node{key: key}
	if v.Raw.Length > 0 {
		n.val = b.posOf(v.Raw)
	}
	switch v.Kind {
	case unstable.Array:
		n.kind = kindArray
		it := v.Children()
		for it.Next() {
			c := it.Node()
			at := key
			if c.Raw.Length > 0 {
				at = b.posOf(c.Raw)
			}
			n.items = append(n.items, b.value(c, at))
		}
	case unstable.InlineTable:
		n.kind = kindTable
		n.fields = map[string]*Node{}
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				b.keyValue(n, c)
			}
		}
	default:
		n.scalar = v.Kind
		n.data = string(v.Data)
	}
	return n
}
