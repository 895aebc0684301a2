package systemd

import (
	"slices"
	"strings"
)

// hardening is one sandboxing directive berth sets by default. Name is what
// [run.systemd] relax names (spec.HardeningDirectives lists the same names);
// one name may render several lines, and a relaxed name renders none.
type hardening struct {
	Name  string
	Lines []Directive
}

// hardeningFor returns the sandbox of an agent's unit. rw are the paths the
// agent owns (ProtectSystem=strict leaves everything else read-only); caps
// are the capabilities the spec asked for.
func hardeningFor(rw []string, caps []string, protectHome string) []hardening {
	capSet, ambient := "", ""
	if len(caps) > 0 {
		capSet = strings.Join(caps, " ")
		ambient = capSet
	}
	h := []hardening{
		{"NoNewPrivileges", lines("NoNewPrivileges", "yes")},
		{"ProtectSystem", []Directive{
			{Key: "ProtectSystem", Value: "strict"},
			{Key: "ReadWritePaths", Value: strings.Join(rw, " ")},
		}},
		{"ProtectHome", lines("ProtectHome", protectHome)},
		{"PrivateTmp", lines("PrivateTmp", "yes")},
		{"PrivateDevices", lines("PrivateDevices", "yes")},
		{"DevicePolicy", lines("DevicePolicy", "closed")},
		{"ProtectKernelTunables", lines("ProtectKernelTunables", "yes")},
		{"ProtectKernelModules", lines("ProtectKernelModules", "yes")},
		{"ProtectKernelLogs", lines("ProtectKernelLogs", "yes")},
		{"ProtectControlGroups", lines("ProtectControlGroups", "yes")},
		{"ProtectClock", lines("ProtectClock", "yes")},
		{"ProtectHostname", lines("ProtectHostname", "yes")},
		{"ProtectProc", lines("ProtectProc", "invisible")},
		{"ProcSubset", lines("ProcSubset", "pid")},
		{"RestrictAddressFamilies", lines("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX")},
		{"RestrictNamespaces", lines("RestrictNamespaces", "yes")},
		{"RestrictRealtime", lines("RestrictRealtime", "yes")},
		{"RestrictSUIDSGID", lines("RestrictSUIDSGID", "yes")},
		{"LockPersonality", lines("LockPersonality", "yes")},
		{"MemoryDenyWriteExecute", lines("MemoryDenyWriteExecute", "yes")},
		{"SystemCallFilter", []Directive{
			{Key: "SystemCallFilter", Value: "@system-service"},
			{Key: "SystemCallFilter", Value: "~@privileged @resources"},
			// EPERM rather than SIGSYS: runtimes probe optional calls (Go
			// raises RLIMIT_NOFILE at start) and cope with a refusal.
			{Key: "SystemCallErrorNumber", Value: "EPERM"},
		}},
		{"SystemCallArchitectures", lines("SystemCallArchitectures", "native")},
		{"CapabilityBoundingSet", []Directive{
			{Key: "CapabilityBoundingSet", Value: capSet},
			{Key: "AmbientCapabilities", Value: ambient},
		}},
		{"RemoveIPC", lines("RemoveIPC", "yes")},
		{"UMask", lines("UMask", "0077")},
	}
	// A user namespace would make requested capabilities useless outside
	// it (binding port 80 needs CAP_NET_BIND_SERVICE in the host's), so
	// PrivateUsers is only on when no capability is asked for.
	if len(caps) == 0 {
		h = slices.Insert(h, 6, hardening{"PrivateUsers", lines("PrivateUsers", "yes")})
	}
	return h
}

func lines(key, value string) []Directive { return []Directive{{Key: key, Value: value}} }

// hardeningNames returns every name hardeningFor can render, for the test
// that keeps spec.HardeningDirectives in step.
func hardeningNames() []string {
	var names []string
	for _, h := range hardeningFor(nil, nil, "yes") {
		names = append(names, h.Name)
	}
	return names
}
