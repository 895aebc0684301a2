package systemd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/runtime"
)

// writeSecretsEnv writes the instance's secrets as an EnvironmentFile= in
// the secrets directory (0600, root's), when its spec asks for them as
// variables; without secrets_env they reach the agent only as credentials.
// The color's own environment file never holds them.
func writeSecretsEnv(inst runtime.Instance) error {
	if !inst.SecretsEnv || len(inst.Secrets) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("# Written by berth from [run] secrets before each start (secrets_env = true).\n")
	for _, name := range inst.Secrets {
		v, err := os.ReadFile(filepath.Join(inst.SecretDir, name))
		if err != nil {
			return fmt.Errorf("reading secret %s of %s (set it with berth secret set): %w", name, inst.App, err)
		}
		if strings.ContainsAny(string(v), "\x00\n\r") {
			// Said without the value: EnvFileLine's error would quote it.
			return fmt.Errorf("secret %s of %s has several lines, which an environment file cannot hold; read it from $CREDENTIALS_DIRECTORY/%s and drop secrets_env: %w", name, inst.App, name, ErrUnrepresentable)
		}
		line, err := EnvFileLine(name, string(v))
		if err != nil {
			return fmt.Errorf("secret %s of %s as a variable: %w", name, inst.App, ErrUnrepresentable)
		}
		b.WriteString(line + "\n")
	}
	return WriteFile(filepath.Join(inst.SecretDir, ".env"), []byte(b.String()), 0o600, 0, 0)
}
