package keeper

import (
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/secrets"
)

// withSecrets returns spec with its secrets read from their files and
// added to a copy of its environment (a secret wins over a variable of the
// same name), and the redactor for its output. The values live only in the
// process being started and in the redactor: never in state.json, events or
// the keeper's log.
//
// The env_file's variables come first (they win over [run] env, as under
// systemd, where the unit reads that file after the color's), then the
// secrets; both are redacted.
func withSecrets(spec runtime.Instance) (runtime.Instance, *logs.Redactor, error) {
	if len(spec.Secrets) == 0 && spec.EnvFile == "" {
		return spec, nil, nil
	}
	byName := map[string][]byte{}
	env := slices.Clone(spec.Env)
	set := func(k, v string) {
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
		env = append(env, k+"="+v)
	}
	if spec.EnvFile != "" {
		vars, err := secrets.ReadEnvFile(spec.EnvFile, spec.UID)
		if err != nil {
			return spec, nil, err
		}
		for _, v := range vars {
			set(v.Key, v.Value)
			byName[v.Key] = []byte(v.Value)
		}
	}
	vals, err := secrets.Read(spec.SecretDir, spec.Secrets)
	if err != nil {
		return spec, nil, err
	}
	for _, v := range vals {
		set(v.Name, string(v.Value))
		byName[v.Name] = v.Value
	}
	spec.Env = env
	return spec, logs.NewRedactor(byName), nil
}
