package systemd

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/home"
)

// DaemonUnit is the name of berth's own daemon unit.
const DaemonUnit = "berth.service"

// UnitDir is where berth installs units: the administrator's directory,
// which survives package upgrades and outranks /usr/lib/systemd/system.
const UnitDir = "/etc/systemd/system"

// TemplateName is the template unit of an app: "berth-<app>@.service".
func TemplateName(app string) string { return "berth-" + app + "@.service" }

// UnitName is the unit of one instance of an app, named by its slot
// (instance.ID.Slot): "berth-<app>@<color>.service" for instance 0,
// "berth-<app>@<color>.<index>.service" after it. Every instance shares
// the app's template unit; its slot reaches the unit as %i.
func UnitName(app, slot string) string { return "berth-" + app + "@" + slot + ".service" }

// SplitID splits a runtime instance id "<app>.<slot>" into the app and
// the slot ("blue", "blue.2"). App names have no dots, so the first dot
// ends the app.
func SplitID(id string) (app, slot string, err error) {
	i := strings.IndexByte(id, '.')
	if i <= 0 || i == len(id)-1 {
		return "", "", fmt.Errorf("instance id %q is not <app>.<color>[.<index>]", id)
	}
	return id[:i], id[i+1:], nil
}

// AppPaths names the files of one app that the systemd runtime and
// provisioning share. It is a plain value.
type AppPaths struct {
	Home home.Layout
	App  string
}

// Dir is the app's directory.
func (p AppPaths) Dir() string { return p.Home.AppDir(p.App) }

// Releases holds the installed releases.
func (p AppPaths) Releases() string { return filepath.Join(p.Dir(), "releases") }

// Shared survives releases and is writable by the agent.
func (p AppPaths) Shared() string { return p.Home.SharedDir(p.App) }

// Run is the agent's writable runtime directory (sockets, pid files).
func (p AppPaths) Run() string { return filepath.Join(p.Dir(), "run") }

// Logs is the app's log directory, writable by the agent.
func (p AppPaths) Logs() string { return p.Home.LogDir(p.App) }

// Colors holds one link and one environment file per color; the template
// unit reaches them through %i.
func (p AppPaths) Colors() string { return filepath.Join(p.Dir(), "colors") }

// ColorLink is the symlink from a color to the release it runs.
func (p AppPaths) ColorLink(color string) string { return filepath.Join(p.Colors(), color) }

// ColorEnv is the environment file of a color (PORT, BERTH_*, the spec's env).
func (p AppPaths) ColorEnv(color string) string { return filepath.Join(p.Colors(), color+".env") }

// EnvFile is where provisioning installs the spec's env_file (secrets).
func (p AppPaths) EnvFile() string { return filepath.Join(p.Dir(), "app.env") }

// Secret is the file of one of the app's secrets (internal/secrets).
func (p AppPaths) Secret(name string) string { return filepath.Join(p.Home.SecretsDir(p.App), name) }

// SecretsEnv is the app's secrets as KEY=VALUE lines, for secrets_env; its
// name is no valid secret name, so it never shows as a secret.
func (p AppPaths) SecretsEnv() string { return filepath.Join(p.Home.SecretsDir(p.App), ".env") }

// Writable lists what ProtectSystem=strict leaves writable for the agent.
// Its logs go to journald (or through the keeper's pipes), so logs/ is not
// among them.
func (p AppPaths) Writable() []string { return []string{p.Shared(), p.Run()} }
