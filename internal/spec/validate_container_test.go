package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const containerMinimal = "version = 1\nname = \"api\"\n[run]\nruntime = \"docker\"\n"

func TestParseContainerKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want Run
	}{{
		name: "image without a command runs the image's own",
		toml: containerMinimal + "image = \"acme/agent:1.4.2\"\nmemory = \"512MiB\"\ncpus = 1.5\npids = 256\n",
		want: Run{Runtime: RuntimeDocker, Image: "acme/agent:1.4.2", MemoryMax: 512 * MiB, TasksMax: 256, CPUs: 1.5, CPUQuota: "150%"},
	}, {
		name: "build with a command, on podman",
		toml: "version = 1\nname = \"api\"\n[run]\nruntime = \"podman\"\nbuild = \".\"\ncommand = [\"/app\", \"--port\", \"${PORT}\"]\n",
		want: Run{Runtime: RuntimePodman, Build: ".", Command: Command{"/app", "--port", "${PORT}"}},
	}, {
		name: "the older spellings fold the same way",
		toml: containerMinimal + "image = \"a:1\"\nmemory_max = \"64MiB\"\ncpu_quota = \"50%\"\ntasks_max = 10\n",
		want: Run{Runtime: RuntimeDocker, Image: "a:1", MemoryMax: 64 * MiB, TasksMax: 10, CPUs: 0.5, CPUQuota: "50%"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, err := Parse("berth.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			got := app.Run
			got.Env, got.User, got.StopTimeout, got.Restart = nil, "", Duration{}, ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("run (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseContainerBad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []prob
	}{{
		name: "image and build both",
		toml: containerMinimal + "image = \"a:1\"\nbuild = \".\"\n",
		want: []prob{{6, 9, "run.build", "image and build both"}},
	}, {
		name: "build outside the release",
		toml: containerMinimal + "build = \"../other\"\n",
		want: []prob{{5, 9, "run.build", "outside the release"}},
	}, {
		name: "image with the embedded runtime",
		toml: minimal + "image = \"a:1\"\n",
		want: []prob{{5, 9, "run.image", "only a container runtime runs an image"}},
	}, {
		name: "one limit written twice",
		toml: containerMinimal + "image = \"a:1\"\nmemory = \"1GiB\"\nmemory_max = \"1GiB\"\n",
		want: []prob{{6, 10, "run.memory", "written twice"}},
	}, {
		name: "zero cpus",
		toml: containerMinimal + "image = \"a:1\"\ncpus = 0\n",
		want: []prob{{6, 8, "run.cpus", "not a CPU limit"}},
	}, {
		name: "cpus on the embedded runtime",
		toml: minimal + "cpus = 1\n",
		want: []prob{{5, 8, "run.cpus", "only the systemd runtime"}},
	}, {
		name: "systemd-only keys on docker",
		toml: containerMinimal + "image = \"a:1\"\nnotify = true\n",
		want: []prob{{6, 10, "run.notify", "the docker runtime does not apply this"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("berth.toml", []byte(tt.toml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error = %v; want *Errors", err)
			}
			var got []prob
			for _, p := range errs.Problems {
				msg := p.Msg
				for _, w := range tt.want {
					if w.Key == p.Key && strings.Contains(p.Msg, w.Msg) {
						msg = w.Msg
					}
				}
				got = append(got, prob{p.Line, p.Col, p.Key, msg})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got; Msg is a substring):\n%s\nfull error:\n%v", diff, err)
			}
		})
	}
}
