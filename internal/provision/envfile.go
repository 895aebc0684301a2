package provision

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/systemd"
)

var envKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkEnvFile checks a secrets file in systemd's EnvironmentFile syntax and
// returns how many keys it sets. Errors name the line, never the value.
func checkEnvFile(name string, data []byte) (int, error) {
	keys := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		k = strings.TrimSpace(k)
		switch {
		case strings.HasPrefix(t, "export "):
			return 0, fmt.Errorf("%s:%d: systemd's EnvironmentFile= has no \"export\"; write KEY=VALUE", name, line)
		case !ok:
			return 0, fmt.Errorf("%s:%d: not KEY=VALUE", name, line)
		case !envKeyRe.MatchString(k):
			return 0, fmt.Errorf("%s:%d: %q is not a valid variable name", name, line, k)
		case k == "PORT" || strings.HasPrefix(k, "BERTH_"):
			return 0, fmt.Errorf("%s:%d: %s is set by berth for each instance; remove it", name, line, k)
		}
		keys++
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading %s: %w", name, err)
	}
	return keys, nil
}

// planEnvFile installs run.env_file as the app's secrets file, 0600 and
// owned by the app's user, or removes one a previous run installed.
func (p *Provisioner) planEnvFile(app *spec.App, owner string) (*Step, error) {
	dst := systemd.AppPaths{Home: p.cfg.Home, App: app.Name}.EnvFile()
	if app.Run.EnvFile == "" {
		return removeStep(KindFile, dst, "run.env_file is no longer set"), nil
	}
	src := app.Run.EnvFile
	if !filepath.IsAbs(src) {
		src = filepath.Join(app.Dir, src)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("%s: run.env_file: %w", app.File, err)
	}
	keys, err := checkEnvFile(src, data)
	if err != nil {
		return nil, fmt.Errorf("%s: run.env_file: %w", app.File, err)
	}
	secret := fmt.Sprintf("(secret, %d keys)", keys)
	old, err := os.ReadFile(dst)
	what := "create " + secret
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", dst, err)
	case !bytes.Equal(old, data):
		what = "update " + secret
	default:
		fi, err := os.Stat(dst)
		if err != nil {
			return nil, fmt.Errorf("checking %s: %w", dst, err)
		}
		uid, gid, lerr := lookupIDs(owner)
		st := fi.Sys().(*syscall.Stat_t)
		if lerr == nil && fi.Mode().Perm() == 0o600 && int(st.Uid) == uid && int(st.Gid) == gid {
			return nil, nil
		}
		what = "mode or owner " + secret
	}
	return &Step{Kind: KindFile, Target: dst, What: what, apply: func(context.Context) error {
		uid, gid, err := lookupIDs(owner)
		if err != nil {
			return fmt.Errorf("owner of %s: %w", dst, err)
		}
		return systemd.WriteFile(dst, data, 0o600, uid, gid)
	}}, nil
}
