package provision

import "strings"

// lineDiff shows how old becomes new, one line each prefixed "+", "-" or
// " ", with long unchanged runs folded. Unit files are a few dozen lines, so
// the quadratic LCS is cheap.
func lineDiff(old, new string) string {
	a, b := splitLines(old), splitLines(new)
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	same := 0 // unchanged lines waiting to be printed or folded
	flush := func(i int) {
		if same > 4 && len(out) > 0 {
			out = append(out, "  "+a[i-same])
			out = append(out, "  …")
			out = append(out, "  "+a[i-1])
		} else if same > 2 && len(out) == 0 {
			out = append(out, "  …", "  "+a[i-1])
		} else {
			for k := i - same; k < i; k++ {
				out = append(out, "  "+a[k])
			}
		}
		same = 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			same++
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] > lcs[i+1][j]):
			flush(i)
			out = append(out, "+ "+b[j])
			j++
		default:
			flush(i)
			out = append(out, "- "+a[i])
			i++
		}
	}
	if same > 0 && len(out) > 0 {
		if same > 2 {
			out = append(out, "  "+a[i-same], "  …")
		} else {
			flush(i)
		}
	}
	return strings.Join(out, "\n")
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
