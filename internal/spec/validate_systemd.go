package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// HardeningDirectives returns the names of the hardening directives berth
// writes into every generated unit, the names [run.systemd] relax accepts.
// The systemd package renders exactly these; a test there keeps the two in
// step.
func HardeningDirectives() []string {
	return []string{
		"NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
		"DevicePolicy", "PrivateUsers", "ProtectKernelTunables", "ProtectKernelModules",
		"ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname",
		"ProtectProc", "ProcSubset", "RestrictAddressFamilies", "RestrictNamespaces",
		"RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute",
		"SystemCallFilter", "SystemCallArchitectures", "CapabilityBoundingSet", "RemoveIPC",
		"UMask",
	}
}

// capabilities are the Linux capabilities run.capabilities may name.
func capabilities() []string {
	return []string{
		"CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_AUDIT_WRITE", "CAP_BLOCK_SUSPEND", "CAP_BPF",
		"CAP_CHECKPOINT_RESTORE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
		"CAP_FOWNER", "CAP_FSETID", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_KILL", "CAP_LEASE",
		"CAP_LINUX_IMMUTABLE", "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_MKNOD",
		"CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_RAW",
		"CAP_PERFMON", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
		"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_MODULE", "CAP_SYS_NICE",
		"CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
		"CAP_SYS_TTY_CONFIG", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	}
}

var cpuQuotaRe = regexp.MustCompile(`^[1-9][0-9]{0,5}%$`)

// systemdRun checks the [run] keys only the systemd runtime applies.
func (v *validator) systemdRun(r *Run) {
	if r.Runtime == RuntimeEmbedded {
		v.embeddedOnly()
	}
	if r.CPUQuota != "" && !cpuQuotaRe.MatchString(r.CPUQuota) {
		v.fail("run.cpu_quota", "%q is not a CPU quota; write a percentage of one CPU, like \"50%%\" (half a core) or \"200%%\" (two cores)", r.CPUQuota)
	}
	if r.TasksMax < 0 {
		v.fail("run.tasks_max", "%d is negative; use the most processes and threads the agent may have, like 512, or leave it out", r.TasksMax)
	}
	if r.MemoryMax != 0 && r.MemoryMax < 4*MiB {
		v.fail("run.memory_max", "%d bytes is too small for any agent; write a size like \"512MiB\"", int64(r.MemoryMax))
	}
	if v.root.Field("run").Field("env_file") != nil {
		switch {
		case r.EnvFile == "":
			v.fail("run.env_file", "is empty; give the path of a KEY=VALUE file (relative to berth.toml), or leave it out")
		case strings.ContainsAny(r.EnvFile, "\x00\n"):
			v.fail("run.env_file", "the path contains a newline or NUL byte; rename the file")
		}
	}
	if r.Watchdog.Duration != 0 {
		if !r.Notify {
			v.fail("run.watchdog", "needs notify = true: the watchdog is fed by the agent's sd_notify(\"WATCHDOG=1\") calls")
		} else if r.Watchdog.Duration%1_000_000 != 0 || r.Watchdog.Duration < 1_000_000_000 {
			v.fail("run.watchdog", "%v is too short or finer than a millisecond; use at least \"1s\", like \"30s\"", r.Watchdog.Duration)
		}
	}
	known := capabilities()
	for i, c := range r.Capabilities {
		if !slices.Contains(known, c) {
			v.fail(fmt.Sprintf("run.capabilities[%d]", i), "%q is not a Linux capability; %s", c, suggestUpper(c, known))
		}
	}
	relaxable := HardeningDirectives()
	for i, d := range r.Systemd.Relax {
		if !slices.Contains(relaxable, d) {
			v.fail(fmt.Sprintf("run.systemd.relax[%d]", i), "%q is not a hardening directive berth sets; %s", d, tomlconf.Suggest(d, relaxable))
		}
	}
}

// suggestUpper is suggest for upper-case names such as capabilities.
func suggestUpper(name string, known []string) string {
	lower := make([]string, len(known))
	for i, k := range known {
		lower[i] = strings.ToLower(k)
	}
	want := strings.ToLower(name)
	if !strings.HasPrefix(want, "cap_") {
		want = "cap_" + want
	}
	s := tomlconf.Suggest(want, lower)
	if m, ok := strings.CutPrefix(s, "did you mean "); ok {
		if q, err := strconv.Unquote(strings.TrimSuffix(m, "?")); err == nil {
			return fmt.Sprintf("did you mean %q?", strings.ToUpper(q))
		}
	}
	return "write a name like \"CAP_NET_BIND_SERVICE\""
}

// embeddedOnly refuses keys the embedded runtime would silently ignore.
func (v *validator) embeddedOnly() {
	run := v.root.Field("run")
	// env_file is not here: the keeper reads the installed file as systemd
	// does; memory_max and tasks_max are applied by the keeper too (cgroups).
	for _, k := range []string{"cpu_quota", "cpus", "notify", "watchdog", "capabilities", "systemd"} {
		if run.Field(k) != nil {
			v.fail("run."+k, "only the systemd runtime applies this; set runtime = %q (or %q) under [run], or remove it", RuntimeSystemd, RuntimeAuto)
		}
	}
}
