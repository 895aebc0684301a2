package keeper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/runtime"
)

// TestWithSecrets checks what spawn gives the process (the env_file's
// variables, then the secrets, each winning over what came before) and
// that what the keeper saves of the instance holds names, never values.
func TestWithSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("API_KEY", "sk-live-0123456789", 0o600)
	write("app.env", "# comment\nTOKEN='tok-abcdefgh'\nAPI_KEY=from-env-file\nMODE=\"from file\"\n", 0o600)
	spec := runtime.Instance{ID: "a.blue", App: "a", Env: []string{"MODE=plain", "PORT=1"},
		Secrets: []string{"API_KEY"}, SecretDir: dir, EnvFile: filepath.Join(dir, "app.env")}
	got, red, err := withSecrets(spec)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got.Env)
	want := []string{"API_KEY=sk-live-0123456789", "MODE=from file", "PORT=1", "TOKEN=tok-abcdefgh"}
	if !slices.Equal(got.Env, want) {
		t.Errorf("env = %q, want %q", got.Env, want)
	}
	if out := string(red.Redact([]byte("k=sk-live-0123456789 t=tok-abcdefgh"), nil)); out != "k=[secret API_KEY] t=[secret TOKEN]" {
		t.Errorf("redacted = %q", out)
	}
	b, err := json.Marshal(toWire(spec))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "sk-live") || strings.Contains(string(b), "tok-abc") {
		t.Errorf("the saved instance holds a value: %s", b)
	}
	if err := os.Chmod(filepath.Join(dir, "app.env"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := withSecrets(spec); err == nil || !strings.Contains(err.Error(), "chmod 0600") {
		t.Errorf("an env_file the group may read: %v, want refused", err)
	}
}
