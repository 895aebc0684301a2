package main

import (
	"os/exec"
	"strings"
	"testing"
)

// banned are packages berth's binary must not link. The daemon, the keeper
// and the front all run this binary, so every package's init work and the
// pages it touches cost three times; these are big and needed by no process
// (docs/benchmarks.md, "Memory").
var banned = []struct {
	prefix, why string
}{
	{"k8s.io/", "berth export writes manifests from its own structs; k8s.io/api is for its tests only"},
	{"sigs.k8s.io/", "the same: the export's YAML is go.yaml.in/yaml/v3's"},
	{"go.yaml.in/yaml/v2", "one YAML library (v3) is enough"},
	{"github.com/moby/moby/client", "the container runtime speaks the Engine API with its own small client (internal/container/engineapi); moby's is for its tests only"},
	{"github.com/moby/moby/api", "the same: engineapi has its own structs of the fields berth sends and reads"},
	{"go.opentelemetry.io", "came with moby's client; no berth process traces"},
}

// TestBannedDependencies lists what the binary links and fails on a banned
// package.
func TestBannedDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, b := range banned {
			if strings.HasPrefix(pkg, b.prefix) {
				t.Errorf("cmd/berth links %s: %s", pkg, b.why)
			}
		}
	}
}
