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
func withSecrets(spec runtime.Instance) (runtime.Instance, *logs.Redactor, error) {
	if len(spec.Secrets) == 0 {
		return spec, nil, nil
	}
	vals, err := secrets.Read(spec.SecretDir, spec.Secrets)
	if err != nil {
		return spec, nil, err
	}
	byName := make(map[string][]byte, len(vals))
	env := slices.DeleteFunc(slices.Clone(spec.Env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(spec.Secrets, k)
	})
	for _, v := range vals {
		byName[v.Name] = v.Value
		env = append(env, v.Name+"="+string(v.Value))
	}
	spec.Env = env
	return spec, logs.NewRedactor(byName), nil
}
