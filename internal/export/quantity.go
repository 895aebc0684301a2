package export

import "strconv"

// Kubernetes writes a resource quantity in one canonical form: an integer
// mantissa and the largest suffix that keeps it exact. berth writes its
// limits the same way, so that the manifest reads as kubectl would print it.

// binaryQuantity is a byte count as Kubernetes' BinarySI: a power-of-1024
// suffix (Ki, Mi, ... Ei) when the count is a multiple of it, and the
// decimal form below 1024.
func binaryQuantity(bytes int64) string {
	if bytes > -1024 && bytes < 1024 {
		return decimalQuantity(bytes, 0)
	}
	suffixes := []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	i := 0
	for i < len(suffixes)-1 && bytes%1024 == 0 {
		bytes /= 1024
		i++
	}
	return strconv.FormatInt(bytes, 10) + suffixes[i]
}

// decimalQuantity is mantissa×10^exp (exp a multiple of 3, from -9 to 18)
// as Kubernetes' DecimalSI: trailing zeros folded into the suffix three at
// a time (n, u, m, "", k, M, G, T, P, E).
func decimalQuantity(mantissa int64, exp int) string {
	if mantissa == 0 {
		return "0"
	}
	for exp < 18 && mantissa%1000 == 0 {
		mantissa /= 1000
		exp += 3
	}
	suffix := map[int]string{-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}[exp]
	return strconv.FormatInt(mantissa, 10) + suffix
}
