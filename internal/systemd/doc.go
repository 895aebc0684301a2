// Package systemd runs berth's agents as systemd units: it renders the
// hardened template unit of an app (berth-<app>@.service, one instance per
// color) and berth's own daemon unit, drives systemctl and journalctl, and
// implements runtime.Runtime on top of them.
//
// Rendering, the systemctl wrapper and the runtime live in one package
// because they share one vocabulary (unit names, the per-color link and
// environment file under <home>/apps/<app>/colors) that would otherwise have
// to be exported only to be consumed by a sibling. systemctl and journalctl
// are executed rather than spoken to over D-Bus (coreos/go-systemd): no new
// dependency, the same commands an operator types when something is wrong,
// and a deploy makes a handful of calls, so a fork each costs nothing that
// matters.
//
// Everything here is safe for concurrent use unless a type says otherwise.
package systemd
