package secrets

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/spec"
)

// Value is one secret as an agent gets it.
type Value struct {
	Name  string
	Value []byte
}

// Read reads the secrets names from dir (a Store's Dir), in that order. The
// keeper calls it at each start of an agent, so a process gets the values
// current when it starts. Errors name the secret, never its value.
func Read(dir string, names []string) ([]Value, error) {
	out := make([]Value, 0, len(names))
	for _, n := range names {
		if err := spec.CheckSecretName(n); err != nil {
			return nil, fmt.Errorf("reading secret: %w", err)
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("reading secret %s (set it with berth secret set): %w", n, err)
		}
		out = append(out, Value{Name: n, Value: b})
	}
	return out, nil
}

func checkApp(app string) error {
	if err := spec.CheckAppName(app); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func checkKey(app, name string) error {
	if err := checkApp(app); err != nil {
		return err
	}
	if err := spec.CheckSecretName(name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}
