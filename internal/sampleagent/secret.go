package sampleagent

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// secretInfo answers GET /secret?name=X with whether the environment
// variable X and the credential file $CREDENTIALS_DIRECTORY/X are set, and
// the SHA-256 of each value: enough for a test to check the right value
// arrived without the value ever being sent.
func secretInfo(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	env := "unset"
	if v, ok := os.LookupEnv(name); ok {
		env = fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(v)))
	}
	cred := "unset"
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" && filepath.Base(name) == name {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			cred = fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		}
	}
	fmt.Fprintf(w, "env %s credential %s\n", env, cred)
}

// printSecret (POST /print-secret?name=X) writes the value of $X into a line
// of stdout and one of stderr, each line in two writes split inside the
// value: what a careless agent does, for the redaction tests.
func printSecret(stdout, stderr io.Writer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		v := os.Getenv(name)
		half := len(v) / 2
		for _, out := range []io.Writer{stdout, stderr} {
			fmt.Fprintf(out, "connecting with %s=%s", name, v[:half])
			time.Sleep(20 * time.Millisecond)
			fmt.Fprintf(out, "%s (oops)\n", v[half:])
		}
		fmt.Fprintln(w, "printed")
	}
}
