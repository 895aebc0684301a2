package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// secretNameRe is what a secret may be called: an environment variable
// name, which is also a valid file and systemd credential name; at most 128
// bytes (no counted repetition: see nameRe).
var secretNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckSecretName says why name cannot name a secret, or returns nil. The
// CLI, the API and the spec use it alike.
func CheckSecretName(name string) error {
	switch {
	case !matchMax(secretNameRe, name, 128):
		return fmt.Errorf("%q is not a valid secret name; use 1 to 128 letters, digits and '_', not starting with a digit (it becomes an environment variable)", name)
	case slices.Contains(InstanceVars, name) || strings.HasPrefix(name, "BERTH_"):
		return fmt.Errorf("%s is set by berth for each instance; name the secret otherwise", name)
	}
	return nil
}

// secrets checks run.secrets: valid names, each once, none also in run.env.
func (v *validator) secrets(r *Run) {
	seen := map[string]bool{}
	for i, name := range r.Secrets {
		p := fmt.Sprintf("run.secrets[%d]", i)
		_, inEnv := r.Env[name]
		switch err := CheckSecretName(name); {
		case err != nil:
			v.fail(p, "%v", err)
		case seen[name]:
			v.fail(p, "%s is listed twice; remove one", name)
		case inEnv:
			v.fail(p, "%s is also in [run] env; a variable is either plain (env) or a secret, remove one", name)
		}
		seen[name] = true
	}
}

// secretIn returns the first secret an exec-form argument expands, or "".
func secretIn(arg string, secrets []string) string {
	found := ""
	_, _ = Expand(arg, func(name string) (string, bool) {
		if found == "" && slices.Contains(secrets, name) {
			found = name
		}
		return "", true
	})
	return found
}

// CheckAppName says why name cannot name an app, or returns nil.
func CheckAppName(name string) error {
	if !matchMax(nameRe, name, maxName) {
		return fmt.Errorf("%q is not a valid app name; use 1 to 40 lowercase letters, digits and '-', starting with a letter", name)
	}
	return nil
}
