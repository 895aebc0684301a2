package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// berthIn runs the CLI with stdin.
func (e *env) berthIn(stdin string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, append([]string{"--home", e.home}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// deploySecretApp deploys a's spec with [run] secrets = names.
func (e *env) deploySecretApp(a app, names ...string) result {
	e.t.Helper()
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return e.deployWithRun(a, "secrets = ["+strings.Join(q, ", ")+"]\n")
}

// deployWithRun deploys a's spec with run added to its [run] table.
func (e *env) deployWithRun(a app, run string) result {
	e.t.Helper()
	p := e.write(a)
	b, err := os.ReadFile(p)
	if err != nil {
		e.t.Fatal(err)
	}
	s := strings.Replace(string(b), "stop_timeout = \"3s\"\n", "stop_timeout = \"3s\"\n"+run, 1)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.apps[a.name] = true
	e.mu.Unlock()
	r := e.berth("deploy", "-f", p)
	e.notePIDs(a.name)
	return r
}

func sha(v string) string { return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(v))) }

// TestSecrets walks a secret's life: a deploy naming it is refused until it
// is set; set from stdin and from a file, never on argv; the agent gets it
// (it answers a hash, never the value); a line the agent prints with it is
// redacted in berth logs; no file of the home outside secrets/ and no
// output of the CLI or the metrics holds a value; a new value reaches the
// agent only with berth restart, which rolls out blue-green under load with
// no failed request.
func TestSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	const key1, key2, dbURL = "sk-live-Q9v2mZ81xTAKEone", "sk-live-R7w3nY92ySECONDtwo", "postgres://berth:pw-5Jd8kLq2@127.0.0.1/db"
	a := app{name: "sec", version: "v1", mode: "good", listen: port}
	var outputs []string // everything the CLI printed, checked for values at the end
	keep := func(r result) result { outputs = append(outputs, r.stdout, r.stderr); return r }

	r := keep(e.deploySecretApp(a, "API_KEY", "DB_URL"))
	if r.code != 2 || !strings.Contains(r.stderr, "berth secret set sec API_KEY") || !strings.Contains(r.stderr, "berth secret set sec DB_URL") {
		t.Fatalf("deploy with missing secrets: want exit 2 naming both and how to set them, got %s", r)
	}
	t.Logf("refused deploy: %s", r)
	if h := keep(e.berth("history", "sec", "--json")); strings.Contains(h.stdout, `"id"`) {
		t.Errorf("a refused deploy left a deployment: %s", h.stdout)
	}
	if r := keep(e.berth("secret", "set", "sec", "API_KEY", key1)); r.code != 2 || !strings.Contains(r.stderr, "no value on the command line") {
		t.Errorf("secret set with the value on argv: want exit 2 and why, got %s", r)
	}
	if r := keep(e.berthIn(key1+"\n", "secret", "set", "sec", "API_KEY")); r.code != 0 {
		t.Fatalf("secret set from stdin: %s", r)
	}
	file := filepath.Join(t.TempDir(), "db-url")
	if err := os.WriteFile(file, []byte(dbURL), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := keep(e.berth("secret", "set", "sec", "DB_URL", "--from-file", file)); r.code != 0 {
		t.Fatalf("secret set --from-file: %s", r)
	}
	r = keep(e.berth("secret", "ls", "sec", "--json"))
	var list api.SecretList
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Secrets) != 2 || list.Secrets[0].Name != "API_KEY" || list.Secrets[0].Size != int64(len(key1)) {
		t.Fatalf("secret ls --json: %v: %s", err, r)
	}
	t.Logf("secret ls: %s", keep(e.berth("secret", "ls", "sec")).stdout)

	if r := keep(e.deploySecretApp(a, "API_KEY", "DB_URL")); r.code != 0 {
		t.Fatalf("deploy with secrets set: %s", r)
	}
	e.waitAnswer(port, "hello from v1")
	c := newClient(5 * time.Second)
	defer c.CloseIdleConnections()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	wantAnswer := func(name, value string) {
		t.Helper()
		code, body, err := get(c, base+"/secret?name="+name)
		if want := "env " + sha(value) + " credential unset"; err != nil || code != 200 || body != want {
			t.Errorf("GET /secret?name=%s = %d %q %v, want %q", name, code, body, err, want)
		}
	}
	wantAnswer("API_KEY", key1)
	wantAnswer("DB_URL", dbURL)

	resp, err := c.Post(base+"/print-secret?name=API_KEY", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e.eventually(10*time.Second, "the printed line in berth logs", func() error {
		r := e.berth("logs", "sec", "-n", "50")
		if n := strings.Count(r.stdout, "connecting with API_KEY=[secret API_KEY] (oops)"); n != 2 {
			return fmt.Errorf("%d redacted lines (want 2, stdout and stderr) in:\n%s", n, r.stdout)
		}
		return nil
	})

	// A new value restarts nothing; berth restart rolls it out under load.
	pid := e.liveInstance("sec").PID
	if r := keep(e.berthIn(key2, "secret", "set", "sec", "API_KEY")); r.code != 0 {
		t.Fatalf("secret set again: %s", r)
	}
	time.Sleep(300 * time.Millisecond)
	wantAnswer("API_KEY", key1)
	if got := e.liveInstance("sec").PID; got != pid {
		t.Errorf("setting a secret restarted the agent: pid %d, then %d", pid, got)
	}
	ld := startLoad(port, 4)
	time.Sleep(300 * time.Millisecond)
	before := ld.sent.Load()
	if r := keep(e.berth("restart", "sec")); r.code != 0 {
		t.Fatalf("berth restart: %s", r)
	}
	ld.stop()
	if f := ld.failed.Load(); f != 0 || ld.sent.Load() == before {
		t.Errorf("%d of %d requests failed during the restart (sent %d during it); first: %v", f, ld.sent.Load(), ld.sent.Load()-before, ld.errs())
	}
	t.Logf("restart under load: %d requests, %d failed", ld.sent.Load(), ld.failed.Load())
	wantAnswer("API_KEY", key2)

	// A removed secret refuses the next rollout; the live version serves on.
	keep(e.berth("secret", "rm", "sec", "DB_URL"))
	if r := keep(e.berth("restart", "sec")); r.code != 2 || !strings.Contains(r.stderr, "DB_URL") {
		t.Errorf("restart with a removed secret: want exit 2 naming DB_URL, got %s", r)
	}
	wantAnswer("API_KEY", key2)

	for _, args := range [][]string{{"status", "--json"}, {"status", "sec", "--json"}, {"history", "sec", "--json"},
		{"events", "sec", "--json"}, {"why", "sec"}, {"logs", "sec", "-n", "1000"}, {"status", "sec"}} {
		keep(e.berth(args...))
	}
	resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", e.admin))
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	_, _ = metrics.ReadFrom(resp.Body)
	resp.Body.Close()
	outputs = append(outputs, metrics.String())
	values := []string{key1, key2, dbURL}
	for i, out := range outputs {
		for _, v := range values {
			if strings.Contains(out, v) {
				t.Errorf("output %d holds a secret's value:\n%s", i, out)
			}
		}
	}
	noValueInFiles(t, e.home, filepath.Join(e.home, "secrets"), values)
}

// noValueInFiles reads every file under root but skip and fails on one
// holding any of values.
func noValueInFiles(t *testing.T, root, skip string, values []string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == skip && d.IsDir() {
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasSuffix(path, ".sock") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		n++
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds a secret's value", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("read only %d files under %s; the walk is broken", n, root)
	}
	t.Logf("%d files under the home hold no secret value", n)
}

// TestEnvFileEmbedded gives an app under the embedded runtime the env_file
// berth provision installs (apps/<app>/app.env, 0600): the agent gets its
// variables, a line printing one is redacted, and a file others may read
// is refused at the next start while the live version serves on.
func TestEnvFileEmbedded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	const token = "tok-9Xv3Qm2Lp8Zr"
	a := app{name: "envf", version: "v1", mode: "good", listen: port}
	installed := filepath.Join(e.home, "apps", "envf", "app.env")
	if err := os.MkdirAll(filepath.Dir(installed), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(installed, []byte("# installed by berth provision\nAPI_TOKEN='"+token+"'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.deployWithRun(a, "env_file = \"secrets.env\"\n"); r.code != 0 {
		t.Fatalf("deploy with env_file under the embedded runtime: %s", r)
	}
	e.waitAnswer(port, "hello from v1")
	c := newClient(5 * time.Second)
	defer c.CloseIdleConnections()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, body, err := get(c, base+"/secret?name=API_TOKEN"); err != nil || code != 200 || body != "env "+sha(token)+" credential unset" {
		t.Errorf("GET /secret?name=API_TOKEN = %d %q %v", code, body, err)
	}
	resp, err := c.Post(base+"/print-secret?name=API_TOKEN", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e.eventually(10*time.Second, "the printed line redacted", func() error {
		r := e.berth("logs", "envf", "-n", "50")
		if strings.Contains(r.stdout, token) || !strings.Contains(r.stdout, "API_TOKEN=[secret API_TOKEN] (oops)") {
			return fmt.Errorf("logs:\n%s", r.stdout)
		}
		return nil
	})
	if err := os.Chmod(installed, 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.berth("restart", "envf")
	if r.code != 3 || !strings.Contains(r.stdout+r.stderr, "chmod 0600") {
		t.Errorf("restart with a world-readable env_file: want exit 3 saying chmod 0600, got %s", r)
	}
	e.waitAnswer(port, "hello from v1")
}
