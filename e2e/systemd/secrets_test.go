package systemd_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/secrets"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/systemd"
)

// checkSecretsInBox starts blue with a secret under real systemd: the agent
// finds it in $CREDENTIALS_DIRECTORY (LoadCredential=) and, with
// secrets_env, in its environment; the color's environment file does not
// hold it.
func checkSecretsInBox(ctx context.Context, t *testing.T, rt *systemd.Runtime, l home.Layout, app *spec.App) {
	t.Helper()
	const value = "sk-box-7Hq2Lm9Zp4Wx"
	if _, err := secrets.New(l).Set("echo", "API_KEY", []byte(value)); err != nil {
		t.Fatal(err)
	}
	inst := instance(t, app, "blue", 9001, "v1", "good")
	inst.Secrets, inst.SecretDir, inst.SecretsEnv = []string{"API_KEY"}, l.SecretsDir("echo"), true
	if _, err := rt.Start(ctx, inst); err != nil {
		t.Fatalf("Start with a secret: %v", err)
	}
	defer func() {
		if _, err := rt.Stop(ctx, inst.ID); err != nil {
			t.Errorf("Stop: %v", err)
		}
		_ = rt.Remove(ctx, inst.ID)
	}()
	get(t, 9001) // waits until it listens
	sum := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(value)))
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://127.0.0.1:9001/secret?name=API_KEY")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "env " + sum + " credential " + sum; strings.TrimSpace(string(b)) != want {
		t.Errorf("GET /secret = %q; want %q", b, want)
	}
	colorEnv, err := os.ReadFile(systemd.AppPaths{Home: l, App: "echo"}.ColorEnv("blue"))
	if err != nil || strings.Contains(string(colorEnv), value) {
		t.Errorf("the color's environment file holds the secret (or is missing: %v)", err)
	}
	fi, err := os.Stat(filepath.Join(l.SecretsDir("echo"), ".env"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets_env file: %v, %v; want mode 0600", fi, err)
	}
	t.Logf("FIGURE systemd secrets: credential and environment variable reached the agent")
}
