package container

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/internal/container/engineapi"
)

// mobyClient is the official client of the engine r talks to: the tests
// check what berth's own small client made with an independent one (as
// internal/export's tests check its manifests with k8s.io/api).
func mobyClient(t *testing.T, r *Runtime) *client.Client {
	t.Helper()
	c, err := client.New(client.WithHost(r.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestVersionAgainstEngines: berth's client speaks to each real engine
// the version the negotiation promises, from what the engine tells moby's
// client (its newest and oldest), and a call at that version works.
func TestVersionAgainstEngines(t *testing.T) {
	for _, e := range []string{Docker, Podman} {
		t.Run(e, func(t *testing.T) {
			r := newRuntime(t, e, t.TempDir())
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ver, err := mobyClient(t, r).ServerVersion(ctx, client.ServerVersionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := ver.APIVersion
			if minor(t, want) > minor(t, engineapi.MaxVersion) {
				want = engineapi.MaxVersion
			}
			if ver.MinAPIVersion != "" && minor(t, want) < minor(t, ver.MinAPIVersion) {
				want = ver.MinAPIVersion
			}
			got, err := r.cli.Ping(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("speaks %s to %s (newest %s, oldest %s), want %s", got, e, ver.APIVersion, ver.MinAPIVersion, want)
			}
			t.Logf("%s: newest %s, oldest %s: berth speaks %s", e, ver.APIVersion, ver.MinAPIVersion, got)
			if _, err := r.cli.List(ctx, true, labelHome+"="+r.home); err != nil {
				t.Errorf("a call at %s: %v", got, err)
			}
		})
	}
}

// minor is the minor number of an API version "1.N".
func minor(t *testing.T, v string) int {
	t.Helper()
	m, n, ok := strings.Cut(v, ".")
	i, err := strconv.Atoi(n)
	if !ok || m != "1" || err != nil {
		t.Fatalf("API version %q is not 1.N", v)
	}
	return i
}
