package remote

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/pelletier/go-toml/v2"
)

// ErrNoContext is returned for a context name the file does not have.
var ErrNoContext = errors.New("no such context")

// Contexts is the user's contexts.toml: named hosts and the active one.
// A value is not safe for concurrent use; Save writes it atomically.
type Contexts struct {
	Current string          `toml:"current,omitempty"`
	Hosts   map[string]Host `toml:"contexts"`
	path    string
}

// Host is one named context.
type Host struct {
	Host string `toml:"host"`
}

// ContextsFile is $XDG_CONFIG_HOME/berth/contexts.toml, else
// ~/.config/berth/contexts.toml.
func ContextsFile() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the contexts file: %w", err)
		}
		dir = filepath.Join(h, ".config")
	}
	return filepath.Join(dir, "berth", "contexts.toml"), nil
}

// LoadContexts reads path; a missing file is an empty set.
func LoadContexts(path string) (*Contexts, error) {
	c := &Contexts{Hosts: map[string]Host{}, path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading contexts: %w", err)
	}
	if err := toml.Unmarshal(b, c); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %s", path, row, col, de.Error())
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Hosts == nil {
		c.Hosts = map[string]Host{}
	}
	for name, h := range c.Hosts {
		if _, err := ParseTarget(h.Host); err != nil {
			return nil, fmt.Errorf("%s: context %s: %w", path, name, err)
		}
	}
	return c, nil
}

// contextName is a context's name, at most 63 bytes (checked apart: a
// counted repetition compiles into that many copies, at every start).
var contextName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Add names host (checked) as name, replacing an older entry.
func (c *Contexts) Add(name, host string) error {
	if len(name) > 63 || !contextName.MatchString(name) {
		return fmt.Errorf("context name %q: use letters, digits, '.', '_' and '-'", name)
	}
	if _, err := ParseTarget(host); err != nil {
		return err
	}
	c.Hosts[name] = Host{Host: host}
	return nil
}

// Use makes name the active context ("" = none: the local daemon).
func (c *Contexts) Use(name string) error {
	if _, ok := c.Hosts[name]; !ok && name != "" {
		return fmt.Errorf("%w %q (berth context ls lists them)", ErrNoContext, name)
	}
	c.Current = name
	return nil
}

// Remove deletes name; the active context becomes none.
func (c *Contexts) Remove(name string) error {
	if _, ok := c.Hosts[name]; !ok {
		return fmt.Errorf("%w %q (berth context ls lists them)", ErrNoContext, name)
	}
	delete(c.Hosts, name)
	if c.Current == name {
		c.Current = ""
	}
	return nil
}

// Names lists the contexts in order.
func (c *Contexts) Names() []string {
	names := make([]string, 0, len(c.Hosts))
	for n := range c.Hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Active is the host of the current context, "" when none.
func (c *Contexts) Active() string { return c.Hosts[c.Current].Host }

// Save writes the file 0600 (in a 0700 directory): temp, fsync, rename.
func (c *Contexts) Save() error {
	b, err := toml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding contexts: %w", err)
	}
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".contexts-*")
	if err != nil {
		return fmt.Errorf("writing contexts: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing contexts: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing contexts: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing contexts: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing contexts: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("writing contexts: %w", err)
	}
	return nil
}
