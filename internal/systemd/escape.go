package systemd

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnrepresentable is returned for a value a unit file cannot hold, such as
// a newline or NUL byte in an argument.
var ErrUnrepresentable = errors.New("cannot be written into a unit file")

// checkLine refuses characters that would end a unit-file line or a C string.
func checkLine(what, s string) error {
	if i := strings.IndexAny(s, "\x00\n\r"); i >= 0 {
		return fmt.Errorf("%s %q: byte %d is a newline or NUL: %w", what, s, i, ErrUnrepresentable)
	}
	return nil
}

// escapeSpecifiers doubles '%' so systemd does not read "%i" or "%h" in
// user-provided text as a specifier.
func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// quoteWord writes s as one word systemd splits back to exactly s: C-style
// escapes inside double quotes. Plain words stay bare so units read easily.
func quoteWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") && isPrintableASCII(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c) // UTF-8 passes through unchanged
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ExecArg escapes one argv element for ExecStart=: specifiers ('%' → "%%"),
// variable expansion ('$' → "$$") and word splitting (quotes, backslashes,
// blanks). Newlines and NUL bytes are refused.
func ExecArg(s string) (string, error) {
	if err := checkLine("argument", s); err != nil {
		return "", err
	}
	return quoteWord(strings.ReplaceAll(escapeSpecifiers(s), "$", "$$")), nil
}

// execLine renders argv for ExecStart=. path is the program, already
// escaped by the caller because it may carry berth's own "%i"; args are the
// user's and are escaped here.
func execLine(path string, args []string) (string, error) {
	words := []string{path}
	for _, a := range args {
		w, err := ExecArg(a)
		if err != nil {
			return "", err
		}
		words = append(words, w)
	}
	return strings.Join(words, " "), nil
}

// EnvironmentAssignment renders one Environment= value, quoted as a whole
// ("KEY=value"). Environment= expands specifiers but not variables, so only
// '%' is doubled.
func EnvironmentAssignment(key, value string) (string, error) {
	if err := checkLine("environment value of "+key, value); err != nil {
		return "", err
	}
	return quoteWord(escapeSpecifiers(key + "=" + value)), nil
}

// EnvFileLine renders KEY=VALUE for an EnvironmentFile=. systemd reads these
// files with shell-like quoting and no specifiers: single quotes keep
// everything literal; a value holding a single quote is double-quoted with
// the four characters that are special there escaped.
func EnvFileLine(key, value string) (string, error) {
	if err := checkLine("environment value of "+key, value); err != nil {
		return "", err
	}
	if !strings.Contains(value, "'") {
		return key + "='" + value + "'", nil
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	return key + `="` + r.Replace(value) + `"`, nil
}

// safePath reports whether p can be written bare into directives that take
// paths (WorkingDirectory=, ReadWritePaths=, EnvironmentFile=): absolute and
// free of blanks, quotes, backslashes and control bytes. berth's own paths
// must pass; a home that does not is refused rather than half-escaped.
func safePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q is not absolute: %w", p, ErrUnrepresentable)
	}
	if !isPrintableASCII(p) || strings.ContainsAny(p, "\"'\\;") {
		return fmt.Errorf("path %q holds blanks, quotes, backslashes or non-ASCII bytes; move berth's home to a plain path such as /var/lib/berth: %w", p, ErrUnrepresentable)
	}
	return nil
}
