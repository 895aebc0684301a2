package export_test

import (
	"context"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/export"
)

// loadCompose reads a manifest with compose-go, the loader docker compose
// itself uses: its schema, interpolation ($$) and normalisation.
func loadCompose(t *testing.T, name string, manifest []byte) *types.Project {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  t.TempDir(),
		ConfigFiles: []types.ConfigFile{{Filename: name, Content: manifest}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("berthtest", true) })
	if err != nil {
		t.Fatalf("docker compose's loader refuses %s: %v\n%s", name, err, manifest)
	}
	return p
}

// TestComposeLoaderReadsWhatBerthMeant loads every compose and swarm export
// of testdata/ with compose-go: each loads, and for the blue-green spec the
// loader reads the values berth meant (the $ of an env value, the port on
// loopback for compose, the limits, the health check, the stop grace).
func TestComposeLoaderReadsWhatBerthMeant(t *testing.T) {
	for _, tc := range cases {
		for _, target := range []string{export.TargetCompose, export.TargetSwarm} {
			t.Run(tc.name+"/"+target, func(t *testing.T) {
				app := load(t, tc.name)
				res, err := export.Export(target, app, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				p := loadCompose(t, tc.name+"."+target+".yaml", res.Manifest)
				svc, ok := p.Services[app.Name]
				if !ok || svc.Image == "" {
					t.Fatalf("service %s: %+v (found %v)", app.Name, svc, ok)
				}
				if tc.name != "bluegreen" {
					return
				}
				if v := svc.Environment["PRICE"]; v == nil || *v != "5$" {
					t.Errorf("PRICE = %v; want 5$ (the spec's value, $ escaped as $$)", v)
				}
				// Swarm publishes on every address (it has no host_ip; the
				// notes say so), compose on loopback as berth does.
				loopback := len(svc.Ports) == 1 && svc.Ports[0].HostIP == "127.0.0.1" && svc.Ports[0].Published == "8080" && svc.Ports[0].Target == 8080
				if target == export.TargetCompose && !loopback {
					t.Errorf("ports %+v; want 127.0.0.1:8080 -> 8080", svc.Ports)
				}
				lim := svc.Deploy.Resources.Limits
				if lim == nil || lim.MemoryBytes != 256<<20 || lim.NanoCPUs != 0.5 || lim.Pids != 128 {
					t.Errorf("limits %+v; want 256 MiB, 0.5 CPU, 128 pids", lim)
				}
				if svc.HealthCheck == nil || len(svc.HealthCheck.Test) != 3 || svc.HealthCheck.Test[0] != "CMD" {
					t.Errorf("health check %+v; want CMD /agent check", svc.HealthCheck)
				}
				if svc.StopGracePeriod == nil || time.Duration(*svc.StopGracePeriod) != 15*time.Second {
					t.Errorf("stop grace %v; want 15s", svc.StopGracePeriod)
				}
			})
		}
	}
}
