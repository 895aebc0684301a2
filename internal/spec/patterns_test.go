package spec

import (
	"strings"
	"testing"
)

// TestPatternLengths: the name patterns accept their longest names and
// refuse one byte more (the lengths are checked apart from the regexps).
func TestPatternLengths(t *testing.T) {
	host := func(n int) string { // labels of "a" joined by dots, n bytes
		return strings.TrimSuffix(strings.Repeat("a.", n/2+1), ".")[:n-1] + "a"
	}
	tests := []struct {
		name string
		ok   func(string) bool
		good string
		bad  string
	}{
		{"app name", func(s string) bool { return matchMax(nameRe, s, maxName) }, "a" + strings.Repeat("b", 39), "a" + strings.Repeat("b", 40)},
		{"check name", func(s string) bool { return matchMax(checkNameRe, s, maxCheckName) }, strings.Repeat("c", 63), strings.Repeat("c", 64)},
		{"host", func(s string) bool { return matchMax(hostRe, s, maxHost) }, host(253), host(254)},
		{"user", validUser, strings.Repeat("u", 31), strings.Repeat("u", 32)},
		{"user with $", validUser, strings.Repeat("u", 31) + "$", strings.Repeat("u", 32) + "$"},
		{"secret", func(s string) bool { return CheckSecretName(s) == nil }, "S" + strings.Repeat("x", 127), "S" + strings.Repeat("x", 128)},
		{"app name pattern", func(s string) bool { return matchMax(nameRe, s, maxName) }, "a-1", "1a"},
		{"host pattern", func(s string) bool { return matchMax(hostRe, s, maxHost) }, "a.example", "a.example-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok(tc.good) {
				t.Errorf("refused %q (%d bytes)", tc.good, len(tc.good))
			}
			if tc.ok(tc.bad) {
				t.Errorf("accepted %q (%d bytes)", tc.bad, len(tc.bad))
			}
		})
	}
}
