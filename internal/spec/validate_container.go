package spec

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

// IsContainer reports whether runtime runs the agent as a container.
func IsContainer(runtime string) bool {
	return runtime == RuntimeDocker || runtime == RuntimePodman
}

// limits folds the two spellings of each resource limit into one field
// (memory into memory_max, pids into tasks_max, cpu_quota and cpus into
// both CPUQuota and CPUs), refusing a file that writes both.
func (v *validator) limits(r *Run) {
	run := v.root.Field("run")
	both := func(a, b string) bool {
		if run.Field(a) != nil && run.Field(b) != nil {
			v.fail("run."+b, "%s and %s are one limit written twice; keep one of them", a, b)
			return true
		}
		return false
	}
	if !both("memory_max", "memory") && run.Field("memory") != nil {
		r.MemoryMax, r.Memory = r.Memory, 0
		if r.MemoryMax != 0 && r.MemoryMax < 4*MiB {
			v.fail("run.memory", "%d bytes is too small for any agent; write a size like \"512MiB\"", int64(r.MemoryMax))
		}
	}
	if !both("tasks_max", "pids") && run.Field("pids") != nil {
		r.TasksMax, r.PIDs = r.PIDs, 0
		if r.TasksMax < 0 {
			v.fail("run.pids", "%d is negative; use the most processes and threads the agent may have, like 512, or leave it out", r.TasksMax)
		}
	}
	switch {
	case both("cpu_quota", "cpus"):
	case run.Field("cpus") != nil:
		if r.CPUs <= 0 || r.CPUs > 4096 || math.IsNaN(r.CPUs) {
			v.fail("run.cpus", "%v is not a CPU limit; write the cores the agent may use, like 0.5 or 2", r.CPUs)
			return
		}
		r.CPUQuota = strconv.Itoa(int(math.Round(r.CPUs*100))) + "%"
	case r.CPUQuota != "" && cpuQuotaRe.MatchString(r.CPUQuota):
		pct, _ := strconv.Atoi(strings.TrimSuffix(r.CPUQuota, "%"))
		r.CPUs = float64(pct) / 100
	}
}

// container checks image and build against the runtime: the container
// runtimes need exactly one of them, the others none.
func (v *validator) container(r *Run) {
	run := v.root.Field("run")
	hasImage, hasBuild := run.Field("image") != nil, run.Field("build") != nil
	if !IsContainer(r.Runtime) {
		for _, k := range []string{"image", "build"} {
			if run.Field(k) != nil {
				v.fail("run."+k, "only a container runtime runs an image; set runtime = %q (or %q) under [run], or remove it", RuntimeDocker, RuntimePodman)
			}
		}
		return
	}
	switch {
	case hasImage && hasBuild:
		v.fail("run.build", "image and build both name what to run; keep image (a built image) or build (a directory with a Dockerfile)")
	case !hasImage && !hasBuild:
		v.fail("run.runtime", `a container runtime needs an image; add image = "name:tag" or build = "." (the release's Dockerfile) under [run]`)
	case hasImage && (r.Image == "" || strings.ContainsAny(r.Image, " \t\n\x00")):
		v.fail("run.image", "%q is not an image reference; write one like \"registry.example/team/agent:1.4.2\" or a local tag", r.Image)
	case hasBuild:
		v.buildDir(r.Build)
	}
	for _, k := range []string{"notify", "watchdog", "capabilities", "systemd", "env_file"} {
		if run.Field(k) != nil {
			v.fail("run."+k, "the %s runtime does not apply this; remove it (or use runtime = %q)", r.Runtime, RuntimeSystemd)
		}
	}
}

// buildDir refuses a build directory that is not inside the release.
func (v *validator) buildDir(dir string) {
	clean := filepath.Clean(dir)
	switch {
	case dir == "":
		v.fail("run.build", `is empty; give the directory of the release that holds the Dockerfile, like "."`)
	case filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../"):
		v.fail("run.build", "%q is outside the release; give a directory inside it, relative to berth.toml, like \".\"", dir)
	case strings.ContainsRune(dir, 0):
		v.fail("run.build", "%s", fmt.Sprintf("%q contains a NUL byte", dir))
	}
}
