package deploy

import (
	"testing"
)

const cachedSpec = `version = 1
name = "w"

[run]
command = ["./w"]

[[checks]]
name = "progress"
type = "heartbeat"
file = "heartbeat"
`

// The cache parses a stored spec once, and again only when it changes.
func TestSpecCacheParsesOncePerChange(t *testing.T) {
	t.Parallel()
	c := newSpecCache()
	a1, err := c.parse("w", "/srv/w/berth.toml", []byte(cachedSpec))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := c.parse("w", "/srv/w/berth.toml", []byte(cachedSpec))
	if a1 != a2 {
		t.Error("the same spec was parsed again")
	}
	changed := cachedSpec + "within = \"2m\"\n"
	a3, err := c.parse("w", "/srv/w/berth.toml", []byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	if a3 == a1 || a3.Checks[0].Within.Duration == a1.Checks[0].Within.Duration {
		t.Error("a changed spec was not parsed again")
	}
	if _, err := c.parse("w", "/srv/w/berth.toml", []byte("version = 1\nname = 3\n")); err == nil {
		t.Error("an invalid spec parsed")
	}
	if a4, err := c.parse("w", "/srv/w/berth.toml", []byte(changed)); err != nil || a4 == a3 {
		t.Errorf("after an invalid spec: %v, same pointer %v", err, a4 == a3)
	}
}

// BenchmarkSpecParse compares what the monitor's reconcile paid per app
// (a parse) with what it pays now (a hash and a lookup).
func BenchmarkSpecParse(b *testing.B) {
	data := []byte(cachedSpec)
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := newSpecCache().parse("w", "/srv/w/berth.toml", data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		c := newSpecCache()
		for b.Loop() {
			if _, err := c.parse("w", "/srv/w/berth.toml", data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
