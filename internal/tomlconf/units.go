package tomlconf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// UnmarshalText reads a Go duration string such as "10s", "1m30s" or "0s".
// Negative durations are rejected.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("%q is not a duration; write a number with a unit, like \"500ms\", \"10s\" or \"5m\"", text)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative; a duration must be 0 or more", text)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in Go syntax ("1m30s"), which UnmarshalText reads back.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// Byte size units. The decimal ones are powers of 1000 and the binary ones
// powers of 1024, as in the SI and IEC standards: "10MB" is 10,000,000 bytes
// and "10MiB" is 10,485,760 bytes.
const (
	Byte ByteSize = 1
	KB            = 1000 * Byte
	MB            = 1000 * KB
	GB            = 1000 * MB
	TB            = 1000 * GB
	KiB           = 1024 * Byte
	MiB           = 1024 * KiB
	GiB           = 1024 * MiB
	TiB           = 1024 * GiB
)

// byteUnit names one unit of ByteSize.
type byteUnit struct {
	name string
	size ByteSize
}

// byteUnits is ordered largest first, decimal before binary at each step, so
// MarshalText writes 512000 as "512KB" rather than "500KiB".
func byteUnits() [9]byteUnit {
	return [...]byteUnit{
		{"TB", TB}, {"TiB", TiB}, {"GB", GB}, {"GiB", GiB},
		{"MB", MB}, {"MiB", MiB}, {"KB", KB}, {"KiB", KiB}, {"B", Byte},
	}
}

// UnmarshalText reads a whole number of bytes with an optional unit: "100",
// "100B", "512KB", "10MB", "1GB", "2TB" (powers of 1000) or "512KiB", "10MiB",
// "1GiB", "2TiB" (powers of 1024). Units are case-insensitive and may follow a
// space. Fractions and negative sizes are rejected.
func (s *ByteSize) UnmarshalText(text []byte) error {
	str := strings.TrimSpace(string(text))
	i := 0
	for i < len(str) && str[i] >= '0' && str[i] <= '9' {
		i++
	}
	num, unit := str[:i], strings.TrimSpace(str[i:])
	bad := fmt.Errorf("%q is not a size; write a whole number with a unit, like \"512KB\", \"10MB\" or \"1GiB\" (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024)", text)
	if num == "" {
		return bad
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return bad
	}
	mult := Byte
	if unit != "" {
		mult = 0
		for _, u := range byteUnits() {
			if strings.EqualFold(unit, u.name) {
				mult = u.size
			}
		}
		if mult == 0 {
			return bad
		}
	}
	if n > math.MaxInt64/int64(mult) {
		return fmt.Errorf("%q is too large", text)
	}
	*s = ByteSize(n) * mult
	return nil
}

// MarshalText writes the size with the largest unit that divides it exactly,
// so "10MB" and "10MiB" both round-trip.
func (s ByteSize) MarshalText() ([]byte, error) {
	if s == 0 {
		return []byte("0"), nil
	}
	for _, u := range byteUnits() {
		if u.size > Byte && s%u.size == 0 {
			return []byte(strconv.FormatInt(int64(s/u.size), 10) + u.name), nil
		}
	}
	return []byte(strconv.FormatInt(int64(s), 10)), nil
}

// Duration is a time.Duration written as a Go duration string ("10s", "5m").
type Duration struct{ time.Duration }

// ByteSize is a size written as "10MB", "512KiB" or a plain number of bytes.
type ByteSize int64

// Percent is a share from 0 to 100 written as "80%" or "12.5%".
type Percent float64

// UnmarshalText reads "80%", "12.5%" or "0%"; the % sign is required so a
// share is never confused with a count. Values outside 0-100 are rejected.
func (p *Percent) UnmarshalText(text []byte) error {
	str := strings.TrimSpace(string(text))
	num, ok := strings.CutSuffix(str, "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%q is not a percentage; write a number from 0 to 100 followed by %%, like \"80%%\"", text)
	}
	if f < 0 || f > 100 {
		return fmt.Errorf("%q is out of range; a percentage is from 0%% to 100%%", text)
	}
	*p = Percent(f)
	return nil
}

// MarshalText writes the percentage as "80%", which UnmarshalText reads back.
func (p Percent) MarshalText() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(p), 'f', -1, 64) + "%"), nil
}
