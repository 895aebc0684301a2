package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/home"
)

func TestStore(t *testing.T) {
	t.Parallel()
	l, err := home.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := New(l)
	if err := os.MkdirAll(l.SecretsRoot(), 0o755); err != nil { // a loose mode must be fixed
		t.Fatal(err)
	}
	if _, err := s.Set("echo", "API_KEY", []byte("sk-live-0123456789")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set("echo", "DB_URL", []byte("postgres://u:p@h/db")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		l.SecretsRoot():                         0o700,
		s.Dir("echo"):                           0o700,
		filepath.Join(s.Dir("echo"), "API_KEY"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	list, err := s.List("echo")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "API_KEY" || list[0].Size != 18 || list[1].Name != "DB_URL" || list[0].ChangedAt.IsZero() {
		t.Errorf("List = %+v", list)
	}
	vals, err := Read(s.Dir("echo"), []string{"DB_URL", "API_KEY"})
	if err != nil || len(vals) != 2 || string(vals[0].Value) != "postgres://u:p@h/db" {
		t.Errorf("Read = %+v, %v", vals, err)
	}
	err = s.Missing("echo", []string{"API_KEY", "NOPE"})
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "berth secret set echo NOPE") || strings.Contains(err.Error(), "API_KEY") {
		t.Errorf("Missing = %v", err)
	}
	if err := s.Remove("echo", "API_KEY"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("echo", "API_KEY"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove = %v, want ErrNotFound", err)
	}
	for _, bad := range []struct{ app, name, value string }{
		{"../x", "A", "value-1234"}, {"echo", "../A", "value-1234"}, {"echo", "PORT", "value-1234"},
		{"echo", "A", ""}, {"echo", "A", "a\x00b"},
	} {
		if _, err := s.Set(bad.app, bad.name, []byte(bad.value)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Set(%q, %q, %q) = %v, want ErrInvalid", bad.app, bad.name, bad.value, err)
		}
	}
}
