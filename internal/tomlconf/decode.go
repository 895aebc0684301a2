package tomlconf

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// The unit types get dedicated messages (and ByteSize also accepts a bare
// integer); this is why they live here rather than in each config package.
var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
	percentType  = reflect.TypeFor[Percent]()
)

// StringForm is implemented by types that also accept a single string where
// they normally take another shape (a command written as one shell line
// instead of an argv array). The decoder calls DecodeString for a string.
type StringForm interface{ DecodeString(s string) }

// decode sets v (addressable) from n; path names n in messages.
func (d *Doc) decode(n *Node, v reflect.Value, path string) {
	t := v.Type()
	if sf, ok := v.Addr().Interface().(StringForm); ok && n.IsString() {
		sf.DecodeString(n.data)
		return
	}
	if t == byteSizeType && n.kind == kindScalar && n.scalar == unstable.Integer {
		d.decodeInt(n, v, path)
		return
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if n.kind != kindScalar || n.scalar != unstable.String {
			d.mismatch(n, t, path)
			return
		}
		if err := u.UnmarshalText([]byte(n.data)); err != nil {
			d.Add(n.At(), path, "%s", err.Error())
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if n.kind != kindScalar || n.scalar != unstable.String {
			d.mismatch(n, t, path)
			return
		}
		v.SetString(n.data)
	case reflect.Int, reflect.Int64:
		d.decodeInt(n, v, path)
	case reflect.Float64:
		d.decodeFloat(n, v, path)
	case reflect.Bool:
		if n.kind != kindScalar || n.scalar != unstable.Bool {
			d.mismatch(n, t, path)
			return
		}
		v.SetBool(n.data == "true")
	default:
		d.mismatch(n, t, path)
	}
}

func (d *Doc) decodeInt(n *Node, v reflect.Value, path string) {
	if n.kind != kindScalar || n.scalar != unstable.Integer {
		d.mismatch(n, v.Type(), path)
		return
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(n.data, "_", ""), 0, 64)
	if err != nil {
		d.Add(n.At(), path, "%s is out of range", n.data)
		return
	}
	if v.Type() == byteSizeType && i < 0 {
		d.Add(n.At(), path, "%d is negative; a size must be 0 or more", i)
		return
	}
	v.SetInt(i)
}

func (d *Doc) decodeFloat(n *Node, v reflect.Value, path string) {
	if n.kind != kindScalar || (n.scalar != unstable.Float && n.scalar != unstable.Integer) {
		d.mismatch(n, v.Type(), path)
		return
	}
	s := strings.ReplaceAll(n.data, "_", "")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && n.scalar == unstable.Integer {
		var i int64
		i, err = strconv.ParseInt(s, 0, 64)
		f = float64(i)
	}
	if err != nil {
		d.Add(n.At(), path, "%s is not a number", n.data)
		return
	}
	v.SetFloat(f)
}

func (d *Doc) decodeStruct(n *Node, v reflect.Value, path string) {
	if n.kind != kindTable {
		d.mismatch(n, v.Type(), path)
		return
	}
	names, index := tomlFields(v.Type())
	for _, k := range n.keys {
		child := n.fields[k]
		i, ok := index[k]
		if !ok {
			d.Add(child.key, Join(path, k), "unknown key; %s", Suggest(k, names))
			continue
		}
		d.decode(child, v.Field(i), Join(path, k))
	}
}

func (d *Doc) decodeSlice(n *Node, v reflect.Value, path string) {
	if n.kind != kindArray {
		d.mismatch(n, v.Type(), path)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.items), len(n.items))
	for i, item := range n.items {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *Doc) decodeMap(n *Node, v reflect.Value, path string) {
	if n.kind != kindTable || v.Type().Key().Kind() != reflect.String {
		d.mismatch(n, v.Type(), path)
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.keys))
	for _, k := range n.keys {
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(n.fields[k], e, Join(path, k))
		m.SetMapIndex(reflect.ValueOf(k), e)
	}
	v.Set(m)
}

// tomlFields returns a struct's TOML keys in declaration order and by name.
func tomlFields(t reflect.Type) ([]string, map[string]int) {
	var names []string
	index := map[string]int{}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		names = append(names, tag)
		index[tag] = i
	}
	return names, index
}

// Join appends a key to a dotted path, quoting keys TOML would need quoted.
func Join(path, key string) string {
	if !bareKey(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func bareKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (d *Doc) mismatch(n *Node, want reflect.Type, path string) {
	msg := fmt.Sprintf("expected %s, got %s", describeType(want, path), describeNode(n))
	if n.kind == kindScalar && (n.scalar == unstable.Integer || n.scalar == unstable.Float) {
		switch want {
		case durationType:
			msg += fmt.Sprintf("; quote it and add a unit, like \"%ss\"", n.data)
		case percentType:
			msg += fmt.Sprintf("; quote it and add %%, like \"%s%%\"", n.data)
		}
	}
	d.Add(n.At(), path, "%s", msg)
}

// describeType names what a key wants; path names array-of-table keys.
func describeType(t reflect.Type, path string) string {
	switch {
	case t == durationType:
		return `a duration string like "10s"`
	case t == byteSizeType:
		return `a size like "10MB" or a number of bytes`
	case t == percentType:
		return `a percentage like "80%"`
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		parts := pathParts(path)
		if len(parts) == 0 {
			return "an array of tables"
		}
		return "an array of tables ([[" + parts[len(parts)-1] + "]])"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem(), ""), "a "), "an ") + "s"
	case reflect.Map:
		return "a table of " + strings.TrimPrefix(describeType(t.Elem(), ""), "a ") + "s"
	case reflect.Pointer:
		return describeType(t.Elem(), "")
	}
	return "a table"
}

func describeNode(n *Node) string {
	switch n.kind {
	case kindTable:
		return "a table"
	case kindArray:
		return "an array"
	}
	switch n.scalar {
	case unstable.String:
		return "string " + strconv.Quote(n.data)
	case unstable.Integer:
		return "integer " + n.data
	case unstable.Float:
		return "float " + n.data
	case unstable.Bool:
		return n.data
	}
	return "a date/time " + n.data
}
