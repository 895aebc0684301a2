package secrets

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// EnvVar is one KEY=VALUE of an env_file.
type EnvVar struct{ Key, Value string }

// ReadEnvFile reads an installed env_file for the embedded runtime, with
// the rule systemd's units get from berth provision: the file must be
// private (no group or other permission bits) and owned by root or the
// agent's uid, else it is refused rather than trusted. Errors name the
// line, never a value.
func ReadEnvFile(path string, uid uint32) ([]EnvVar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading env_file %s (install it with berth provision -f berth.toml): %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checking env_file %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: env_file %s is mode %v; secrets must be private: chmod 0600 it (berth provision installs it so)", ErrInvalid, path, fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && st.Uid != uid && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("%w: env_file %s belongs to uid %d, neither root nor the agent's user; reinstall it with berth provision", ErrInvalid, path, st.Uid)
	}
	var data bytes.Buffer
	if _, err := data.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("reading env_file %s: %w", path, err)
	}
	return parseEnvFile(path, data.Bytes())
}

// parseEnvFile reads systemd's EnvironmentFile= syntax as far as berth
// provision accepts it: KEY=VALUE lines, '#' and ';' comments, blank
// lines, values optionally in single quotes (literal) or double quotes
// (backslash escapes).
func parseEnvFile(name string, data []byte) ([]EnvVar, error) {
	var out []EnvVar
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxSize)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			return nil, fmt.Errorf("%w: %s:%d: not KEY=VALUE", ErrInvalid, name, line)
		}
		out = append(out, EnvVar{Key: k, Value: unquote(v)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var b strings.Builder
		in := v[1 : len(v)-1]
		for i := 0; i < len(in); i++ {
			if in[i] == '\\' && i+1 < len(in) {
				i++
			}
			b.WriteByte(in[i])
		}
		return b.String()
	}
	return v
}
