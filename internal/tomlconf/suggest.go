package tomlconf

import (
	"fmt"
	"strings"
)

// Suggest names the known key nearest to an unknown one, or lists them all
// when none is near enough to be a plausible typo.
func Suggest(unknown string, known []string) string {
	best, bestDist := "", -1
	for _, k := range known {
		d := levenshtein(strings.ToLower(unknown), k)
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" && bestDist <= max(2, len(best)/3) {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return "allowed here: " + strings.Join(known, ", ")
}

// levenshtein is the edit distance between a and b, counted in bytes: keys
// are ASCII.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
